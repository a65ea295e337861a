import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pod, ReplicaSet } from '../../client/types';
import { claim, computeStatus, planReplicas, podFromTemplate, rankForDeletion, slowStartBatches } from './logic';

const rs: ReplicaSet = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'web', namespace: 'default', uid: 'rs-uid', generation: 3 },
  spec: { replicas: 3, minReadySeconds: 10, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web', tier: 'fe' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
};
const now = Date.parse('2026-01-01T00:01:00Z');

function pod(name: string, o: { labels?: Record<string, string>; owner?: string; node?: string; phase?: Pod['status'] extends infer S ? S extends { phase?: infer P } ? P : never : never; ready?: string; restarts?: number; created?: string; deleting?: boolean } = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `${name}-uid`,
      labels: o.labels ?? { app: 'web', tier: 'fe' },
      creationTimestamp: o.created ?? '2026-01-01T00:00:00Z',
      ownerReferences: o.owner ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: o.owner, controller: true }] : undefined,
      deletionTimestamp: o.deleting ? '2026-01-01T00:00:30Z' : undefined,
    },
    spec: { nodeName: o.node, containers: [{ name: 'c' }] },
    status: {
      phase: o.phase ?? 'Running',
      conditions: o.ready ? [{ type: 'Ready', status: 'True', lastTransitionTime: o.ready }] : [{ type: 'Ready', status: 'False' }],
      containerStatuses: [{ name: 'c', restartCount: o.restarts ?? 0 }],
    },
  };
}

test('claim: adopt matching orphans, release non-matching owned, ignore pods of other controllers', () => {
  const c = claim(rs, [
    pod('owned', { owner: 'rs-uid' }),
    pod('orphan'),
    pod('orphan-other-labels', { labels: { app: 'db' } }),
    pod('owned-relabelled', { owner: 'rs-uid', labels: { app: 'db' } }),
    pod('foreign', { owner: 'other' }),
    pod('orphan-deleting', { deleting: true }),
  ]);
  assert.deepEqual(c.owned.map((p) => p.metadata.name), ['owned']);
  assert.deepEqual(c.adopt.map((p) => p.metadata.name), ['orphan']);
  assert.deepEqual(c.release.map((p) => p.metadata.name), ['owned-relabelled']);
});

test('deletion ranking follows upstream: unscheduled, pending, not ready, co-located, recently ready, restarts, newer', () => {
  const pods = [
    pod('ready-old', { node: 'n1', ready: '2026-01-01T00:00:00Z', created: '2026-01-01T00:00:00Z' }),
    pod('unscheduled', { phase: 'Pending' }),
    pod('pending', { node: 'n1', phase: 'Pending' }),
    pod('notready', { node: 'n1' }),
    pod('ready-recent', { node: 'n1', ready: '2026-01-01T00:00:50Z' }),
  ];
  assert.deepEqual(rankForDeletion(pods).map((p) => p.metadata.name), ['unscheduled', 'pending', 'notready', 'ready-recent', 'ready-old']);
  const restarts = [pod('a', { node: 'n', ready: '2026-01-01T00:00:00Z' }), pod('b', { node: 'n', ready: '2026-01-01T00:00:00Z', restarts: 3 })];
  assert.deepEqual(rankForDeletion(restarts).map((p) => p.metadata.name), ['b', 'a']);
  const ages = [pod('old', { node: 'n', created: '2026-01-01T00:00:00Z' }), pod('new', { node: 'n', created: '2026-01-01T00:00:10Z' })];
  assert.deepEqual(rankForDeletion(ages).map((p) => p.metadata.name), ['new', 'old']);
  // co-located siblings go first
  const spread = [pod('alone', { node: 'n2' }), pod('crowd1', { node: 'n1', created: '2026-01-01T00:00:00Z' }), pod('crowd2', { node: 'n1', created: '2026-01-01T00:00:00Z' })];
  assert.equal(rankForDeletion(spread)[2].metadata.name, 'alone');
});

test('plan: create the shortfall, delete the surplus by rank', () => {
  assert.deepEqual(planReplicas(3, [pod('a')]), { create: 2, remove: [] });
  const plan = planReplicas(1, [pod('a', { node: 'n', ready: '2026-01-01T00:00:00Z' }), pod('b'), pod('c', { node: 'n' })]);
  assert.equal(plan.create, 0);
  assert.deepEqual(plan.remove.map((p) => p.metadata.name), ['b', 'c']);
  assert.deepEqual(planReplicas(2, [pod('a'), pod('b')]), { create: 0, remove: [] });
});

test('status: replicas, fully labeled, ready, available honours minReadySeconds', () => {
  const s = computeStatus(rs, [
    pod('a', { ready: '2026-01-01T00:00:00Z' }),
    pod('b', { ready: '2026-01-01T00:00:55Z' }), // ready 5 s < minReadySeconds 10
    pod('c', { labels: { app: 'web' } }),
  ], now);
  assert.deepEqual(s, { replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1, observedGeneration: 3 });
});

test('pods from the template: generateName, labels, controller owner reference', () => {
  const p = podFromTemplate(rs.spec.template, rs, { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs-uid', controller: true, blockOwnerDeletion: true });
  assert.equal(p.metadata.generateName, 'web-');
  assert.deepEqual(p.metadata.labels, { app: 'web', tier: 'fe' });
  assert.equal(p.metadata.ownerReferences?.[0].controller, true);
  assert.deepEqual(slowStartBatches(10), [1, 2, 4, 3]);
});
