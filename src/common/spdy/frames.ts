/**
 * SPDY/3.1 framing (the protocol Kubernetes' port-forward and SPDY exec still speak, also tunnelled inside
 * WebSocket binary messages): frames to bytes and back. No I/O here; the session (./session) owns a socket.
 *
 * Wire layout (big-endian):
 * - control frame: 1 bit C=1, 15 bits version (3), 16 bits type, 8 bits flags, 24 bits length, payload
 * - data frame:    1 bit C=0, 31 bits stream id, 8 bits flags, 24 bits length, payload
 * Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are `u32 count, (u32 len, name, u32 len, value)*` with
 * lower-case names and multiple values joined by NUL, compressed by ONE zlib stream per direction per
 * connection (preset dictionary, each block ended by a sync flush). So the encoder and decoder are
 * stateful and frames must be encoded in the order they are written, and decoded in the order they arrive.
 */
import { constants as zc } from 'node:zlib';
import { Deflate, Inflate, type ZlibOptions } from 'minizlib';
import { SkiffError } from '../errors';
import { SPDY3_DICTIONARY } from './dictionary';

// minizlib hands its options to node:zlib unchanged (so `dictionary` works) but its types omit it.

export const SPDY_VERSION = 3;

export const FrameType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;

/** FLAG_FIN on data frames and on SYN_STREAM/SYN_REPLY/HEADERS; FLAG_UNIDIRECTIONAL on SYN_STREAM. */
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RstStatus = {
  ProtocolError: 1,
  InvalidStream: 2,
  RefusedStream: 3,
  UnsupportedVersion: 4,
  Cancel: 5,
  InternalError: 6,
  FlowControlError: 7,
  StreamInUse: 8,
  StreamAlreadyClosed: 9,
  FrameTooLarge: 11,
} as const;

/** GOAWAY status codes. */
export const GoAwayStatus = { Ok: 0, ProtocolError: 1, InternalError: 2 } as const;

export const MAX_DATA_LENGTH = 0xffffff;

/** Header names (lower case) to their values. */
export type SpdyHeaders = Record<string, string[]>;

export type Frame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedTo: number; priority: number; flags: number; headers: SpdyHeaders }
  | { type: 'syn_reply'; streamId: number; flags: number; headers: SpdyHeaders }
  | { type: 'headers'; streamId: number; flags: number; headers: SpdyHeaders }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: Array<{ flags: number; id: number; value: number }> }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  /** A control frame of a type SPDY/3 does not define: the spec says to ignore it. */
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

function protocolError(message: string): SkiffError {
  return new SkiffError('InvalidArgument', `spdy: ${message}`);
}

/** The uncompressed header block. Names are lower-cased as SPDY/3 requires (Go's reader rejects others). */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(entries.length);
  parts.push(count);
  for (const [name, values] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    const nl = Buffer.alloc(4);
    nl.writeUInt32BE(n.length);
    const vl = Buffer.alloc(4);
    vl.writeUInt32BE(v.length);
    parts.push(nl, n, vl, v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(buf: Buffer): SpdyHeaders {
  const out: SpdyHeaders = {};
  let off = 0;
  const u32 = (): number => {
    if (off + 4 > buf.length) throw protocolError('truncated header block');
    const v = buf.readUInt32BE(off);
    off += 4;
    return v;
  };
  const bytes = (n: number): string => {
    if (off + n > buf.length) throw protocolError('truncated header block');
    const s = buf.toString('utf8', off, off + n);
    off += n;
    return s;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const name = bytes(u32()).toLowerCase();
    const value = bytes(u32());
    if (!name) throw protocolError('empty header name');
    (out[name] ??= []).push(...value.split('\0'));
  }
  if (off !== buf.length) throw protocolError('trailing bytes after header block');
  return out;
}

/** First value of a header, or undefined. */
export function header(h: SpdyHeaders, name: string): string | undefined {
  return h[name.toLowerCase()]?.[0];
}

function controlHeader(type: number, flags: number, length: number): Buffer {
  if (length > MAX_DATA_LENGTH) throw protocolError(`control frame too large (${length} bytes)`);
  const b = Buffer.alloc(8);
  b.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt32BE(((flags & 0xff) << 24) | length, 4);
  return b;
}

/** Encodes frames for one direction of one connection (owns that direction's header compressor). */
export class FrameEncoder {
  private readonly deflate = new Deflate({ level: zc.Z_BEST_COMPRESSION, dictionary: SPDY3_DICTIONARY } as ZlibOptions);
  private readonly out: Buffer[] = [];

  constructor() {
    this.deflate.on('data', (c: Buffer) => this.out.push(c));
  }

  private compress(headers: SpdyHeaders): Buffer {
    this.out.length = 0;
    this.deflate.write(encodeHeaderBlock(headers));
    this.deflate.flush(zc.Z_SYNC_FLUSH);
    const b = Buffer.concat(this.out);
    this.out.length = 0;
    return b;
  }

  encode(f: Frame): Buffer {
    switch (f.type) {
      case 'data': {
        if (f.data.length > MAX_DATA_LENGTH) throw protocolError(`data frame too large (${f.data.length} bytes)`);
        const h = Buffer.alloc(8);
        h.writeUInt32BE(f.streamId & 0x7fffffff, 0);
        h.writeUInt32BE(((f.flags & 0xff) << 24) | f.data.length, 4);
        return Buffer.concat([h, f.data]);
      }
      case 'syn_stream': {
        const block = this.compress(f.headers);
        const p = Buffer.alloc(10);
        p.writeUInt32BE(f.streamId & 0x7fffffff, 0);
        p.writeUInt32BE(f.associatedTo & 0x7fffffff, 4);
        p.writeUInt8((f.priority & 0x7) << 5, 8);
        p.writeUInt8(0, 9);
        return Buffer.concat([controlHeader(FrameType.SynStream, f.flags, 10 + block.length), p, block]);
      }
      case 'syn_reply':
      case 'headers': {
        const block = this.compress(f.headers);
        const p = Buffer.alloc(4);
        p.writeUInt32BE(f.streamId & 0x7fffffff, 0);
        const t = f.type === 'syn_reply' ? FrameType.SynReply : FrameType.Headers;
        return Buffer.concat([controlHeader(t, f.flags, 4 + block.length), p, block]);
      }
      case 'rst_stream': {
        const p = Buffer.alloc(8);
        p.writeUInt32BE(f.streamId & 0x7fffffff, 0);
        p.writeUInt32BE(f.status, 4);
        return Buffer.concat([controlHeader(FrameType.RstStream, 0, 8), p]);
      }
      case 'settings': {
        const p = Buffer.alloc(4 + 8 * f.entries.length);
        p.writeUInt32BE(f.entries.length, 0);
        f.entries.forEach((e, i) => {
          p.writeUInt32BE((((e.flags & 0xff) << 24) | (e.id & 0xffffff)) >>> 0, 4 + 8 * i);
          p.writeUInt32BE(e.value >>> 0, 8 + 8 * i);
        });
        return Buffer.concat([controlHeader(FrameType.Settings, f.flags, p.length), p]);
      }
      case 'ping': {
        const p = Buffer.alloc(4);
        p.writeUInt32BE(f.id >>> 0, 0);
        return Buffer.concat([controlHeader(FrameType.Ping, 0, 4), p]);
      }
      case 'goaway': {
        const p = Buffer.alloc(8);
        p.writeUInt32BE(f.lastGoodStreamId & 0x7fffffff, 0);
        p.writeUInt32BE(f.status >>> 0, 4);
        return Buffer.concat([controlHeader(FrameType.GoAway, 0, 8), p]);
      }
      case 'window_update': {
        const p = Buffer.alloc(8);
        p.writeUInt32BE(f.streamId & 0x7fffffff, 0);
        p.writeUInt32BE(f.delta & 0x7fffffff, 4);
        return Buffer.concat([controlHeader(FrameType.WindowUpdate, 0, 8), p]);
      }
      case 'unknown':
        return Buffer.concat([controlHeader(f.frameType, f.flags, f.payload.length), f.payload]);
    }
  }

  close(): void {
    this.deflate.close?.();
  }
}

/**
 * Decodes a byte stream into frames (owns the peer's header decompressor). `push` takes any slice of the
 * stream and returns the frames it completed; a partial frame waits for more bytes. Throws on malformed input
 * (the caller answers GOAWAY PROTOCOL_ERROR and closes: the compression state is lost after a bad block).
 */
export class FrameDecoder {
  private readonly inflate = new Inflate({ dictionary: SPDY3_DICTIONARY } as ZlibOptions);
  private readonly inflated: Buffer[] = [];
  private buf: Buffer = Buffer.alloc(0);

  constructor() {
    this.inflate.on('data', (c: Buffer) => this.inflated.push(c));
    this.inflate.on('error', () => {
      /* surfaced by decompress() through the thrown write error */
    });
  }

  private decompress(block: Buffer): SpdyHeaders {
    this.inflated.length = 0;
    try {
      this.inflate.write(block);
      this.inflate.flush(zc.Z_SYNC_FLUSH);
    } catch (e) {
      throw protocolError(`header block does not decompress: ${(e as Error).message}`);
    }
    const raw = Buffer.concat(this.inflated);
    this.inflated.length = 0;
    return decodeHeaderBlock(raw);
  }

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= 8) {
      const w0 = this.buf.readUInt32BE(off);
      const w1 = this.buf.readUInt32BE(off + 4);
      const flags = w1 >>> 24;
      const length = w1 & 0xffffff;
      if (this.buf.length - off < 8 + length) break;
      const payload = this.buf.subarray(off + 8, off + 8 + length);
      off += 8 + length;
      if (!(w0 & 0x80000000)) {
        const streamId = w0 & 0x7fffffff;
        if (streamId === 0) throw protocolError('data frame on stream 0');
        frames.push({ type: 'data', streamId, flags, data: Buffer.from(payload) });
        continue;
      }
      const version = (w0 >>> 16) & 0x7fff;
      if (version !== SPDY_VERSION) throw protocolError(`unsupported version ${version}`);
      frames.push(this.control(w0 & 0xffff, flags, payload));
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(off));
    return frames;
  }

  private control(type: number, flags: number, p: Buffer): Frame {
    const need = (n: number) => {
      if (p.length < n) throw protocolError(`control frame type ${type} too short (${p.length} bytes)`);
    };
    switch (type) {
      case FrameType.SynStream: {
        need(10);
        const streamId = p.readUInt32BE(0) & 0x7fffffff;
        if (streamId === 0) throw protocolError('SYN_STREAM on stream 0');
        return {
          type: 'syn_stream',
          streamId,
          associatedTo: p.readUInt32BE(4) & 0x7fffffff,
          priority: p[8] >>> 5,
          flags,
          headers: this.decompress(p.subarray(10)),
        };
      }
      case FrameType.SynReply:
      case FrameType.Headers: {
        need(4);
        const streamId = p.readUInt32BE(0) & 0x7fffffff;
        const headers = this.decompress(p.subarray(4));
        return { type: type === FrameType.SynReply ? 'syn_reply' : 'headers', streamId, flags, headers };
      }
      case FrameType.RstStream:
        need(8);
        return { type: 'rst_stream', streamId: p.readUInt32BE(0) & 0x7fffffff, status: p.readUInt32BE(4) };
      case FrameType.Settings: {
        need(4);
        const n = p.readUInt32BE(0);
        need(4 + 8 * n);
        const entries = [];
        for (let i = 0; i < n; i++) {
          const fid = p.readUInt32BE(4 + 8 * i);
          entries.push({ flags: fid >>> 24, id: fid & 0xffffff, value: p.readUInt32BE(8 + 8 * i) });
        }
        return { type: 'settings', flags, entries };
      }
      case FrameType.Ping:
        need(4);
        return { type: 'ping', id: p.readUInt32BE(0) };
      case FrameType.GoAway:
        need(8);
        return { type: 'goaway', lastGoodStreamId: p.readUInt32BE(0) & 0x7fffffff, status: p.readUInt32BE(4) };
      case FrameType.WindowUpdate:
        need(8);
        return { type: 'window_update', streamId: p.readUInt32BE(0) & 0x7fffffff, delta: p.readUInt32BE(4) & 0x7fffffff };
      default:
        return { type: 'unknown', frameType: type, flags, payload: Buffer.from(p) };
    }
  }

  close(): void {
    this.inflate.close?.();
  }
}
