/**
 * Child process for the crash test (sqlite-crash.test.ts): writes to a SqliteStore as fast as it can with several
 * writes in flight, printing `<revision> <key> <sha256 of value>` only after each write's promise resolved (i.e.
 * was acknowledged), until it is killed with SIGKILL. Usage: node crash-writer.js <db file> <seed>
 */
import { createHash } from 'node:crypto';
import { SqliteStore } from './sqlite';

const [file, seedArg] = process.argv.slice(2);
const seed = Number(seedArg ?? 1);
const store = new SqliteStore({ file, retainRevisions: 0 });
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function writer(w: number): Promise<void> {
  for (let i = 0; ; i++) {
    const key = `/crash/${w}/${i % 20}`;
    // Values of varied size (up to ~40 KB) so some commits span many pages.
    const body = JSON.stringify({ w, i, seed, pad: 'x'.repeat(((i * 7919 + seed) % 40) * 1000) });
    const cur = await store.get(key);
    const kv = cur ? await store.update(key, body, cur.modRevision) : await store.create(key, body);
    process.stdout.write(`${kv.modRevision} ${key} ${sha(body)}\n`);
    if (i % 17 === 0 && cur) {
      const d = await store.delete(key);
      process.stdout.write(`${d.modRevision} ${key} deleted\n`);
    }
  }
}

for (let w = 0; w < 8; w++) void writer(w);
