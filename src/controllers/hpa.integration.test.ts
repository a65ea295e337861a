/**
 * HorizontalPodAutoscaler end to end against a real `skiff server` with the real kubectl: scale out under
 * load, back in when idle. Without a node agent there is no metrics.k8s.io API, so this TEST injects a pod
 * metrics source (the manager's `podMetrics` option) reporting a chosen CPU usage per pod, and the TEST-ONLY
 * fake kubelet marks pods Running/Ready. The decision arithmetic itself is unit-tested in hpa/algorithm.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RESOURCES } from '../client/resources';
import { Pod, KObject } from '../client/types';
import { startTestCluster, eventually, TestCluster } from './testing/cluster';
import { rfc3339 } from './podutil';

let cl: TestCluster;
let usageMilli = 0;
before(async () => {
  cl = await startTestCluster({
    nodes: ['node-1'],
    podMetrics: async (namespace, labelSelector): Promise<KObject[]> => {
      const pods = (await cl.client.list<Pod>(RESOURCES.pods, { namespace, labelSelector })).items;
      // The timestamp is put past the pods' readiness + window so fresh pods count as ready samples
      // (upstream ignores samples taken within a window of a pod turning ready during CPU initialisation).
      return pods.map((p) => ({
        metadata: { name: p.metadata.name, namespace },
        timestamp: rfc3339(Date.now() + 60_000),
        window: '30s',
        containers: [{ name: 'burn', usage: { cpu: `${usageMilli}m`, memory: '10Mi' } }],
      }));
    },
  });
});
after(async () => {
  if (process.env.SKIFF_TEST_LOGS) process.stderr.write(cl?.logs() ?? '');
  await cl?.stop();
});

test('HPA scales a Deployment out under CPU load and back in when idle', async () => {
  await cl.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: apps/v1
kind: Deployment
metadata: {name: burn}
spec:
  replicas: 1
  selector: {matchLabels: {app: burn}}
  template:
    metadata: {labels: {app: burn}}
    spec:
      containers:
      - name: burn
        image: busybox
        resources: {requests: {cpu: 100m}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: burn}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burn}
  minReplicas: 1
  maxReplicas: 4
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 0}
`,
  });
  await cl.kubectl(['rollout', 'status', 'deployment/burn', '--timeout=60s']);
  usageMilli = 200; // 200% of the request against a 50% target → ratio 4 → 4 replicas (max 4)
  await eventually(async () => JSON.parse((await cl.kubectl(['get', 'deployment', 'burn', '-o', 'json'])).stdout).spec.replicas === 4, 'scale out to 4', 90_000);
  const hpa = JSON.parse((await cl.kubectl(['get', 'hpa', 'burn', '-o', 'json'])).stdout);
  assert.equal(hpa.status.desiredReplicas, 4);
  assert.ok(hpa.status.lastScaleTime);
  const ev = JSON.parse((await cl.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=burn,reason=SuccessfulRescale', '-o', 'json'])).stdout);
  assert.match(ev.items[0].message, /^New size: 4; reason: cpu resource utilization \(percentage of request\) above target$/);

  usageMilli = 10; // idle → 10% → ceil(0.2 × 4) = 1
  await eventually(async () => JSON.parse((await cl.kubectl(['get', 'deployment', 'burn', '-o', 'json'])).stdout).spec.replicas === 1, 'scale in to 1', 90_000);
  const after = JSON.parse((await cl.kubectl(['get', 'hpa', 'burn', '-o', 'json'])).stdout);
  assert.equal(after.status.currentMetrics[0].resource.current.averageUtilization, 10);
  const desc = (await cl.kubectl(['describe', 'hpa', 'burn'])).stdout;
  assert.match(desc, /New size: 1; reason: All metrics below target/);
});
