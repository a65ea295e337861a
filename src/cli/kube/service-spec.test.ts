/** Swarm-style service flags → Kubernetes objects, and the Swarm views of them (pure). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assignSlots, cpuQuantity, deploymentFor, lsRow, memoryQuantity, parsePublish, portsCell, serviceFor, SLOT_ANNOTATION, taskState } from './service-spec';

describe('service spec', () => {
  it('parses published ports like docker service create -p', () => {
    assert.deepEqual(parsePublish('8080:80'), { published: 8080, target: 80, protocol: 'TCP' });
    assert.deepEqual(parsePublish('53:53/udp'), { published: 53, target: 53, protocol: 'UDP' });
    assert.deepEqual(parsePublish('published=8081,target=81,protocol=tcp'), { published: 8081, target: 81, protocol: 'TCP' });
    assert.deepEqual(parsePublish('80'), { published: 80, target: 80, protocol: 'TCP' });
    assert.throws(() => parsePublish('x:80'));
    assert.throws(() => parsePublish('8080:70000'));
  });
  it('converts docker resource units', () => {
    assert.equal(cpuQuantity('0.5'), '500m');
    assert.equal(cpuQuantity('2'), '2');
    assert.equal(memoryQuantity('64M'), '64Mi');
    assert.equal(memoryQuantity('1g'), '1Gi');
  });
  it('makes a labelled Deployment and a LoadBalancer Service', () => {
    const d = deploymentFor(
      { name: 'web', replicas: 3, image: 'busybox', args: ['httpd', '-f'], env: ['A=1'], labels: ['team=x'], containerLabels: [], publish: [parsePublish('8080:80')], limitCpu: '0.5', limitMemory: '64M' },
      'default',
    );
    assert.deepEqual(d.metadata.labels, { team: 'x', 'skiff.io/service': 'web' });
    assert.deepEqual(d.spec.selector.matchLabels, { 'skiff.io/service': 'web' });
    const c = d.spec.template.spec.containers[0];
    assert.deepEqual(c.args, ['httpd', '-f']);
    assert.deepEqual(c.env, [{ name: 'A', value: '1' }]);
    assert.deepEqual(c.resources, { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '0', memory: '0' } });
    assert.deepEqual(c.ports, [{ containerPort: 80, protocol: 'TCP' }]);
    const s = serviceFor('web', 'default', [parsePublish('8080:80')]);
    assert.equal(s.spec.type, 'LoadBalancer');
    assert.equal(s.spec.allocateLoadBalancerNodePorts, false);
    assert.deepEqual(s.spec.ports, [{ name: 'tcp-8080', port: 8080, targetPort: 80, protocol: 'TCP' }]);
    assert.equal(portsCell([parsePublish('8080:80')]), '*:8080->80/tcp');
    const row = lsRow({ ...d, metadata: { ...d.metadata, uid: 'abcdef01-2345-6789' }, status: { readyReplicas: 2 } }, s);
    assert.deepEqual(row, ['abcdef012345', 'web', 'replicated', '2/3', 'busybox', '*:8080->80/tcp']);
  });
  it('gives task slots once and reuses a freed slot for the replacement', () => {
    const pod = (uid: string, ts: string, slot?: number) => ({ metadata: { uid, name: uid, creationTimestamp: ts, annotations: slot ? { [SLOT_ANNOTATION]: String(slot) } : {} } });
    const first = assignSlots([pod('a', '1'), pod('b', '2'), pod('c', '3')]);
    assert.deepEqual([...first.slots.entries()], [['a', 1], ['b', 2], ['c', 3]]);
    assert.equal(first.fresh.length, 3);
    // b (slot 2) died, d replaced it
    const later = assignSlots([pod('a', '1', 1), pod('c', '3', 3), pod('d', '4')]);
    assert.equal(later.slots.get('d'), 2);
    assert.deepEqual(later.fresh.map((f) => f.slot), [2]);
  });
  it('renders Swarm task states', () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const running = { metadata: {}, status: { phase: 'Running', containerStatuses: [{ state: { running: { startedAt: '2026-01-01T00:00:05Z' } } }] } };
    assert.deepEqual(taskState(running, now), ['Running', 'Running 5 seconds ago', '']);
    const pulling = { metadata: {}, status: { phase: 'Pending', startTime: '2026-01-01T00:00:09Z', containerStatuses: [{ state: { waiting: { reason: 'ErrImagePull', message: 'no such image' } } }] } };
    assert.deepEqual(taskState(pulling, now), ['Running', 'Rejected 1 second ago', '"ErrImagePull: no such image"']);
  });
});
