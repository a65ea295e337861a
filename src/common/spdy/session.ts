/**
 * The server side of a SPDY/3.1 connection over any byte stream (an upgraded HTTP socket, or a WebSocket
 * seen as a stream for Kubernetes' "SPDY/3.1+portforward.k8s.io" tunnel). Peer-opened streams become
 * `SpdyStream`s (Node Duplexes, half-closable: FIN is `end()`), answered with an empty SYN_REPLY before they
 * are handed out. Pings are echoed; SETTINGS and WINDOW_UPDATE are read and ignored, as moby/spdystream
 * (the Go peer kubectl uses) does not do flow control either — so neither do we; backpressure comes
 * from the transport instead: a stream whose reader is slow pauses the whole connection, a slow
 * transport holds back the writers of every stream.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import {
  FLAG_FIN,
  FLAG_UNIDIRECTIONAL,
  FrameDecoder,
  FrameEncoder,
  GoAwayStatus,
  MAX_DATA_LENGTH,
  RstStatus,
  type Frame,
  type SpdyHeaders,
} from './frames';

export class SpdyStream extends Duplex {
  /** True once the peer reset the stream (or the connection went away). */
  resetByPeer = false;
  private localFin = false;
  private remoteFin = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {
    super({ allowHalfOpen: true });
  }

  /** First value of a request header (names are lower case in SPDY/3). */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.resetByPeer || this.localFin) return cb();
    this.session.sendData(this.id, chunk, false, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.resetByPeer || this.localFin) return cb();
    this.localFin = true;
    this.session.sendData(this.id, Buffer.alloc(0), true, cb);
    this.maybeDone();
  }

  override _read(): void {
    this.session.unblock(this);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Closing a stream that is still open both ways tells the peer to drop it (as spdystream's Reset).
    if (!this.resetByPeer && !(this.localFin && this.remoteFin)) this.session.sendRst(this.id, RstStatus.Cancel);
    this.session.forget(this);
    cb(err);
  }

  /** Sends RST_STREAM and drops the stream. */
  reset(status: number = RstStatus.Cancel): void {
    if (!this.resetByPeer && !this.destroyed) this.session.sendRst(this.id, status);
    this.resetByPeer = true; // nothing more goes out
    this.destroy();
  }

  /** @internal frames from the peer */
  _remoteData(data: Buffer, fin: boolean): boolean {
    if (this.destroyed) return true;
    let more = true;
    if (data.length && !this.remoteFin) more = this.push(data);
    if (fin && !this.remoteFin) {
      this.remoteFin = true;
      this.push(null);
      this.maybeDone();
    }
    return more;
  }

  /** @internal */
  _remoteReset(): void {
    this.resetByPeer = true;
    this.destroy();
  }

  private maybeDone(): void {
    if (this.localFin && this.remoteFin) this.session.forget(this);
  }
}

export interface SpdySessionOptions {
  /** Called for every malformed input before the connection is dropped. */
  onError?(err: Error): void;
}

/**
 * Events: 'stream' (SpdyStream, already replied to), 'close' (the transport is gone; every stream has been
 * destroyed), 'goaway' (the peer will open no more streams).
 */
export class SpdySession extends EventEmitter {
  private readonly enc = new FrameEncoder();
  private readonly dec = new FrameDecoder();
  private readonly streams = new Map<number, SpdyStream>();
  /** Streams whose readers asked us to stop: the transport stays paused while any is here. */
  private readonly blocked = new Set<SpdyStream>();
  private lastPeerStream = 0;
  private closed = false;

  constructor(
    private readonly transport: Duplex,
    private readonly opts: SpdySessionOptions = {},
  ) {
    super();
    transport.on('data', (chunk: Buffer) => this.onBytes(chunk));
    transport.on('drain', () => {
      for (const cb of this.waitingDrain.splice(0)) cb();
    });
    transport.on('end', () => this.shutdown());
    transport.on('close', () => this.shutdown());
    transport.on('error', () => this.shutdown());
  }

  get streamCount(): number {
    return this.streams.size;
  }

  private onBytes(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Frame[];
    try {
      frames = this.dec.push(chunk);
    } catch (e) {
      this.opts.onError?.(e as Error);
      this.goAway(GoAwayStatus.ProtocolError);
      this.transport.destroy();
      return;
    }
    for (const f of frames) this.onFrame(f);
  }

  private onFrame(f: Frame): void {
    switch (f.type) {
      case 'syn_stream': {
        // Peer (client) streams are odd and increasing; anything else is refused.
        if (f.streamId % 2 === 0 || f.streamId <= this.lastPeerStream || this.streams.has(f.streamId)) {
          this.sendRst(f.streamId, RstStatus.ProtocolError);
          return;
        }
        this.lastPeerStream = f.streamId;
        const s = new SpdyStream(this, f.streamId, f.headers);
        this.streams.set(f.streamId, s);
        this.write(this.enc.encode({ type: 'syn_reply', streamId: f.streamId, flags: 0, headers: {} }));
        if (f.flags & (FLAG_FIN | FLAG_UNIDIRECTIONAL)) s._remoteData(Buffer.alloc(0), true);
        this.emit('stream', s);
        return;
      }
      case 'data': {
        const s = this.streams.get(f.streamId);
        if (!s) {
          // Data still in flight for a stream we closed is dropped; a stream never opened is an error.
          if (f.streamId > this.lastPeerStream) this.sendRst(f.streamId, RstStatus.InvalidStream);
          return;
        }
        if (!s._remoteData(f.data, (f.flags & FLAG_FIN) !== 0)) {
          this.blocked.add(s);
          this.transport.pause();
        }
        return;
      }
      case 'headers': {
        const s = this.streams.get(f.streamId);
        if (s && f.flags & FLAG_FIN) s._remoteData(Buffer.alloc(0), true);
        return;
      }
      case 'rst_stream':
        this.streams.get(f.streamId)?._remoteReset();
        return;
      case 'ping':
        // Our own pings would be even; the peer's are odd and must be echoed.
        if (f.id % 2 === 1) this.write(this.enc.encode(f));
        return;
      case 'goaway':
        this.emit('goaway');
        return;
      case 'syn_reply': // we open no streams
      case 'settings':
      case 'window_update':
      case 'unknown':
        return;
    }
  }

  /** @internal */
  sendData(streamId: number, data: Buffer, fin: boolean, cb: (err?: Error | null) => void): void {
    if (this.closed) return cb();
    let off = 0;
    let ok = true;
    do {
      const part = data.subarray(off, off + MAX_DATA_LENGTH);
      off += part.length;
      const last = off >= data.length;
      ok = this.write(this.enc.encode({ type: 'data', streamId, flags: fin && last ? FLAG_FIN : 0, data: part }));
    } while (off < data.length);
    if (ok || this.closed) process.nextTick(cb);
    else this.waitingDrain.push(cb);
  }

  /** Writers held back by a full transport, released together on one 'drain' (no listener per stream). */
  private readonly waitingDrain: Array<(err?: Error | null) => void> = [];

  /** @internal */
  sendRst(streamId: number, status: number): void {
    if (!this.closed) this.write(this.enc.encode({ type: 'rst_stream', streamId, status }));
  }

  /** @internal a stream's reader wants more */
  unblock(s: SpdyStream): void {
    if (this.blocked.delete(s) && this.blocked.size === 0 && !this.closed) this.transport.resume();
  }

  /** @internal */
  forget(s: SpdyStream): void {
    if (this.streams.get(s.id) === s) this.streams.delete(s.id);
    this.unblock(s);
  }

  private write(b: Buffer): boolean {
    if (this.closed || this.transport.destroyed) return true;
    return this.transport.write(b);
  }

  private goAway(status: number): void {
    this.write(this.enc.encode({ type: 'goaway', lastGoodStreamId: this.lastPeerStream, status }));
  }

  /** GOAWAY, then close the transport and every stream. */
  close(): void {
    if (this.closed) return;
    this.goAway(GoAwayStatus.Ok);
    this.transport.end();
    this.shutdown(false);
  }

  private shutdown(destroy = true): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.streams.values()]) s._remoteReset();
    this.streams.clear();
    this.blocked.clear();
    for (const cb of this.waitingDrain.splice(0)) cb();
    this.enc.close();
    this.dec.close();
    if (destroy && !this.transport.destroyed) this.transport.destroy();
    this.emit('close');
  }
}
