import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Node, Pod } from '../client/types';
import { buildNodeInfo } from './nodeinfo';
import { nodeAffinity, nodePorts, nodeResourcesFit, nodeUnschedulable, taintToleration, toleratesTaint, runFilters } from './filters';
import { leastAllocated, spreadReplicas, preferredNodeAffinity, normalise } from './scores';
import { fitErrorMessage, schedulePod, NO_NODES_MESSAGE } from './schedule';
import { podRequests } from './resources';

const ready = [{ type: 'Ready', status: 'True' as const }];
function node(name: string, opts: { cpu?: string; memory?: string; pods?: string; labels?: Record<string, string>; taints?: Node['spec'] extends infer S ? S extends { taints?: infer T } ? T : never : never; unschedulable?: boolean; conditions?: unknown[] } = {}): Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(opts.labels ?? {}) } },
    spec: { taints: opts.taints, unschedulable: opts.unschedulable },
    status: {
      allocatable: { cpu: opts.cpu ?? '4', memory: opts.memory ?? '8Gi', pods: opts.pods ?? '110' },
      conditions: (opts.conditions as Node['status'] extends infer S ? S extends { conditions?: infer C } ? C : never : never) ?? ready,
    },
  };
}
function pod(name: string, spec: Partial<Pod['spec']> = {}, cpu?: string, memory?: string, owner?: string): Pod {
  return {
    metadata: { name, namespace: 'default', ownerReferences: owner ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: owner, controller: true }] : undefined },
    spec: {
      containers: [{ name: 'c', image: 'x', resources: cpu || memory ? { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } } : undefined }],
      ...spec,
    },
  };
}

test('effective requests: containers summed, init containers maxed, sidecars added, overhead', () => {
  const p = pod('p', {
    containers: [
      { name: 'a', resources: { requests: { cpu: '100m', memory: '100Mi' } } },
      { name: 'b', resources: { requests: { cpu: '200m' } } },
    ],
    initContainers: [
      { name: 'i', resources: { requests: { cpu: '1' } } },
      { name: 's', restartPolicy: 'Always', resources: { requests: { cpu: '50m' } } },
    ],
    overhead: { cpu: '10m' },
  });
  const r = podRequests(p);
  assert.equal(r.cpu, 1010); // max(300+50, 1000) + 10
  assert.equal(r.memory, 100 * 2 ** 20);
});

test('filters: table', () => {
  const cases: Array<{ name: string; pod: Pod; node: Node; bound?: Pod[]; want: string[] }> = [
    { name: 'fits', pod: pod('p', {}, '1', '1Gi'), node: node('n'), want: [] },
    { name: 'insufficient cpu', pod: pod('p', {}, '5'), node: node('n'), want: ['Insufficient cpu'] },
    { name: 'insufficient memory after bound pods', pod: pod('p', {}, undefined, '5Gi'), node: node('n'), bound: [pod('q', { nodeName: 'n' }, undefined, '4Gi')], want: ['Insufficient memory'] },
    { name: 'both', pod: pod('p', {}, '5', '9Gi'), node: node('n'), want: ['Insufficient cpu', 'Insufficient memory'] },
    { name: 'too many pods', pod: pod('p'), node: node('n', { pods: '1' }), bound: [pod('q')], want: ['Too many pods'] },
    { name: 'terminated pods free resources', pod: pod('p', {}, '3'), node: node('n'), bound: [{ ...pod('q', {}, '3'), status: { phase: 'Succeeded' } }], want: [] },
    { name: 'nodeSelector mismatch', pod: pod('p', { nodeSelector: { disk: 'ssd' } }), node: node('n'), want: ["node(s) didn't match Pod's node affinity/selector"] },
    { name: 'nodeSelector match', pod: pod('p', { nodeSelector: { disk: 'ssd' } }), node: node('n', { labels: { disk: 'ssd' } }), want: [] },
    { name: 'unschedulable', pod: pod('p'), node: node('n', { unschedulable: true }), want: ['node(s) were unschedulable'] },
    {
      name: 'unschedulable tolerated',
      pod: pod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }),
      node: node('n', { unschedulable: true }),
      want: [],
    },
    { name: 'taint', pod: pod('p'), node: node('n', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), want: ['node(s) had untolerated taint {dedicated: gpu}'] },
    { name: 'PreferNoSchedule is not a filter', pod: pod('p'), node: node('n', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] }), want: [] },
    {
      name: 'taint tolerated by Equal',
      pod: pod('p', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }),
      node: node('n', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
      want: [],
    },
    { name: 'not ready node', pod: pod('p'), node: node('n', { conditions: [{ type: 'Ready', status: 'False' }] }), want: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'] },
    {
      name: 'host port conflict',
      pod: pod('p', { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080 }] }] }),
      node: node('n'),
      bound: [pod('q', { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080, hostIP: '127.0.0.1' }] }] })],
      want: ["node(s) didn't have free ports for the requested pod ports"],
    },
    {
      name: 'host port other protocol',
      pod: pod('p', { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080, protocol: 'UDP' }] }] }),
      node: node('n'),
      bound: [pod('q', { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080 }] }] })],
      want: [],
    },
    {
      name: 'first failing filter wins (unschedulable before resources)',
      pod: pod('p', {}, '100'),
      node: node('n', { unschedulable: true }),
      want: ['node(s) were unschedulable'],
    },
  ];
  for (const c of cases) {
    const info = buildNodeInfo(c.node, c.bound ?? []);
    assert.deepEqual(runFilters(c.pod, info), c.want, c.name);
  }
});

test('node affinity required terms: operators', () => {
  const n = node('n1', { labels: { zone: 'a', gen: '5' } });
  const withReq = (exprs: unknown[], fields: unknown[] = []) =>
    pod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: exprs as never, matchFields: fields as never }] } } } });
  const fits = (p: Pod) => nodeAffinity(p, buildNodeInfo(n, [])).length === 0;
  assert.equal(fits(withReq([{ key: 'zone', operator: 'In', values: ['a', 'b'] }])), true);
  assert.equal(fits(withReq([{ key: 'zone', operator: 'NotIn', values: ['a'] }])), false);
  assert.equal(fits(withReq([{ key: 'zone', operator: 'Exists' }])), true);
  assert.equal(fits(withReq([{ key: 'ssd', operator: 'DoesNotExist' }])), true);
  assert.equal(fits(withReq([{ key: 'gen', operator: 'Gt', values: ['4'] }])), true);
  assert.equal(fits(withReq([{ key: 'gen', operator: 'Lt', values: ['4'] }])), false);
  assert.equal(fits(withReq([{ key: 'zone', operator: 'Gt', values: ['1'] }])), false, 'non-integer label');
  assert.equal(fits(withReq([], [{ key: 'metadata.name', operator: 'In', values: ['n1'] }])), true);
  assert.equal(fits(withReq([])), false, 'an empty term matches nothing');
  // terms are ORed
  const ored = pod('p', {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z'] }] }, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }],
        },
      },
    },
  });
  assert.equal(fits(ored), true);
});

test('toleration matching', () => {
  const taint = { key: 'k', value: 'v', effect: 'NoSchedule' as const };
  assert.equal(toleratesTaint({ operator: 'Exists' }, taint), true, 'empty key + Exists tolerates everything');
  assert.equal(toleratesTaint({ key: 'k', operator: 'Exists', effect: 'NoExecute' }, taint), false);
  assert.equal(toleratesTaint({ key: 'k', value: 'v' }, taint), true, 'operator defaults to Equal');
  assert.equal(toleratesTaint({ key: 'k', value: 'w' }, taint), false);
});

test('FitError message matches upstream: counts, reasons sorted as strings', () => {
  assert.equal(
    fitErrorMessage(3, { a: ['Insufficient memory'], b: ["node(s) didn't match Pod's node affinity/selector"], c: ["node(s) didn't match Pod's node affinity/selector"] }),
    "0/3 nodes are available: 1 Insufficient memory, 2 node(s) didn't match Pod's node affinity/selector.",
  );
  assert.equal(fitErrorMessage(1, { a: ['Insufficient cpu', 'Insufficient memory'] }), '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.');
  const r = schedulePod(pod('p', {}, undefined, '1Ti'), [buildNodeInfo(node('n'), [])]);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.message, '0/1 nodes are available: 1 Insufficient memory.');
  const none = schedulePod(pod('p'), []);
  assert.equal(!none.ok && none.message, NO_NODES_MESSAGE);
});

test('scores: least allocated prefers the emptier node; spread prefers nodes without siblings', () => {
  const a = buildNodeInfo(node('a'), [pod('x', {}, '3', '6Gi')]);
  const b = buildNodeInfo(node('b'), []);
  const s = leastAllocated(pod('p', {}, '1', '1Gi'), [a, b]);
  assert.ok(s[1] > s[0]);
  const sib = pod('s1', {}, undefined, undefined, 'rs1');
  const sp = spreadReplicas(pod('p', {}, undefined, undefined, 'rs1'), [buildNodeInfo(node('a'), [sib, sib]), buildNodeInfo(node('b'), [sib]), buildNodeInfo(node('c'), [])]);
  assert.deepEqual(sp, [0, 50, 100]);
  assert.deepEqual(normalise([0, 5, 10], false), [0, 50, 100]);
  assert.deepEqual(normalise([0, 5, 10], true), [100, 50, 0]);
});

test('preferred node affinity steers placement', () => {
  const p = pod('p', {
    affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } }] } },
  });
  const nodes = [buildNodeInfo(node('hdd'), []), buildNodeInfo(node('ssd', { labels: { disk: 'ssd' } }), [])];
  assert.deepEqual(preferredNodeAffinity(p, nodes), [0, 100]);
  const r = schedulePod(p, nodes, { random: () => 0 });
  assert.equal(r.ok && r.node, 'ssd');
});

test('replicas of one controller spread over three nodes', () => {
  const infos = ['a', 'b', 'c'].map((n) => buildNodeInfo(node(n), []));
  const placed: string[] = [];
  for (let i = 0; i < 6; i++) {
    const p = pod(`web-${i}`, {}, '100m', '64Mi', 'rs1');
    const r = schedulePod(p, infos, { random: () => 0 });
    assert.ok(r.ok);
    if (r.ok) {
      placed.push(r.node);
      const info = infos.find((x) => x.node.metadata.name === r.node)!;
      info.pods.push(p);
      info.requested.cpu = (info.requested.cpu ?? 0) + 100;
      info.nonZeroRequested.cpu = (info.nonZeroRequested.cpu ?? 0) + 100;
    }
  }
  for (const n of ['a', 'b', 'c']) assert.equal(placed.filter((x) => x === n).length, 2, `node ${n}: ${placed}`);
});

test('filters are exposed individually', () => {
  const info = buildNodeInfo(node('n'), []);
  assert.deepEqual(nodeUnschedulable(pod('p'), info), []);
  assert.deepEqual(taintToleration(pod('p'), info), []);
  assert.deepEqual(nodePorts(pod('p'), info), []);
  assert.deepEqual(nodeResourcesFit(pod('p'), info), []);
});
