/**
 * TEST ONLY: an in-memory duplex pair and a minimal SPDY/3.1 client (what moby/spdystream does for kubectl:
 * odd stream ids, SYN_STREAM with headers, DATA, FIN, RST) to drive the server session without kubectl.
 */
import { Duplex, PassThrough } from 'node:stream';
import { FLAG_FIN, FrameDecoder, FrameEncoder, type Frame } from './frames';

/** Two in-memory pipes glued into a pair of Duplexes (a socketpair without sockets). */
export function duplexPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const mk = (r: PassThrough, w: PassThrough) =>
    new Duplex({
      read() {
        /* fed below */
      },
      write(c, _e, cb) {
        w.write(c, cb);
      },
      final(cb) {
        w.end();
        cb();
      },
    });
  const a = mk(bToA, aToB);
  const b = mk(aToB, bToA);
  aToB.on('data', (c) => b.push(c));
  aToB.on('end', () => b.push(null));
  bToA.on('data', (c) => a.push(c));
  bToA.on('end', () => a.push(null));
  return [a, b];
}

/** A minimal SPDY client (what spdystream does for kubectl) over one end of a pair. */
export class TestClient {
  readonly enc = new FrameEncoder();
  readonly dec = new FrameDecoder();
  readonly frames: Frame[] = [];
  private waiters: Array<() => void> = [];
  private next = 1;

  constructor(readonly conn: Duplex) {
    conn.on('data', (c: Buffer) => {
      this.frames.push(...this.dec.push(c));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  send(f: Frame): void {
    this.conn.write(this.enc.encode(f));
  }

  open(headers: Record<string, string>): number {
    const id = this.next;
    this.next += 2;
    this.send({ type: 'syn_stream', streamId: id, associatedTo: 0, priority: 0, flags: 0, headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])) });
    return id;
  }

  async waitFor(pred: (f: Frame) => boolean, what: string, timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.map((x) => x.type))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  /** Concatenated DATA of a stream once it FINs. */
  async body(streamId: number): Promise<string> {
    await this.waitFor((f) => f.type === 'data' && f.streamId === streamId && (f.flags & FLAG_FIN) !== 0, `FIN on ${streamId}`);
    return Buffer.concat(this.frames.filter((f): f is Extract<Frame, { type: 'data' }> => f.type === 'data' && f.streamId === streamId).map((f) => f.data)).toString();
  }
}

