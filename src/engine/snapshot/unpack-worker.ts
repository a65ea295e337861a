/**
 * Worker-thread entry for applyLayer: unpacking is synchronous file I/O (the safety checks need lstat/open
 * in order), so it runs here to keep the engine's event loop free for API traffic while a big layer lands.
 * Protocol (parent -> worker): {chunk: ArrayBuffer} ... {end: true}; (worker -> parent): {ack} after each
 * chunk is consumed, then {result} or {error: {code, message}}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { applyLayer } from './unpack';
import { SkiffError } from '../../common/errors';

interface Msg {
  chunk?: ArrayBuffer;
  end?: boolean;
}

const port = parentPort!;
const queue: Array<Buffer | null> = [];
let wake: (() => void) | undefined;

port.on('message', (m: Msg) => {
  if (m.chunk) queue.push(Buffer.from(m.chunk));
  if (m.end) queue.push(null);
  wake?.();
});

async function* chunks(): AsyncGenerator<Buffer> {
  for (;;) {
    if (queue.length === 0) await new Promise<void>((r) => (wake = r));
    wake = undefined;
    const c = queue.shift();
    if (c === undefined) continue;
    if (c === null) return;
    yield c;
    port.postMessage({ ack: true });
  }
}

applyLayer((workerData as { root: string }).root, chunks()).then(
  (result) => port.postMessage({ result }),
  (err: unknown) =>
    port.postMessage({
      error: {
        code: err instanceof SkiffError ? err.code : 'Internal',
        message: err instanceof Error ? err.message : String(err),
      },
    }),
);
