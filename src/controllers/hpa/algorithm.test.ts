import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pod } from '../../client/types';
import { PodMetric, applyRateLimits, resourceReplicas, scaleDownLimit, scaleUpLimit, stabilize, withDefaults } from './algorithm';

const now = Date.parse('2026-01-01T01:00:00Z');
const old = '2026-01-01T00:00:00Z';
function pod(name: string, o: { req?: string; phase?: 'Running' | 'Pending' | 'Failed'; ready?: boolean; start?: string; readySince?: string } = {}): Pod {
  return {
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'c', resources: o.req === undefined ? { requests: { cpu: '100m' } } : o.req ? { requests: { cpu: o.req } } : {} }] },
    status: {
      phase: o.phase ?? 'Running',
      startTime: o.start ?? old,
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: o.readySince ?? old }],
    },
  };
}
const m = (entries: Array<[string, number]>) => new Map<string, PodMetric>(entries.map(([n, v]) => [n, { value: v, timestampMs: now - 10_000, windowMs: 30_000 }]));

test('usage ratio: scale up by ceil(ratio × ready pods), tolerance 0.1 keeps the count', () => {
  const pods = [pod('a'), pod('b')];
  // 100% of request against a 50% target → ratio 2 → 4 replicas
  assert.equal(resourceReplicas(2, 50, 'cpu', pods, m([['a', 100], ['b', 100]]), now).replicas, 4);
  // 54% vs 50% target → ratio 1.08 → within tolerance
  const r = resourceReplicas(2, 50, 'cpu', pods, m([['a', 54], ['b', 54]]), now);
  assert.equal(r.replicas, 2);
  assert.equal(r.utilization, 54);
  // exactly 1.1 is NOT within tolerance in float64 (|1 - 1.1| = 0.10000000000000009), as upstream
  assert.equal(resourceReplicas(2, 50, 'cpu', pods, m([['a', 55], ['b', 55]]), now).replicas, 3);
  // 10% vs 50% → ratio 0.2 → ceil(0.4) = 1
  assert.equal(resourceReplicas(2, 50, 'cpu', pods, m([['a', 10], ['b', 10]]), now).replicas, 1);
});

test('missing metrics count as 100% on scale down and 0% on scale up', () => {
  const pods = [pod('a'), pod('b'), pod('c')];
  // a,b at 10% (ratio 0.2); c missing → assumed 100%: (10+10+100)/300 = 40% → ratio 0.8 → ceil(2.4) = 3 → no change
  assert.equal(resourceReplicas(3, 50, 'cpu', pods, m([['a', 10], ['b', 10]]), now).replicas, 3);
  // a,b at 100% (ratio 2); c missing → 0: 200/300 = 66% → ratio 1.33 → ceil(4) = 4
  assert.equal(resourceReplicas(3, 50, 'cpu', pods, m([['a', 100], ['b', 100]]), now).replicas, 4);
});

test('unready pods (pending, or within CPU initialisation and not ready) count as 0% when scaling up', () => {
  const pods = [pod('a'), pod('b', { phase: 'Pending' }), pod('c', { ready: false, start: '2026-01-01T00:58:00Z', readySince: '2026-01-01T00:58:00Z' })];
  // a at 200% of 100m (ratio 4 vs 50%); b, c unready → 0 → 200/300 = 66% → ratio 1.33 → ceil(1.33*3)=4
  assert.equal(resourceReplicas(3, 50, 'cpu', pods, m([['a', 200], ['c', 300]]), now).replicas, 4);
  // failed pods are ignored entirely
  assert.equal(resourceReplicas(2, 50, 'cpu', [pod('a'), pod('x', { phase: 'Failed' })], m([['a', 50]]), now).replicas, 2);
});

test('a container without a cpu request is an error, as upstream', () => {
  assert.throws(() => resourceReplicas(1, 50, 'cpu', [pod('a', { req: '' })], m([['a', 10]]), now), /missing request for cpu/);
});

test('scale-down stabilisation window keeps the highest recommendation of the last 300 s', () => {
  const b = withDefaults(undefined);
  let h = [] as Array<{ atMs: number; replicas: number }>;
  let s = stabilize(5, 8, h, b, now);
  assert.equal(s.replicas, 8, 'scale up is immediate (window 0)');
  h = s.history;
  s = stabilize(8, 2, h, b, now + 60_000);
  assert.equal(s.replicas, 8, 'scale down waits');
  h = s.history;
  s = stabilize(8, 2, h, b, now + 301_000);
  assert.equal(s.replicas, 2, 'after the window the lower value wins');
});

test('behaviour rate limits: default scale-up max(4 pods, 100%) per 15 s; min/max bounds', () => {
  const b = withDefaults(undefined);
  assert.equal(scaleUpLimit(2, [], [], b.scaleUp, now), 6); // max(2+4, 4)
  assert.equal(scaleUpLimit(10, [], [], b.scaleUp, now), 20);
  assert.equal(scaleUpLimit(10, [{ atMs: now - 5_000, change: 5 }], [], b.scaleUp, now), 10, 'period start was 5: max(5+4, 5×2)');
  assert.equal(scaleDownLimit(10, [], [], b.scaleDown, now), 0);
  assert.equal(scaleDownLimit(10, [], [], { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] }, now), 9);
  assert.deepEqual(applyRateLimits(2, 30, 1, 10, [], [], b, now).limited[1], 'ScaleUpLimit');
  assert.equal(applyRateLimits(2, 30, 1, 10, [], [], b, now).replicas, 6);
  assert.deepEqual(applyRateLimits(8, 30, 1, 10, [], [], b, now), { replicas: 10, limited: ['True', 'TooManyReplicas', 'the desired replica count is more than the maximum replica count'] });
  assert.equal(applyRateLimits(5, 0, 2, 10, [], [], b, now).replicas, 2);
  assert.equal(applyRateLimits(5, 5, 2, 10, [], [], b, now).limited[0], 'False');
  assert.equal(scaleUpLimit(3, [], [], { selectPolicy: 'Disabled' }, now), 3);
});
