import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from './clock';
import { EventRecorder } from './events';
import type { KubeClient } from './client';

/** Records writes; the real API server path is covered by client.integration.test.ts. */
function recordingClient(): { client: KubeClient; writes: string[] } {
  const writes: string[] = [];
  const client = {
    create: async (_r: unknown, _ns: string, ev: { reason: string }) => {
      writes.push(ev.reason);
      return ev;
    },
    patch: async () => ({}),
  } as unknown as KubeClient;
  return { client, writes };
}

const ticks = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

const obj = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `u-${name}` } });

test('rate-limited recorder: burst at once, then qps, in order; beyond maxQueue dropped', async () => {
  const clock = new FakeClock();
  const { client, writes } = recordingClient();
  const rec = new EventRecorder(client, { component: 'kubelet', clock, qps: 2, burst: 2, maxQueue: 4 });
  for (const r of ['A', 'B', 'C', 'D', 'E']) rec.event(obj(r.toLowerCase()), 'Normal', r, 'm');
  await ticks();
  assert.deepEqual(writes, ['A', 'B']);
  clock.advance(500);
  await ticks();
  assert.deepEqual(writes, ['A', 'B', 'C']);
  clock.advance(500);
  await ticks();
  assert.deepEqual(writes, ['A', 'B', 'C', 'D']);
  clock.advance(5000);
  await ticks();
  // E came while four were waiting: dropped.
  assert.deepEqual(writes, ['A', 'B', 'C', 'D']);
  await rec.flush();
});

test('unlimited recorder writes everything at once', async () => {
  const { client, writes } = recordingClient();
  const rec = new EventRecorder(client, { component: 'x', clock: new FakeClock() });
  for (const r of ['A', 'B', 'C']) rec.event(obj(r.toLowerCase()), 'Normal', r, 'm');
  await ticks();
  assert.deepEqual(writes, ['A', 'B', 'C']);
  await rec.flush();
});
