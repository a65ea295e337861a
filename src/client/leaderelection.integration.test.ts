/** Leader election against a real `skiff server`: one leader among candidates, fast hand-over on release. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, eventually, TestServer } from './testing/server';
import { runWithLeaderElection } from './leaderelection';
import { RESOURCES } from './resources';

let srv: TestServer;
before(async () => {
  srv = await startTestServer();
  await srv.client.create(RESOURCES.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } }).catch(() => {});
});
after(async () => {
  await srv?.stop();
});

test('exactly one of three candidates leads; when it stops another takes over', async () => {
  const running = new Set<string>();
  const started: string[] = [];
  const opts = (identity: string) => ({ name: 'test-lock', identity, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 200 });
  const cands = ['a', 'b', 'c'].map((id) =>
    runWithLeaderElection(srv.client, opts(id), () => {
      running.add(id);
      started.push(id);
      return { stop: () => running.delete(id) };
    }),
  );
  try {
    await eventually(() => running.size === 1, 'a leader');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(running.size, 1, 'still exactly one leader after several renewals');
    const first = [...running][0];
    const lease = await srv.client.get(RESOURCES.leases, 'kube-system', 'test-lock');
    assert.equal(lease.spec.holderIdentity, first);
    await cands[['a', 'b', 'c'].indexOf(first)].stop();
    await eventually(() => running.size === 1 && !running.has(first), 'a new leader');
    assert.equal(started.length, 2);
  } finally {
    for (const c of cands) await c.stop();
  }
});
