/**
 * Job, DaemonSet, Service endpoints and HPA wiring end to end with the real kubectl against a real
 * `skiff server`. As in deployment.integration.test.ts, a TEST-ONLY fake kubelet (testing/fake-kubelet.ts)
 * stands in for the node agent: it marks bound pods Running/Ready, and completes Job pods by PATCHing status.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCluster, eventually, TestCluster } from './testing/cluster';

let cl: TestCluster;
before(async () => {
  cl = await startTestCluster({
    nodes: ['node-1', 'node-2'],
    kubelet: {
      // Pods labelled outcome=succeed/fail "run to completion" with that result.
      complete: (p) => (p.metadata.labels?.outcome === 'succeed' ? 'Succeeded' : p.metadata.labels?.outcome === 'fail' ? 'Failed' : undefined),
    },
  });
});
after(async () => {
  if (process.env.SKIFF_TEST_LOGS) process.stderr.write(cl?.logs() ?? '');
  await cl?.stop();
});

const json = async (args: string[]) => JSON.parse((await cl.kubectl([...args, '-o', 'json'])).stdout);

test('a Job with completions 3, parallelism 2 completes; kubectl wait sees condition=complete', async () => {
  await cl.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 3
  parallelism: 2
  template:
    metadata: {labels: {outcome: succeed}}
    spec:
      restartPolicy: Never
      containers: [{name: pi, image: busybox, command: [sh, -c, "echo 3.14"]}]
`,
  });
  await cl.kubectl(['wait', '--for=condition=complete', 'job/pi', '--timeout=90s']);
  const job = await json(['get', 'job', 'pi']);
  assert.equal(job.status.succeeded, 3);
  assert.ok(job.status.completionTime);
  const pods = await json(['get', 'pods', '-l', 'job-name=pi']);
  assert.equal(pods.items.length, 3);
  const desc = (await cl.kubectl(['describe', 'job', 'pi'])).stdout;
  assert.match(desc, /Completed/);
});

test('a failing Job stops at backoffLimit with condition Failed / BackoffLimitExceeded', async () => {
  await cl.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: batch/v1
kind: Job
metadata: {name: boom}
spec:
  backoffLimit: 1
  template:
    metadata: {labels: {outcome: fail}}
    spec:
      restartPolicy: Never
      containers: [{name: boom, image: busybox, command: [sh, -c, "exit 1"]}]
`,
  });
  await cl.kubectl(['wait', '--for=condition=failed', 'job/boom', '--timeout=90s']);
  const job = await json(['get', 'job', 'boom']);
  assert.equal(job.status.conditions.find((c: { type: string }) => c.type === 'Failed').reason, 'BackoffLimitExceeded');
  assert.equal(job.status.failed, 2);
});

test('a DaemonSet runs one pod per node and rolls out a template change', async () => {
  await cl.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox:1}]
`,
  });
  await cl.kubectl(['rollout', 'status', 'daemonset/agent', '--timeout=90s']);
  let pods = (await json(['get', 'pods', '-l', 'app=agent'])).items;
  assert.deepEqual(pods.map((p: { spec: { nodeName: string } }) => p.spec.nodeName).sort(), ['node-1', 'node-2']);
  await cl.kubectl(['set', 'image', 'daemonset/agent', 'agent=busybox:2']);
  await cl.kubectl(['rollout', 'status', 'daemonset/agent', '--timeout=90s']);
  pods = await eventually(async () => {
    const ps = (await json(['get', 'pods', '-l', 'app=agent'])).items.filter((p: { metadata: { deletionTimestamp?: string } }) => !p.metadata.deletionTimestamp);
    return ps.length === 2 && ps.every((p: { spec: { containers: Array<{ image: string }> } }) => p.spec.containers[0].image === 'busybox:2') && ps;
  }, 'daemon pods on the new image');
  assert.equal(pods.length, 2);
});

test('a Service gets Endpoints and an EndpointSlice of its ready pods, by named target port', async () => {
  await cl.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: nginx
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app: api}
  ports: [{name: web, port: 80, targetPort: http}]
`,
  });
  const ep = await eventually(async () => {
    const e = await json(['get', 'endpoints', 'api']);
    return e.subsets?.[0]?.addresses?.length === 2 && e;
  }, 'endpoints with 2 addresses');
  assert.deepEqual(ep.subsets[0].ports, [{ name: 'web', port: 8080, protocol: 'TCP' }]);
  const slices = await eventually(async () => {
    const s = await json(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=api']);
    return s.items.length === 1 && s.items[0].endpoints?.length === 2 && s;
  }, 'one endpointslice with 2 endpoints');
  assert.equal(slices.items[0].addressType, 'IPv4');
  // scale down: endpoints follow
  await cl.kubectl(['scale', 'deployment/api', '--replicas=1']);
  await eventually(async () => (await json(['get', 'endpoints', 'api'])).subsets?.[0]?.addresses?.length === 1, 'endpoints with 1 address');
  const desc = (await cl.kubectl(['describe', 'service', 'api'])).stdout;
  assert.match(desc, /Endpoints:\s+10\.88\.0\.\d+:8080/);
});

test('a ReplicaSet adopts a matching orphan, releases a relabelled pod and replaces it', async () => {
  // An orphan pod that matches the selector exists first: the ReplicaSet adopts it and creates only one more.
  await cl.kubectl(['run', 'orphan', '--image=nginx', '--labels=app=rs1', '--restart=Always']);
  await cl.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs1}
spec:
  replicas: 2
  selector: {matchLabels: {app: rs1}}
  template:
    metadata: {labels: {app: rs1}}
    spec:
      containers: [{name: c, image: nginx}]
`,
  });
  const owned = await eventually(async () => {
    const ps = (await json(['get', 'pods', '-l', 'app=rs1'])).items;
    return ps.length === 2 && ps.every((p: { metadata: { ownerReferences?: Array<{ name: string }> } }) => p.metadata.ownerReferences?.[0]?.name === 'rs1') && ps;
  }, 'orphan adopted, one pod created');
  assert.ok(owned.some((p: { metadata: { name: string } }) => p.metadata.name === 'orphan'));
  // Relabel the adopted pod out of the selector: released (no owner) and replaced.
  await cl.kubectl(['label', 'pod', 'orphan', 'app=gone', '--overwrite']);
  await eventually(async () => {
    const o = await json(['get', 'pod', 'orphan']);
    const ps = (await json(['get', 'pods', '-l', 'app=rs1'])).items;
    return !o.metadata.ownerReferences?.length && ps.length === 2;
  }, 'released and replaced');
  const rs = await eventually(async () => {
    const r = await json(['get', 'rs', 'rs1']);
    return r.status?.readyReplicas === 2 && r;
  }, 'rs status');
  assert.equal(rs.status.replicas, 2);
  assert.equal(rs.status.fullyLabeledReplicas, 2);
  assert.equal(rs.status.observedGeneration, rs.metadata.generation);
});
