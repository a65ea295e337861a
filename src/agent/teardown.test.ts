import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TeardownQueue } from './teardown';

/** A task that records its start and finishes when told. */
function gate(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  return { fn: () => (log.push(name), done), finish };
}

const tick = () => new Promise((r) => setImmediate(r));

test('idle: cleanups run at once, up to idleConcurrency', async () => {
  const log: string[] = [];
  const q = new TeardownQueue({ busy: () => false, idleConcurrency: 2 });
  const a = gate(log, 'a');
  const b = gate(log, 'b');
  const c = gate(log, 'c');
  const ps = [q.run(a.fn), q.run(b.fn), q.run(c.fn)];
  assert.deepEqual(log, ['a', 'b']);
  a.finish();
  await tick();
  assert.deepEqual(log, ['a', 'b', 'c']);
  b.finish();
  c.finish();
  await Promise.all(ps);
  assert.equal(q.active, 0);
});

test('busy: cleanups wait until the starts are done (poke)', async () => {
  const log: string[] = [];
  let busy = true;
  const q = new TeardownQueue({ busy: () => busy, maxDeferMs: 60_000 });
  const a = gate(log, 'a');
  const p = q.run(a.fn);
  await tick();
  assert.deepEqual(log, []);
  assert.equal(q.backlog, 1);
  busy = false;
  q.poke();
  assert.deepEqual(log, ['a']);
  a.finish();
  await p;
  q.flush();
});

test('busy: the oldest goes once it waited maxDeferMs, busyConcurrency at a time, in order', async () => {
  const log: string[] = [];
  let now = 1000;
  const q = new TeardownQueue({ busy: () => true, maxDeferMs: 500, busyConcurrency: 1, now: () => now });
  const a = gate(log, 'a');
  const b = gate(log, 'b');
  const pa = q.run(a.fn);
  now += 100;
  const pb = q.run(b.fn);
  now += 399;
  q.poke();
  assert.deepEqual(log, []);
  now += 1;
  q.poke();
  assert.deepEqual(log, ['a']);
  now += 50; // b has waited 450 ms: not due, and one runs already
  a.finish();
  await pa;
  await tick();
  assert.deepEqual(log, ['a']);
  now += 50;
  q.poke();
  assert.deepEqual(log, ['a', 'b']);
  b.finish();
  await pb;
  q.flush();
});

test('busy: a backlog over maxBacklog runs without waiting', async () => {
  const log: string[] = [];
  const q = new TeardownQueue({ busy: () => true, maxDeferMs: 60_000, maxBacklog: 2, idleConcurrency: 8 });
  const gs = ['a', 'b', 'c'].map((n) => gate(log, n));
  const ps = gs.map((g) => q.run(g.fn));
  // Three waiting > 2: the first goes, leaving two (not over the bound).
  assert.deepEqual(log, ['a']);
  assert.equal(q.backlog, 2);
  gs.forEach((g) => g.finish());
  await ps[0];
  q.flush();
  await Promise.all(ps);
  assert.deepEqual(log, ['a', 'b', 'c']);
});

test('busy for ever: the deferral timer runs a cleanup by itself', async () => {
  const q = new TeardownQueue({ busy: () => true, maxDeferMs: 20 });
  let ran = false;
  // (The queue's timer does not keep a process alive by itself.)
  const keep = setInterval(() => undefined, 1000);
  try {
    await q.run(async () => {
      ran = true;
    });
  } finally {
    clearInterval(keep);
  }
  assert.ok(ran);
});

test('a failing cleanup rejects its own promise and does not block the queue', async () => {
  const q = new TeardownQueue({ busy: () => false, idleConcurrency: 1 });
  const bad = q.run(async () => {
    throw new Error('boom');
  });
  const good = q.run(async () => 7);
  await assert.rejects(bad, /boom/);
  assert.equal(await good, 7);
});
