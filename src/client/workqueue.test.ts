import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './workqueue';
import { FakeClock } from './clock';

test('a key added many times before processing is handed out once', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.len(), 0);
});

test('a key being processed is never given to a second worker; re-adds wait for done()', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  q.add('a');
  const k = await q.get();
  assert.equal(k, 'a');
  q.add('a'); // event while processing
  q.add('a');
  assert.equal(q.len(), 0, 'not queued while processing');
  let second: string | undefined;
  void q.get().then((v) => (second = v));
  await Promise.resolve();
  assert.equal(second, undefined);
  q.done('a');
  await new Promise((r) => setImmediate(r));
  assert.equal(second, 'a', 'queued exactly once after done');
  q.done('a');
  assert.equal(q.len(), 0);
});

test('exponential per-key backoff, reset by forget()', () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock, baseDelayMs: 5, maxDelayMs: 1000 });
  assert.equal(q.nextDelay('k'), 5);
  q.addRateLimited('k');
  assert.equal(q.numRequeues('k'), 1);
  assert.equal(q.len(), 0);
  clock.advance(4);
  assert.equal(q.len(), 0);
  clock.advance(1);
  assert.equal(q.len(), 1);
  q.addRateLimited('k');
  q.addRateLimited('k');
  assert.equal(q.nextDelay('k'), 40);
  for (let i = 0; i < 20; i++) q.addRateLimited('k');
  assert.equal(q.nextDelay('k'), 1000, 'capped');
  q.forget('k');
  assert.equal(q.nextDelay('k'), 5);
  assert.equal(q.numRequeues('k'), 0);
  q.shutDown();
});

test('addAfter keeps the earliest pending deadline per key', () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock });
  q.addAfter('k', 1000);
  q.addAfter('k', 100);
  q.addAfter('k', 5000);
  assert.equal(clock.pending(), 1);
  clock.advance(100);
  assert.equal(q.len(), 1);
  clock.advance(10_000);
  assert.equal(q.len(), 1, 'no second add from the superseded timers');
});

test('shutDown releases waiting workers with undefined', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  const p = q.get();
  q.shutDown();
  assert.equal(await p, undefined);
  q.add('x');
  assert.equal(await q.get(), undefined);
});
