/**
 * `kubectl port-forward` (the real kubectl 1.32) against `skiff server` with its node: pod/, deploy/ and
 * svc/ targets, several ports at once, local:remote mapping, the WebSocket tunnel (kubectl's default) and
 * plain SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false), a server bound to the pod's 127.0.0.1, and a refused
 * port reported on the error stream.
 * Traffic stays on loopback (kubectl's listeners) and the node's pod bridge. Root only.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { startNodeCluster, eventually, type NodeCluster } from './testing/node-cluster';

const root = process.getuid?.() === 0;

const MANIFESTS = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: pf
spec:
  replicas: 1
  selector:
    matchLabels: {app: pf}
  template:
    metadata:
      labels: {app: pf}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: busybox
        command: ["sh", "-c", "mkdir -p /www && echo hello-from-pod > /www/index.html && httpd -p 8080 -h /www && httpd -p 127.0.0.1:8081 -h /www && exec nc -ll -p 9000 -e cat"]
        ports:
        - {name: http, containerPort: 8080}
        - {name: echo, containerPort: 9000}
---
apiVersion: v1
kind: Service
metadata:
  name: pf
spec:
  selector: {app: pf}
  ports:
  - {name: http, port: 80, targetPort: http}
`;

let cl: NodeCluster;
let pod = '';

before(async () => {
  if (!root) return;
  cl = await startNodeCluster();
  await cl.kubectl(['apply', '-f', '-'], { input: MANIFESTS });
  pod = await eventually(async () => {
    const items = JSON.parse((await cl.kubectl(['get', 'pods', '-l', 'app=pf', '-o', 'json'])).stdout).items as Array<{
      metadata: { name: string };
      status?: { phase?: string; podIP?: string; conditions?: Array<{ type: string; status: string }> };
    }>;
    const p = items.find((i) => i.status?.phase === 'Running' && i.status.podIP && i.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return p?.metadata.name;
  }, 'pf pod running');
});

after(async () => {
  await cl?.stop();
});

interface Forward {
  proc: ChildProcess;
  out(): string;
  /** The local ports kubectl bound, in the order given. */
  ports: number[];
  stop(): Promise<void>;
}

/** Starts `kubectl port-forward TARGET SPECS...` and waits until every port printed "Forwarding from". */
async function portForward(target: string, specs: string[], env: NodeJS.ProcessEnv = {}): Promise<Forward> {
  const proc = spawn('kubectl', ['--kubeconfig', cl.kubeconfig, '-v=6', 'port-forward', '--address', '127.0.0.1', target, ...specs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const f: Forward = {
    proc,
    out: () => out,
    ports: [],
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  try {
    await eventually(() => {
      if (proc.exitCode !== null) throw new Error(`kubectl exited ${proc.exitCode}: ${out}`);
      const m = [...out.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) ->/g)];
      return m.length >= specs.length && m.map((x) => Number(x[1]));
    }, `kubectl port-forward ${target} ready`, 30_000).then((p) => f.ports.push(...p));
  } catch (e) {
    await f.stop();
    throw e;
  }
  return f;
}

/** One TCP exchange through a forwarded local port: send `input` (then FIN), read until the peer closes. */
function exchange(port: number, input: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer through port ${port} (got ${JSON.stringify(got)})`));
    }, timeoutMs);
    s.on('connect', () => s.end(input));
    s.on('data', (d) => (got += d));
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

const httpGet = (port: number) => exchange(port, 'GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n');

for (const [mode, env] of [
  ['WebSocket tunnel (default)', {}],
  ['plain SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }],
] as const) {
  test(`port-forward pod/NAME with two ports (local:remote and :remote), ${mode}`, { skip: !root, timeout: 120_000 }, async () => {
    const f = await portForward(`pod/${pod}`, ['0:8080', ':9000'], env);
    try {
      const [web, echo] = f.ports;
      const res = await httpGet(web);
      assert.match(res, /^HTTP\/1\.[01] 200/);
      assert.match(res, /hello-from-pod/);
      // Several connections in a row, and concurrently, over the one session.
      const all = await Promise.all([httpGet(web), exchange(echo, 'ping-1\n'), exchange(echo, 'ping-2\n')]);
      assert.match(all[0], /hello-from-pod/);
      assert.equal(all[1], 'ping-1\n');
      assert.equal(all[2], 'ping-2\n');
      // A larger payload both ways (many DATA frames, backpressure).
      const big = 'x'.repeat(1 << 20) + '\n';
      assert.equal((await exchange(echo, big, 60_000)).length, big.length);
      assert.match(f.out(), /Handling connection for/);
      // Which transport kubectl ended up on (its -v=6 request log): no silent fallback.
      if ('KUBECTL_PORT_FORWARD_WEBSOCKETS' in env) assert.match(f.out(), /POST \S+\/portforward 101/);
      else {
        assert.match(f.out(), /GET \S+\/portforward 101/);
        assert.doesNotMatch(f.out(), /fallback/);
      }
    } finally {
      await f.stop();
    }
  });
}

test('a server bound to 127.0.0.1 inside the pod is reached (as the kubelet dials localhost in the pod netns)', { skip: !root, timeout: 120_000 }, async () => {
  const f = await portForward(`pod/${pod}`, [':8081']);
  try {
    assert.match(await httpGet(f.ports[0]), /hello-from-pod/);
    assert.match(await httpGet(f.ports[0]), /hello-from-pod/);
  } finally {
    await f.stop();
  }
});

test('port-forward deploy/NAME and svc/NAME (service port → the pod’s named targetPort)', { skip: !root, timeout: 120_000 }, async () => {
  const d = await portForward('deploy/pf', [':8080']);
  try {
    assert.match(await httpGet(d.ports[0]), /hello-from-pod/);
  } finally {
    await d.stop();
  }
  const s = await portForward('svc/pf', [':80']);
  try {
    assert.match(s.out(), /-> 8080/);
    assert.match(await httpGet(s.ports[0]), /hello-from-pod/);
  } finally {
    await s.stop();
  }
});

for (const [mode, env] of [
  ['WebSocket', {}],
  ['SPDY', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }],
] as const) {
  test(`a port nothing listens on: the error comes back on the error stream (${mode})`, { skip: !root, timeout: 120_000 }, async () => {
    const f = await portForward(`pod/${pod}`, [':81'], env);
    try {
      const got = await exchange(f.ports[0], 'GET / HTTP/1.0\r\n\r\n').catch(() => '');
      assert.equal(got, '');
      await eventually(() => /error forwarding port 81 to pod .*, uid : .*connection refused/.test(f.out()), 'the error printed by kubectl', 15_000);
      // kubectl ≥ 1.31 itself drops the whole session after any forwarding error (client-go's
      // handleConnection closes streamConn): that exit is the client's choice, not the server's. (The
      // server keeps the session: src/agent/portforward.test.ts.)
      await eventually(() => f.proc.exitCode !== null, 'kubectl to give up', 15_000);
      assert.match(f.out(), /lost connection to pod/);
    } finally {
      await f.stop();
    }
  });
}
