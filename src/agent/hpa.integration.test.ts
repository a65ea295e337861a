/**
 * HorizontalPodAutoscaler end to end on a real node: `skiff server` with its agent (metrics.k8s.io from the
 * pods' cgroups) and the in-process HPA controller, driven by the real kubectl. A busybox Deployment burns
 * CPU (limit 150m against a 100m request, so at most 3 × 0.15 = 0.45 core on this shared machine) while a
 * ConfigMap says "burn"; the HPA — created with `kubectl autoscale` (autoscaling/v1), then given a zero
 * scale-down stabilisation window through autoscaling/v2 so the test does not wait upstream's 5 minutes —
 * scales it out to its max of 3, then back in to 1 once the ConfigMap says "idle". Root only.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNodeCluster, eventually, type NodeCluster } from './testing/node-cluster';

const root = process.getuid?.() === 0;

// The burner re-reads the switch between short bursts (a shell builtin `read`, no fork per check).
const BURNER = `apiVersion: v1
kind: ConfigMap
metadata: {name: burn-switch}
data: {mode: burn}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: burn}
spec:
  replicas: 1
  selector: {matchLabels: {app: burn}}
  template:
    metadata: {labels: {app: burn}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: busybox
        command: ["sh", "-c", "while :; do read m < /switch/mode; if [ \\"$m\\" = burn ]; then i=0; while [ $i -lt 5000 ]; do i=$((i+1)); done; else sleep 1; fi; done"]
        resources:
          requests: {cpu: 100m, memory: 16Mi}
          limits: {cpu: 150m, memory: 32Mi}
        volumeMounts:
        - {name: switch, mountPath: /switch}
      volumes:
      - name: switch
        configMap: {name: burn-switch}
`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

let cl: NodeCluster;

before(async () => {
  if (!root) return;
  cl = await startNodeCluster();
});

after(async () => {
  if (cl) await cl.kubectl(['delete', 'hpa', '--all', '--wait=false'], { allowFail: true });
  await cl?.stop();
});

const getJson = async (args: string[]): Promise<Obj> => JSON.parse((await cl.kubectl([...args, '-o', 'json'])).stdout);

test('kubectl autoscale + a CPU burner: the HPA scales out to max under load and back in when idle', { skip: !root, timeout: 600_000 }, async () => {
  await cl.kubectl(['apply', '-f', '-'], { input: BURNER });
  await cl.kubectl(['rollout', 'status', 'deployment/burn', '--timeout=120s']);

  // kubectl 1.32 creates an autoscaling/v1 object (protobuf body); the controller works on its v2 view.
  const created = await cl.kubectl(['autoscale', 'deployment', 'burn', '--cpu-percent=50', '--min=1', '--max=3']);
  assert.match(created.stdout, /horizontalpodautoscaler.autoscaling\/burn autoscaled/);
  const v1 = JSON.parse((await cl.kubectl(['get', '--raw', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/burn'])).stdout);
  assert.equal(v1.apiVersion, 'autoscaling/v1');
  assert.deepEqual([v1.spec.minReplicas, v1.spec.maxReplicas, v1.spec.targetCPUUtilizationPercentage], [1, 3, 50]);
  await cl.kubectl(['patch', 'hpa', 'burn', '--type=merge', '-p', '{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":0}}}}']);
  const v2 = await getJson(['get', 'hpa', 'burn']);
  assert.equal(v2.apiVersion, 'autoscaling/v2');
  assert.deepEqual(v2.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }]);
  assert.equal(v2.spec.behavior.scaleDown.stabilizationWindowSeconds, 0);

  // Under load: ~150% of the request per pod against a 50% target → 3 replicas (the max).
  await eventually(async () => (await getJson(['get', 'deployment', 'burn'])).spec.replicas === 3, 'scale out to 3', 240_000);
  const hot = await eventually(async () => {
    const h = await getJson(['get', 'hpa', 'burn']);
    const util = h.status?.currentMetrics?.[0]?.resource?.current?.averageUtilization;
    return h.status?.desiredReplicas === 3 && util > 50 && h;
  }, 'HPA status under load', 60_000);
  assert.ok(hot.status.lastScaleTime);
  assert.equal(hot.status.conditions.find((c: Obj) => c.type === 'ScalingActive')?.reason, 'ValidMetricFound');
  // `kubectl get hpa` columns as upstream prints them.
  const table = (await cl.kubectl(['get', 'hpa', 'burn'])).stdout;
  assert.match(table, /^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE\n/);
  assert.match(table, /\nburn\s+Deployment\/burn\s+cpu: \d+%\/50%\s+1\s+3\s+[1-3]\s+\S+\n/);
  // The v1 view carries the same status.
  const v1hot = JSON.parse((await cl.kubectl(['get', '--raw', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/burn'])).stdout);
  assert.equal(v1hot.status.desiredReplicas, 3);
  assert.ok(v1hot.status.currentCPUUtilizationPercentage > 50);
  await eventually(async () => (await getJson(['get', 'deployment', 'burn'])).status?.readyReplicas === 3, '3 burners ready', 120_000);

  // Load off: the pods see the ConfigMap change in their volume and idle.
  await cl.kubectl(['patch', 'configmap', 'burn-switch', '--type=merge', '-p', '{"data":{"mode":"idle"}}']);
  await eventually(async () => (await getJson(['get', 'deployment', 'burn'])).spec.replicas === 1, 'scale in to 1', 240_000);
  const cold = await getJson(['get', 'hpa', 'burn']);
  assert.equal(cold.status.desiredReplicas, 1);
  assert.ok(cold.status.currentMetrics[0].resource.current.averageUtilization < 50);
  const events = (await getJson(['get', 'events', '--field-selector', 'involvedObject.name=burn,reason=SuccessfulRescale'])).items.map((e: Obj) => e.message);
  assert.ok(events.includes('New size: 3; reason: cpu resource utilization (percentage of request) above target'), JSON.stringify(events));
  assert.ok(events.includes('New size: 1; reason: All metrics below target'), JSON.stringify(events));
  await eventually(async () => (await getJson(['get', 'pods', '-l', 'app=burn'])).items.length === 1, 'extra burner pods gone', 120_000);
});
