import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Node } from '../../client/types';
import { HeartbeatTracker, desiredTaints, heartbeatOf, unknownConditions } from './logic';

const node = (status: 'True' | 'False' | 'Unknown', taints: NonNullable<Node['spec']>['taints'] = []): Node => ({
  metadata: { name: 'n' },
  spec: { taints },
  status: { conditions: [{ type: 'Ready', status, lastHeartbeatTime: '2026-01-01T00:00:00Z' }, { type: 'MemoryPressure', status: 'False' }] },
});
const t0 = Date.parse('2026-01-01T00:01:00Z');

test('silence is measured on the controller clock from the last observed change', () => {
  const h = new HeartbeatTracker();
  assert.equal(h.silentFor('n', t0), 0, 'unknown nodes get a full grace period');
  h.observe('n', 'beat-1', t0);
  h.observe('n', 'beat-1', t0 + 30_000);
  assert.equal(h.silentFor('n', t0 + 30_000), 30_000);
  h.observe('n', 'beat-2', t0 + 35_000);
  assert.equal(h.silentFor('n', t0 + 45_000), 10_000);
  assert.notEqual(heartbeatOf(node('True'), 'a'), heartbeatOf(node('True'), 'b'));
});

test('conditions go Unknown with upstream reason and message', () => {
  const c = unknownConditions(node('True'), t0);
  const ready = c.find((x) => x.type === 'Ready')!;
  assert.deepEqual([ready.status, ready.reason, ready.message], ['Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.']);
  assert.equal(ready.lastHeartbeatTime, '2026-01-01T00:00:00Z');
  assert.equal(c.find((x) => x.type === 'MemoryPressure')!.status, 'Unknown');
  assert.ok(c.some((x) => x.type === 'DiskPressure'));
});

test('taints follow Ready: unreachable for Unknown, not-ready for False, none for True; others kept', () => {
  const user = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' as const };
  assert.deepEqual(desiredTaints(node('Unknown', [user]), t0).map((t) => `${t.key}:${t.effect}`), ['dedicated:NoSchedule', 'node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
  assert.deepEqual(desiredTaints(node('False'), t0).map((t) => `${t.key}:${t.effect}`), ['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute']);
  assert.deepEqual(desiredTaints(node('True', [user, { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }]), t0), [user]);
});
