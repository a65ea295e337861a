import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Node, Pod } from '../../client/types';
import { DaemonSet, REVISION_HASH_LABEL, daemonPodTemplate, nodeShouldRun, pinToNode, planDaemonSet, targetNode, templateHash } from './logic';

const ds: DaemonSet = {
  metadata: { name: 'agent', namespace: 'kube-system', uid: 'ds', generation: 1 },
  spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
};
const node = (name: string, o: { labels?: Record<string, string>; taints?: NonNullable<Node['spec']>['taints']; unschedulable?: boolean } = {}): Node => ({
  metadata: { name, labels: o.labels ?? {} },
  spec: { taints: o.taints, unschedulable: o.unschedulable },
  status: { allocatable: { cpu: '1', memory: '1Gi', pods: '10' }, conditions: [{ type: 'Ready', status: 'True' }] },
});
const pod = (name: string, nodeName: string, o: { hash?: string; ready?: boolean; phase?: 'Running' | 'Failed'; created?: string } = {}): Pod => ({
  metadata: { name, namespace: 'kube-system', uid: name, labels: { app: 'agent', [REVISION_HASH_LABEL]: o.hash ?? templateHash(ds) }, creationTimestamp: o.created ?? '2026-01-01T00:00:00Z' },
  spec: { nodeName, containers: [] },
  status: { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
});
const now = Date.parse('2026-01-01T01:00:00Z');

test('eligibility: nodeSelector, taints, and the daemon tolerations (unschedulable nodes still run daemons)', () => {
  assert.equal(nodeShouldRun(ds, node('a')), true);
  assert.equal(nodeShouldRun(ds, node('a', { unschedulable: true })), true);
  assert.equal(nodeShouldRun(ds, node('a', { taints: [{ key: 'gpu', effect: 'NoSchedule' }] })), false);
  assert.equal(nodeShouldRun({ ...ds, spec: { ...ds.spec, template: { ...ds.spec.template, spec: { ...ds.spec.template.spec, nodeSelector: { disk: 'ssd' } } } } }, node('a')), false);
  const t = pinToNode(daemonPodTemplate(ds), 'a');
  assert.equal(targetNode({ metadata: {}, spec: t.spec }), 'a');
});

test('one pod per eligible node: create missing, drop extras and failed, remove from ineligible nodes', () => {
  const plan = planDaemonSet(ds, [node('a'), node('b'), node('c', { taints: [{ key: 'x', effect: 'NoSchedule' }] })], [
    pod('a1', 'a', { created: '2026-01-01T00:00:00Z' }),
    pod('a2', 'a', { created: '2026-01-01T00:00:05Z' }),
    pod('c1', 'c'),
    pod('gone', 'deleted-node'),
  ], now);
  assert.deepEqual(plan.createOn, ['b']);
  assert.deepEqual(plan.remove.map((p) => p.metadata.name).sort(), ['a2', 'c1', 'gone']);
  assert.equal(plan.status.desiredNumberScheduled, 2);
  assert.equal(plan.status.currentNumberScheduled, 1);
  assert.equal(plan.status.numberMisscheduled, 1);
  const failed = planDaemonSet(ds, [node('a')], [pod('a1', 'a', { phase: 'Failed' })], now);
  assert.deepEqual([failed.createOn, failed.remove.map((p) => p.metadata.name)], [['a'], ['a1']]);
});

test('rolling update replaces at most maxUnavailable available old pods at a time', () => {
  const nodes = [node('a'), node('b'), node('c')];
  const old = [pod('a1', 'a', { hash: 'old' }), pod('b1', 'b', { hash: 'old' }), pod('c1', 'c', { hash: 'old' })];
  const p1 = planDaemonSet(ds, nodes, old, now);
  assert.equal(p1.remove.length, 1);
  assert.equal(p1.status.updatedNumberScheduled, 0);
  // one node is missing its pod (being replaced): no more budget
  const p2 = planDaemonSet(ds, nodes, old.slice(1), now);
  assert.deepEqual(p2.createOn, ['a']);
  assert.equal(p2.remove.length, 0);
  // maxUnavailable 100% replaces all
  const all = planDaemonSet({ ...ds, spec: { ...ds.spec, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '100%' } } } }, nodes, old, now);
  assert.equal(all.remove.length, 3);
  // OnDelete never deletes for updates
  assert.equal(planDaemonSet({ ...ds, spec: { ...ds.spec, updateStrategy: { type: 'OnDelete' } } }, nodes, old, now).remove.length, 0);
});
