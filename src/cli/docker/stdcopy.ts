/**
 * Docker's stdcopy framing (application/vnd.docker.multiplexed-stream), decoded incrementally:
 * each frame is [stream, 0, 0, 0, uint32 BE length] then `length` payload bytes; stream 0 stdin,
 * 1 stdout, 2 stderr, 3 a system error the daemon reports in-band. Frames may be split across (or packed
 * into) chunks arbitrarily. Pure: the caller routes the payloads.
 */

export type StreamId = 0 | 1 | 2 | 3;

export interface Frame {
  stream: StreamId;
  payload: Buffer;
}

export class StdcopyDemuxer {
  private buf: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns every frame completed by it, in order. */
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= 8) {
      const stream = this.buf[off];
      if (stream > 3) throw new Error(`Unrecognized input header: ${stream}`);
      const len = this.buf.readUInt32BE(off + 4);
      if (this.buf.length - off - 8 < len) break;
      frames.push({ stream: stream as StreamId, payload: this.buf.subarray(off + 8, off + 8 + len) });
      off += 8 + len;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    return frames;
  }

  /** Bytes of an incomplete frame still held (non-zero at end of stream means a truncated frame). */
  get pending(): number {
    return this.buf.length;
  }
}

/** Encodes one frame (used by tests and by anything that needs to speak the format). */
export function encodeFrame(stream: StreamId, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}
