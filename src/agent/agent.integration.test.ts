/**
 * End to end with the real kubectl and docker CLIs against `skiff server` running its node (engine +
 * agent + scheduler + controllers in one process): the seed Deployment converges to 3 labelled containers,
 * self-heals (pod deleted, container killed from outside), crash loops back off, probes gate Ready and
 * restart, init containers, env/configMap/secret/downward volumes (a configMap update shows up in the
 * file), logs -f/--previous, exec with stdin and exit codes, kubectl top, an unknown image, and crashes of
 * the whole server (kill -9) adopt running pods without restarts, duplicates or leaks.
 * Root only (runc, netns, mounts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { startNodeCluster, eventually, type NodeCluster } from './testing/node-cluster';
import { leftoverCgroups, runcIds } from '../engine/containers/test-support';

const root = process.getuid?.() === 0;

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
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: busybox
        command: ["httpd", "-f", "-p", "8080"]
        ports:
        - containerPort: 8080
`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

let cl: NodeCluster;

before(async () => {
  if (!root) return;
  cl = await startNodeCluster();
});

after(async () => {
  await cl?.stop();
});

async function getJson(args: string[]): Promise<Obj> {
  return JSON.parse((await cl.kubectl([...args, '-o', 'json'])).stdout);
}

async function pods(selector: string): Promise<Obj[]> {
  return (await getJson(['get', 'pods', '-l', selector])).items.filter((p: Obj) => !p.metadata.deletionTimestamp);
}

const ready = (p: Obj) => p.status?.phase === 'Running' && p.status.conditions?.some((c: Obj) => c.type === 'Ready' && c.status === 'True');

function httpGet(ip: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: ip, port, path: '/', timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function dockerPs(): Promise<Array<{ id: string; name: string; labels: string; status: string }>> {
  const out = (await cl.docker(['ps', '--no-trunc', '--format', '{{.ID}}\t{{.Names}}\t{{.Labels}}\t{{.Status}}'])).stdout;
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id, name, labels, status] = l.split('\t');
      return { id, name, labels, status };
    });
}

test('the node registers with capacity, conditions, nodeInfo and a lease', { skip: !root }, async () => {
  const nodes = (await getJson(['get', 'nodes'])).items;
  assert.equal(nodes.length, 1);
  const n = nodes[0];
  for (const k of ['cpu', 'memory', 'pods', 'ephemeral-storage']) assert.ok(n.status.allocatable[k], k);
  assert.deepEqual(n.status.conditions.map((c: Obj) => `${c.type}=${c.status}`).sort(), ['DiskPressure=False', 'MemoryPressure=False', 'PIDPressure=False', 'Ready=True']);
  assert.match(n.status.nodeInfo.containerRuntimeVersion, /^skiff:\/\//);
  assert.equal(n.status.nodeInfo.kubeletVersion, 'v1.32.0-skiff');
  assert.deepEqual(n.status.addresses.map((a: Obj) => a.type).sort(), ['Hostname', 'InternalIP']);
  const lease = await eventually(async () => (await getJson(['get', 'lease', '-n', 'kube-node-lease', n.metadata.name])).spec, 'lease');
  assert.equal(lease.holderIdentity, n.metadata.name);
});

test('the seed Deployment converges to 3 running, labelled containers that answer on their pod IPs', { skip: !root }, async () => {
  await cl.kubectl(['apply', '-f', '-'], { input: SEED });
  await cl.kubectl(['rollout', 'status', 'deployment/web', '--timeout=120s']);
  const ps = await eventually(async () => {
    const p = await pods('app=web');
    return p.length === 3 && p.every(ready) && p;
  }, '3 ready pods');
  const containers = await eventually(async () => {
    const c = (await dockerPs()).filter((x) => x.labels.includes('io.kubernetes.container.name=web'));
    return c.length === 3 && c;
  }, '3 containers in docker ps');
  for (const p of ps) {
    const c = containers.find((x) => x.labels.includes(`io.kubernetes.pod.uid=${p.metadata.uid}`));
    assert.ok(c, `container of ${p.metadata.name}`);
    assert.ok(c.labels.includes(`io.kubernetes.pod.name=${p.metadata.name}`));
    assert.ok(c.labels.includes('io.kubernetes.pod.namespace=default'));
    assert.equal(p.status.containerStatuses[0].containerID, `skiff://${c.id}`);
    assert.match(p.status.podIP, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(await eventually(() => httpGet(p.status.podIP, 8080).catch(() => 0), 'httpd answers'), 404);
  }
  assert.equal(new Set(ps.map((p) => p.status.podIP)).size, 3, 'one IP per pod');
});

test('a deleted pod is replaced and its containers go', { skip: !root }, async () => {
  const [victim] = await pods('app=web');
  await cl.kubectl(['delete', 'pod', victim.metadata.name]);
  await eventually(async () => {
    const p = await pods('app=web');
    return p.length === 3 && p.every(ready) && !p.some((x) => x.metadata.name === victim.metadata.name);
  }, 'replacement pod');
  await eventually(async () => !(await dockerPs()).some((c) => c.labels.includes(victim.metadata.uid)), 'old containers removed', 60_000);
});

test('a container killed from outside is restarted in place (restartCount 1)', { skip: !root }, async () => {
  const [p] = await pods('app=web');
  const before = p.status.containerStatuses[0].containerID.replace('skiff://', '');
  await cl.docker(['kill', before]);
  const after = await eventually(async () => {
    const cur = (await getJson(['get', 'pod', p.metadata.name])) as Obj;
    const s = cur.status.containerStatuses[0];
    return s.restartCount === 1 && s.state.running && ready(cur) && cur;
  }, 'restarted container');
  const s = after.status.containerStatuses[0];
  assert.notEqual(s.containerID, `skiff://${before}`);
  assert.equal(s.lastState.terminated.exitCode, 137);
  assert.equal(s.lastState.terminated.reason, 'Error');
  assert.equal((await pods('app=web')).length, 3, 'no new pod');
});

test('a failing command goes into CrashLoopBackOff; logs --previous shows the last run', { skip: !root }, async () => {
  await cl.kubectl(['run', 'crash', '--image=busybox', '--restart=Always', '--command', '--', 'sh', '-c', 'echo run at $(date +%s); exit 3']);
  const st = await eventually(async () => {
    const p = await getJson(['get', 'pod', 'crash']);
    const s = p.status?.containerStatuses?.[0];
    return s?.state?.waiting?.reason === 'CrashLoopBackOff' && s;
  }, 'CrashLoopBackOff');
  assert.ok(st.restartCount >= 1);
  assert.equal(st.lastState.terminated.exitCode, 3);
  assert.match(st.state.waiting.message, /^back-off \d+s restarting failed container=crash pod=crash_default\(/);
  const table = (await cl.kubectl(['get', 'pod', 'crash'])).stdout;
  assert.match(table, /CrashLoopBackOff/);
  const prev = await cl.kubectl(['logs', 'crash', '--previous']);
  assert.match(prev.stdout, /^run at \d+\n$/);
  const events = (await cl.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=crash'])).stdout;
  assert.match(events, /BackOff/);
  await cl.kubectl(['delete', 'pod', 'crash', '--wait=false']);
});

test('restartPolicy Never/OnFailure: completed and failed pods', { skip: !root }, async () => {
  await cl.kubectl(['run', 'ok', '--image=busybox', '--restart=Never', '--', 'true']);
  await cl.kubectl(['run', 'bad', '--image=busybox', '--restart=Never', '--', 'sh', '-c', 'exit 7']);
  await cl.kubectl(['run', 'retry', '--image=busybox', '--restart=OnFailure', '--', 'sh', '-c', 'test -f /tmp/x || { touch /tmp/x; exit 1; }']);
  await eventually(async () => (await getJson(['get', 'pod', 'ok'])).status?.phase === 'Succeeded', 'ok Succeeded');
  const bad = await eventually(async () => {
    const p = await getJson(['get', 'pod', 'bad']);
    return p.status?.phase === 'Failed' && p;
  }, 'bad Failed');
  assert.equal(bad.status.containerStatuses[0].state.terminated.exitCode, 7);
  assert.equal(bad.status.containerStatuses[0].restartCount, 0);
  // OnFailure: the container's filesystem is new on each attempt, so it fails again and keeps restarting.
  await eventually(async () => (await getJson(['get', 'pod', 'retry'])).status?.containerStatuses?.[0]?.restartCount >= 1, 'retry restarted');
  await cl.kubectl(['delete', 'pod', 'ok', 'bad', 'retry', '--wait=false']);
});

test('readiness gates Ready; liveness restarts the container', { skip: !root }, async () => {
  const manifest = `apiVersion: v1
kind: Pod
metadata: {name: probes}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "touch /tmp/alive; exec sleep 3600"]
    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
    livenessProbe:
      exec: {command: ["cat", "/tmp/alive"]}
      periodSeconds: 1
      failureThreshold: 2
`;
  await cl.kubectl(['apply', '-f', '-'], { input: manifest });
  await eventually(async () => (await getJson(['get', 'pod', 'probes'])).status?.containerStatuses?.[0]?.state?.running, 'running');
  // Not ready while the readiness probe fails.
  const p1 = await getJson(['get', 'pod', 'probes']);
  assert.equal(p1.status.containerStatuses[0].ready, false);
  assert.equal(p1.status.conditions.find((c: Obj) => c.type === 'Ready').status, 'False');
  await cl.kubectl(['exec', 'probes', '--', 'touch', '/tmp/ready']);
  await eventually(async () => ready(await getJson(['get', 'pod', 'probes'])), 'Ready after the probe passes');
  await cl.kubectl(['exec', 'probes', '--', 'rm', '/tmp/alive']);
  const p2 = await eventually(async () => {
    const p = await getJson(['get', 'pod', 'probes']);
    return p.status.containerStatuses[0].restartCount >= 1 && p;
  }, 'liveness restart');
  assert.equal(p2.status.containerStatuses[0].lastState.terminated.exitCode, 137);
  const events = (await cl.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=probes'])).stdout;
  assert.match(events, /Liveness probe failed/);
  await cl.kubectl(['delete', 'pod', 'probes', '--wait=false']);
});

test('init containers, env sources and projected volumes; a configMap update appears in the file', { skip: !root }, async () => {
  const manifest = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: hello, other: x}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData: {password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: full, labels: {tier: one}}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: init1
    image: busybox
    command: ["sh", "-c", "echo from-init > /work/init.txt"]
    volumeMounts: [{name: work, mountPath: /work}]
  - name: init2
    image: busybox
    command: ["sh", "-c", "cat /work/init.txt > /work/init2.txt"]
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
    env:
    - {name: A, value: "1"}
    - {name: B, value: "$(A)-2"}
    - name: POD
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: G
      valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}
    - name: P
      valueFrom: {secretKeyRef: {name: sec, key: password}}
    - name: MEM
      valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
    envFrom:
    - {configMapRef: {name: cfg}, prefix: CM_}
    resources:
      limits: {memory: 64Mi, cpu: 500m}
      requests: {memory: 32Mi, cpu: 100m}
    volumeMounts:
    - {name: work, mountPath: /work}
    - {name: cfgvol, mountPath: /etc/cfg}
    - {name: secvol, mountPath: /etc/sec}
    - {name: mem, mountPath: /mem}
    - {name: down, mountPath: /etc/podinfo}
  volumes:
  - {name: work, emptyDir: {}}
  - {name: mem, emptyDir: {medium: Memory}}
  - {name: cfgvol, configMap: {name: cfg}}
  - {name: secvol, secret: {secretName: sec}}
  - name: down
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
`;
  await cl.kubectl(['apply', '-f', '-'], { input: manifest });
  const pod = await eventually(async () => {
    const p = await getJson(['get', 'pod', 'full']);
    return ready(p) && p;
  }, 'full Ready');
  assert.deepEqual(
    pod.status.initContainerStatuses.map((s: Obj) => `${s.name}:${s.state.terminated?.reason}`),
    ['init1:Completed', 'init2:Completed'],
  );
  assert.equal(pod.status.qosClass, 'Burstable');
  const sh = (cmd: string) => cl.kubectl(['exec', 'full', '--', 'sh', '-c', cmd]).then((r) => r.stdout);
  const env = await sh('env | sort');
  for (const kv of ['A=1', 'B=1-2', 'POD=full', 'G=hello', 'P=s3cret', 'MEM=64', 'CM_greeting=hello', 'CM_other=x']) assert.ok(env.split('\n').includes(kv), `${kv} in\n${env}`);
  assert.equal(await sh('cat /work/init2.txt'), 'from-init\n');
  assert.equal(await sh('cat /etc/cfg/greeting'), 'hello');
  assert.equal(await sh('cat /etc/sec/password'), 's3cret');
  assert.equal(await sh('cat /etc/podinfo/labels'), 'tier="one"');
  assert.match(await sh('mount | grep " /mem "'), /tmpfs/);
  assert.equal((await sh('cat /sys/fs/cgroup/memory/memory.limit_in_bytes')).trim(), String(64 * 1024 * 1024));
  await cl.kubectl(['patch', 'configmap', 'cfg', '--type=merge', '-p', '{"data":{"greeting":"bonjour"}}']);
  await eventually(async () => (await sh('cat /etc/cfg/greeting')) === 'bonjour', 'updated file in the container', 60_000);
  await cl.kubectl(['delete', 'pod', 'full', '--wait=false']);
});

test('logs -f, --tail, --timestamps, -c; logs deploy/x picks a pod', { skip: !root }, async () => {
  await cl.kubectl(['run', 'talker', '--image=busybox', '--', 'sh', '-c', 'i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done']);
  await eventually(async () => (await cl.kubectl(['logs', 'talker'], { allowFail: true })).stdout.includes('line 3'), 'some lines');
  const tail = (await cl.kubectl(['logs', 'talker', '--tail=2', '--timestamps'])).stdout.trim().split('\n');
  assert.equal(tail.length, 2);
  for (const l of tail) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line \d+$/);
  // -f keeps streaming new lines until stopped.
  const f = await cl.kubectl(['logs', '-f', 'talker', '-c', 'talker', '--tail=1'], { allowFail: true, timeoutMs: 3000 });
  const lines = f.stdout.trim().split('\n');
  assert.ok(lines.length >= 3, `follow streamed: ${f.stdout}`);
  const nums = lines.map((l) => Number(l.split(' ')[1]));
  for (let i = 1; i < nums.length; i++) assert.equal(nums[i], nums[i - 1] + 1);
  await cl.kubectl(['delete', 'pod', 'talker', '--wait=false']);
  const dep = await cl.kubectl(['logs', 'deploy/web']);
  assert.equal(dep.code, 0);
});

test('exec: exit codes, stdin, separate stderr, a tty with -it', { skip: !root }, async () => {
  const [p] = await pods('app=web');
  const name = p.metadata.name;
  const r = await cl.kubectl(['exec', name, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { allowFail: true });
  assert.equal(r.code, 3);
  assert.equal(r.stdout, 'out\n');
  assert.match(r.stderr, /^err\n/);
  const i = await cl.kubectl(['exec', '-i', name, '--', 'sh'], { input: 'echo got-$((40+2))\nexit 0\n', timeoutMs: 30_000 });
  assert.equal(i.stdout, 'got-42\n');
  const t = await cl.sh(`script -qec "kubectl --kubeconfig ${cl.kubeconfig} exec -it ${name} -- sh -c 'test -t 0 && echo is-a-tty; exit 4'" /dev/null < /dev/null`, { allowFail: true, timeoutMs: 30_000 });
  assert.match(t.stdout, /is-a-tty/);
  assert.equal(t.code, 4);
});

test('kubectl top pods and nodes', { skip: !root }, async () => {
  const pt = await eventually(async () => {
    const r = await cl.kubectl(['top', 'pods', '-l', 'app=web'], { allowFail: true });
    return r.code === 0 && r.stdout.split('\n').filter((l) => l.startsWith('web-')).length === 3 && r.stdout;
  }, 'top pods');
  assert.match(pt, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
  const nt = (await cl.kubectl(['top', 'nodes'])).stdout;
  assert.match(nt, /^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)/);
  assert.equal(nt.trim().split('\n').length, 2);
});

test('an image that does not exist yields ErrImagePull then ImagePullBackOff', { skip: !root }, async () => {
  await cl.kubectl(['run', 'noimage', '--image=registry.invalid/none:1.0']);
  const seen = new Set<string>();
  await eventually(async () => {
    const s = (await getJson(['get', 'pod', 'noimage'])).status?.containerStatuses?.[0];
    if (s?.state?.waiting?.reason) seen.add(s.state.waiting.reason);
    return seen.has('ImagePullBackOff') && s;
  }, 'ImagePullBackOff');
  assert.equal((await getJson(['get', 'pod', 'noimage'])).status.phase, 'Pending');
  const events = (await cl.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=noimage'])).stdout;
  assert.match(events, /ErrImagePull/);
  await cl.kubectl(['delete', 'pod', 'noimage', '--wait=false']);
});

test('postStart and preStop hooks run; SIGTERM then the grace period on delete', { skip: !root }, async () => {
  const hostDir = `${cl.dir}/hooks`;
  const manifest = `apiVersion: v1
kind: Pod
metadata: {name: hooks}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "trap 'echo term > /host/term; exit 0' TERM; while true; do sleep 0.2; done"]
    lifecycle:
      postStart: {exec: {command: ["sh", "-c", "echo started > /host/poststart"]}}
      preStop: {exec: {command: ["sh", "-c", "echo bye > /host/prestop"]}}
    volumeMounts: [{name: host, mountPath: /host}]
  volumes:
  - name: host
    hostPath: {path: ${hostDir}, type: DirectoryOrCreate}
`;
  await cl.kubectl(['apply', '-f', '-'], { input: manifest });
  await eventually(async () => ready(await getJson(['get', 'pod', 'hooks'])), 'hooks Ready');
  await eventually(() => fs.existsSync(`${hostDir}/poststart`), 'postStart ran');
  await cl.kubectl(['delete', 'pod', 'hooks', '--wait=false']);
  await eventually(() => fs.existsSync(`${hostDir}/prestop`) && fs.existsSync(`${hostDir}/term`), 'preStop then SIGTERM', 60_000);
  assert.ok(fs.statSync(`${hostDir}/prestop`).mtimeMs <= fs.statSync(`${hostDir}/term`).mtimeMs, 'preStop before SIGTERM');
});

test('a container over its memory limit is OOMKilled', { skip: !root }, async () => {
  const manifest = `apiVersion: v1
kind: Pod
metadata: {name: oom}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\\\0' a); echo \${#x}"]
    resources: {limits: {memory: 16Mi}}
`;
  await cl.kubectl(['apply', '-f', '-'], { input: manifest });
  const t = await eventually(async () => (await getJson(['get', 'pod', 'oom'])).status?.containerStatuses?.[0]?.state?.terminated, 'oom terminated');
  assert.equal(t.reason, 'OOMKilled');
  assert.equal(t.exitCode, 137);
  assert.equal((await getJson(['get', 'pod', 'oom'])).status.phase, 'Failed');
  await cl.kubectl(['delete', 'pod', 'oom', '--wait=false']);
});

test('server killed -9 and restarted: running pods are adopted (same containers), nothing duplicated or leaked', { skip: !root }, async () => {
  const before = await pods('app=web');
  const ids = new Map(before.map((p) => [p.metadata.name, p.status.containerStatuses[0].containerID]));
  const restarts = new Map(before.map((p) => [p.metadata.name, p.status.containerStatuses[0].restartCount]));
  await cl.kill9();
  await cl.restart();
  await eventually(async () => {
    const p = await pods('app=web');
    return p.length === 3 && p.every(ready) && p;
  }, 'pods ready after restart');
  // Give the agent a few sync rounds: it must not restart or duplicate anything.
  await new Promise((r) => setTimeout(r, 3000));
  const after = await pods('app=web');
  assert.equal(after.length, 3);
  for (const p of after) {
    assert.equal(p.status.containerStatuses[0].containerID, ids.get(p.metadata.name), `${p.metadata.name} kept its container`);
    assert.equal(p.status.containerStatuses[0].restartCount, restarts.get(p.metadata.name));
  }
  const web = (await dockerPs()).filter((c) => c.labels.includes('io.kubernetes.container.name=web'));
  assert.equal(web.length, 3, 'exactly 3 running web containers');
  // The scale and self-heal loops still work after the restart.
  await cl.kubectl(['scale', 'deployment/web', '--replicas=1']);
  await eventually(async () => (await pods('app=web')).length === 1, 'scaled to 1');
  await eventually(async () => (await dockerPs()).filter((c) => c.labels.includes('io.kubernetes.container.name=web')).length === 1, 'containers follow', 60_000);
});

test('deleting everything leaves no containers, sandboxes or volumes behind', { skip: !root }, async () => {
  await cl.kubectl(['delete', 'deployment', 'web']);
  await cl.kubectl(['delete', 'pods', '--all', '--wait=false']);
  await eventually(async () => (await cl.docker(['ps', '-aq'])).stdout.trim() === '', 'no containers', 90_000);
  await eventually(() => {
    const netns = fs.existsSync(`${cl.runDir}/pod-network/netns`) ? fs.readdirSync(`${cl.runDir}/pod-network/netns`) : [];
    const vols = fs.existsSync(`${cl.dataDir}/agent/pods`) ? fs.readdirSync(`${cl.dataDir}/agent/pods`) : [];
    return netns.length === 0 && vols.length === 0;
  }, 'no netns, no pod volumes', 30_000);
  // The runtime leftovers of the killed containers (runc state, cgroups), which the deferred cleanup removes.
  await eventually(() => runcIds(cl.runDir).length === 0 && leftoverCgroups(cl.runDir).length === 0, 'no runc state, no cgroups', 30_000);
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(cl.dir) && l.includes('/agent/pods/'));
  assert.deepEqual(mounts, []);
});
