/**
 * End to end with the real kubectl against a real `skiff server`: the scheduler and controllers run in this
 * process; there is no node agent yet, so a TEST-ONLY fake kubelet (testing/fake-kubelet.ts) marks bound
 * pods Running/Ready by PATCHing their status. Covers the seed Deployment: apply → 3 pods bound, self-heal,
 * scale, rolling update within maxSurge/maxUnavailable, rollout status/history/undo/pause/resume/restart,
 * and the FailedScheduling event of an unschedulable pod.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Informer } from '../client/informer';
import { RESOURCES } from '../client/resources';
import { Pod } from '../client/types';
import { startTestCluster, eventually, TestCluster } from './testing/cluster';

const SEED = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
`;

let cl: TestCluster;
before(async () => {
  cl = await startTestCluster({ nodes: ['node-1'], kubelet: { makeReady: (p) => p.metadata.labels?.ready !== 'never' } });
});
after(async () => {
  if (process.env.SKIFF_TEST_LOGS) process.stderr.write(cl?.logs() ?? '');
  await cl?.stop();
});

async function webPods(): Promise<Pod[]> {
  const list = await cl.client.list<Pod>(RESOURCES.pods, { namespace: 'default', labelSelector: 'app=web' });
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

const runningReady = (p: Pod) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

test('kubectl apply of the seed Deployment converges to 3 bound, running pods', async () => {
  await cl.kubectl(['apply', '-f', '-'], { input: SEED });
  await cl.kubectl(['rollout', 'status', 'deployment/web', '--timeout=90s']);
  const pods = await eventually(async () => {
    const ps = await webPods();
    return ps.length === 3 && ps.every((p) => p.spec.nodeName === 'node-1' && runningReady(p)) && ps;
  }, '3 running pods');
  for (const p of pods) {
    assert.match(p.metadata.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]+-[a-z0-9]{5}$/);
    assert.equal(p.metadata.ownerReferences?.[0].kind, 'ReplicaSet');
  }
  const events = await cl.kubectl(['get', 'events', '-o', 'json']);
  const reasons = JSON.parse(events.stdout).items.map((e: { reason: string; message: string }) => `${e.reason}: ${e.message}`);
  assert.ok(reasons.some((r: string) => /^ScalingReplicaSet: Scaled up replica set web-\w+ from 0 to 3$/.test(r)), reasons.join('\n'));
  assert.ok(reasons.some((r: string) => /^Scheduled: Successfully assigned default\/web-\w+-\w+ to node-1$/.test(r)), reasons.join('\n'));
  assert.ok(reasons.some((r: string) => /^SuccessfulCreate: Created pod: web-/.test(r)), reasons.join('\n'));
});

test('a deleted pod is replaced', async () => {
  const before = await webPods();
  const victim = before[0].metadata.name!;
  await cl.kubectl(['delete', 'pod', victim, '--wait=false']);
  await eventually(async () => {
    const ps = await webPods();
    return ps.length === 3 && !ps.some((p) => p.metadata.name === victim) && ps.every(runningReady);
  }, 'replacement pod');
});

test('scale 3 → 5 → 2', async () => {
  await cl.kubectl(['scale', 'deployment/web', '--replicas=5']);
  await eventually(async () => (await webPods()).filter(runningReady).length === 5, '5 pods');
  await cl.kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s']);
  await cl.kubectl(['scale', 'deployment/web', '--replicas=2']);
  await eventually(async () => (await webPods()).length === 2, '2 pods');
  await cl.kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s']);
  const out = await cl.kubectl(['get', 'deployment', 'web', '-o', 'jsonpath={.status.replicas}/{.status.readyReplicas}/{.status.availableReplicas}']);
  assert.equal(out.stdout, '2/2/2');
});

test('image change rolls within maxSurge/maxUnavailable and rollout status returns', async () => {
  await cl.kubectl(['scale', 'deployment/web', '--replicas=4']);
  await cl.kubectl(['patch', 'deployment/web', '--type=merge', '-p', '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}']);
  await cl.kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s']);
  // Observe every pod change during the rollout through an informer.
  const inf = new Informer<Pod>(cl.client, RESOURCES.pods, { namespace: 'default', labelSelector: 'app=web' });
  let maxTotal = 0;
  let minReady = Infinity;
  const observe = () => {
    const live = inf.cache.list().filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    maxTotal = Math.max(maxTotal, live.length);
    minReady = Math.min(minReady, live.filter(runningReady).length);
  };
  inf.addEventHandler({ add: observe, update: observe, delete: observe });
  inf.start();
  await inf.waitForSync();
  try {
    await cl.kubectl(['set', 'image', 'deployment/web', 'web=nginx:1.28']);
    const st = await cl.kubectl(['rollout', 'status', 'deployment/web', '--timeout=90s']);
    assert.match(st.stdout, /successfully rolled out/);
    await eventually(async () => {
      const ps = await webPods();
      return ps.length === 4 && ps.every((p) => p.spec.containers[0].image === 'nginx:1.28' && runningReady(p));
    }, 'all pods on the new image');
  } finally {
    inf.stop();
  }
  assert.ok(maxTotal <= 5, `never more than replicas + maxSurge pods (saw ${maxTotal})`);
  assert.ok(minReady >= 4, `never fewer than replicas - maxUnavailable ready pods (saw ${minReady})`);
});

test('rollout history, undo, pause/resume, restart', async () => {
  let hist = (await cl.kubectl(['rollout', 'history', 'deployment/web'])).stdout;
  assert.match(hist, /^1\s/m);
  assert.match(hist, /^2\s/m);
  const rev1 = (await cl.kubectl(['rollout', 'history', 'deployment/web', '--revision=1'])).stdout;
  assert.match(rev1, /nginx:1\.27/);

  await cl.kubectl(['rollout', 'undo', 'deployment/web']);
  await cl.kubectl(['rollout', 'status', 'deployment/web', '--timeout=90s']);
  await eventually(async () => (await webPods()).every((p) => p.spec.containers[0].image === 'nginx:1.27'), 'undo back to nginx:1.27');
  hist = (await cl.kubectl(['rollout', 'history', 'deployment/web'])).stdout;
  assert.match(hist, /^2\s/m);
  assert.match(hist, /^3\s/m);
  assert.doesNotMatch(hist, /^1\s/m, 'revision 1 became revision 3');

  await cl.kubectl(['rollout', 'pause', 'deployment/web']);
  await cl.kubectl(['set', 'image', 'deployment/web', 'web=nginx:1.29']);
  await eventually(async () => {
    const d = JSON.parse((await cl.kubectl(['get', 'deployment', 'web', '-o', 'json'])).stdout);
    return d.status.conditions?.some((c: { type: string; reason: string }) => c.type === 'Progressing' && c.reason === 'DeploymentPaused');
  }, 'DeploymentPaused condition');
  assert.ok((await webPods()).every((p) => p.spec.containers[0].image === 'nginx:1.27'), 'a paused deployment does not roll');
  await cl.kubectl(['rollout', 'resume', 'deployment/web']);
  await cl.kubectl(['rollout', 'status', 'deployment/web', '--timeout=90s']);
  await eventually(async () => (await webPods()).every((p) => p.spec.containers[0].image === 'nginx:1.29'), 'resumed rollout');

  const beforeNames = new Set((await webPods()).map((p) => p.metadata.name));
  await cl.kubectl(['rollout', 'restart', 'deployment/web']);
  await cl.kubectl(['rollout', 'status', 'deployment/web', '--timeout=90s']);
  await eventually(async () => {
    const ps = await webPods();
    return ps.length === 4 && ps.every((p) => !beforeNames.has(p.metadata.name) && runningReady(p));
  }, 'all pods replaced by restart');
  const desc = (await cl.kubectl(['describe', 'deployment', 'web'])).stdout;
  assert.match(desc, /NewReplicaSetAvailable/);
  assert.match(desc, /MinimumReplicasAvailable/);
});

test('an unschedulable pod gets FailedScheduling with the upstream message and PodScheduled=False', async () => {
  await cl.kubectl(['run', 'big', '--image=nginx', '--restart=Never', '--overrides', '{"spec":{"containers":[{"name":"big","image":"nginx","resources":{"requests":{"memory":"1Ti"}}}]}}']);
  const ev = await eventually(async () => {
    const out = JSON.parse((await cl.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=big', '-o', 'json'])).stdout);
    return out.items.find((e: { reason: string }) => e.reason === 'FailedScheduling');
  }, 'FailedScheduling event');
  assert.equal(ev.message, '0/1 nodes are available: 1 Insufficient memory.');
  assert.equal(ev.type, 'Warning');
  assert.equal(ev.source?.component, 'default-scheduler');
  const pod = await eventually(async () => {
    const p = JSON.parse((await cl.kubectl(['get', 'pod', 'big', '-o', 'json'])).stdout);
    return p.status?.conditions?.find((c: { type: string }) => c.type === 'PodScheduled') && p;
  }, 'PodScheduled condition');
  const cond = pod.status.conditions.find((c: { type: string }) => c.type === 'PodScheduled');
  assert.deepEqual([cond.status, cond.reason], ['False', 'Unschedulable']);
  const desc = (await cl.kubectl(['describe', 'pod', 'big'])).stdout;
  assert.match(desc, /FailedScheduling .*0\/1 nodes are available: 1 Insufficient memory\./);
  // A bigger node arrives → the pod gets scheduled without anyone touching it.
  const { addFakeNode } = await import('./testing/cluster');
  await addFakeNode(cl.client, 'node-big', { memory: '2Ti' });
  await eventually(async () => JSON.parse((await cl.kubectl(['get', 'pod', 'big', '-o', 'json'])).stdout).spec.nodeName === 'node-big', 'pod bound to the new node');
  // node-big has no (fake) kubelet: take it away again so later tests only use node-1.
  await cl.kubectl(['delete', 'pod', 'big', '--wait=false']);
  await cl.kubectl(['delete', 'node', 'node-big']);
});

test('Recreate never runs old and new pods together', async () => {
  await cl.kubectl(['apply', '-f', '-'], {
    input: SEED.replace(/name: web/g, 'name: rec').replace(/app: web/g, 'app: rec').replace('replicas: 3', 'replicas: 2\n  strategy: {type: Recreate}'),
  });
  await cl.kubectl(['rollout', 'status', 'deployment/rec', '--timeout=90s']);
  const inf = new Informer<Pod>(cl.client, RESOURCES.pods, { namespace: 'default', labelSelector: 'app=rec' });
  let mixed = false;
  const observe = () => {
    const images = new Set(inf.cache.list().filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').map((p) => p.spec.containers[0].image));
    if (images.size > 1) mixed = true;
  };
  inf.addEventHandler({ add: observe, update: observe, delete: observe });
  inf.start();
  await inf.waitForSync();
  try {
    await cl.kubectl(['set', 'image', 'deployment/rec', 'rec=nginx:1.28']);
    await cl.kubectl(['rollout', 'status', 'deployment/rec', '--timeout=90s']);
    await eventually(async () => {
      const ps = (await cl.client.list<Pod>(RESOURCES.pods, { namespace: 'default', labelSelector: 'app=rec' })).items.filter((p) => !p.metadata.deletionTimestamp);
      return ps.length === 2 && ps.every((p) => p.spec.containers[0].image === 'nginx:1.28' && runningReady(p));
    }, 'recreated pods');
  } finally {
    inf.stop();
  }
  assert.equal(mixed, false, 'old and new pods existed at the same time');
});

test('a rollout that makes no progress reports ProgressDeadlineExceeded and rollout status fails', async () => {
  // The fake kubelet leaves pods labelled ready=never not ready (a stand-in for a failing readiness probe).
  await cl.kubectl(['apply', '-f', '-'], {
    input: SEED.replace(/name: web/g, 'name: stuck').replace(/app: web/g, 'app: stuck').replace('replicas: 3', 'replicas: 1\n  progressDeadlineSeconds: 2').replace('labels: {app: stuck}\n    spec', 'labels: {app: stuck, ready: never}\n    spec'),
  });
  const res = await cl.kubectl(['rollout', 'status', 'deployment/stuck', '--timeout=90s'], { allowFail: true });
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /exceeded its progress deadline/);
  const d = JSON.parse((await cl.kubectl(['get', 'deployment', 'stuck', '-o', 'json'])).stdout);
  const prog = d.status.conditions.find((c: { type: string }) => c.type === 'Progressing');
  assert.deepEqual([prog.status, prog.reason], ['False', 'ProgressDeadlineExceeded']);
  assert.equal(d.status.conditions.find((c: { type: string }) => c.type === 'Available').reason, 'MinimumReplicasUnavailable');
});
