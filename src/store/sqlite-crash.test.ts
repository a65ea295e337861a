/**
 * Durability under kill -9: a child process streams writes and is SIGKILLed at random points; after reopening,
 * every write it acknowledged is present at its revision, every stored value is whole, and a watch from an
 * earlier revision replays history and goes on live.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectWatch } from './conformance';
import { SqliteStore } from './sqlite';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

interface Ack {
  rev: number;
  key: string;
  hash: string;
}

/** Runs the writer until it acknowledged some writes, kills it at a random moment, returns the acknowledged ones. */
async function runAndKill(file: string, seed: number): Promise<Ack[]> {
  const child = spawn(process.execPath, [path.join(__dirname, 'crash-writer.js'), file, String(seed)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let buf = '';
  const acks: Ack[] = [];
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const [rev, key, hash] = buf.slice(0, nl).split(' ');
      buf = buf.slice(nl + 1);
      acks.push({ rev: Number(rev), key, hash });
    }
  });
  try {
    // Wait for the first acknowledgements, then kill after a random extra delay (mid-stream, mid-transaction).
    const end = Date.now() + 60_000;
    while (acks.length < 20 && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    assert.ok(acks.length >= 20, 'writer acknowledged writes');
    await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 400)));
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  return acks;
}

test('acknowledged writes survive kill -9 of the writer; watches resume', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-crash-'));
  const file = path.join(dir, 'state.db');
  try {
    let firstRev = 0;
    for (let iter = 0; iter < 4; iter++) {
      const acks = await runAndKill(file, iter + 1);
      if (iter === 0) firstRev = acks[0].rev - 1;
      const store = new SqliteStore({ file, retainRevisions: 0 });
      try {
        const current = await store.currentRevision();
        for (const a of acks) {
          assert.ok(a.rev <= current, `acknowledged revision ${a.rev} <= current ${current}`);
          // Read the key as of the acknowledged revision: that exact write must be there.
          const kv = await store.get(a.key, { revision: a.rev });
          if (a.hash === 'deleted') assert.equal(kv, undefined, `${a.key} deleted at ${a.rev}`);
          else {
            assert.ok(kv, `${a.key} present at ${a.rev}`);
            assert.equal(kv.modRevision, a.rev);
            assert.equal(sha(kv.value), a.hash, `value of ${a.key} at ${a.rev}`);
          }
        }
        // No half-written object anywhere: every current value parses.
        for (const kv of (await store.list('/crash/')).items) JSON.parse(kv.value);
        // A watch from before this run's writes replays all of them in order, then continues live.
        const from = iter === 0 ? firstRev : acks[0].rev - 1;
        let started!: () => void;
        const ready = new Promise<void>((r) => (started = r));
        const watching = collectWatch(store, '/crash/', from, (evs) => evs.some((e) => e.kv.key === '/crash/live'), {
          started,
          timeoutMs: 60_000,
        });
        await ready;
        const live = await store.create('/crash/live', `${iter}`);
        const { events } = await watching;
        const revs = events.map((e) => e.kv.modRevision);
        for (let i = 1; i < revs.length; i++) assert.ok(revs[i] > revs[i - 1]);
        const seen = new Set(revs);
        for (const a of acks) assert.ok(seen.has(a.rev), `watch replayed revision ${a.rev}`);
        assert.equal(revs[revs.length - 1], live.modRevision);
        await store.delete('/crash/live');
      } finally {
        await store.close();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
