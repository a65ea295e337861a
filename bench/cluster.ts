/**
 * Cluster benchmark: `skiff server` with its node (engine + agent + scheduler + controllers in one process)
 * on a temp data dir, busybox loaded, driven through the Kubernetes API like kubectl would.
 *
 *   node dist/bench/cluster.js [--rounds 3] [--churn-seconds 10] [--rate 20]
 *
 * Phases (each a median over --rounds where it repeats):
 *   create 10      — Deployment of 10 replicas created → all 10 pods Ready (watch), then deleted
 *   scale 10→50    — a ready 10-replica Deployment scaled to 50 → 50 Ready
 *   replace killed — a pod's container SIGKILLed through the engine's Docker API → the pod Ready again
 *   churn          — bare pods created at --rate/s for --churn-seconds, each deleted once Ready; startup
 *                    latency = creation request sent → Ready seen on a watch (p50/p99)
 *   idle RSS       — VmRSS of the server process (API + store + scheduler + controllers + engine + agent)
 *                    with 3 idle pods on a fresh node, and again after all phases (conmon monitors are
 *                    separate ~2 MB processes, not counted)
 *
 * Docker Swarm is not run side by side here (no dockerd on this machine); BENCHMARKS.md quotes the Swarm
 * figures measured for the issue on this VM.
 */
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { RESOURCES } from '../src/client/resources';
import type { KubeClient } from '../src/client/client';
import { startNodeCluster, type NodeCluster } from '../src/agent/testing/node-cluster';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const isReady = (p: Obj) => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');

/** Watches pods with a selector and calls back on every event with the current map (name → pod). */
async function watchPods(client: KubeClient, selector: string, onChange: (pods: Map<string, Obj>, ev: { type: string; pod: Obj; t: number }) => void): Promise<() => void> {
  const list = await client.list(RESOURCES.pods, { namespace: 'default', labelSelector: selector });
  const pods = new Map<string, Obj>(list.items.map((p) => [p.metadata.name!, p]));
  const ac = new AbortController();
  const stream = await client.watch(RESOURCES.pods, { namespace: 'default', labelSelector: selector, resourceVersion: list.metadata.resourceVersion, signal: ac.signal });
  void (async () => {
    try {
      for await (const ev of stream) {
        if (ev.type === 'BOOKMARK') continue;
        const p = ev.object as Obj;
        if (ev.type === 'DELETED') pods.delete(p.metadata.name);
        else pods.set(p.metadata.name, p);
        onChange(pods, { type: ev.type, pod: p, t: performance.now() });
      }
    } catch {
      /* aborted */
    }
  })();
  return () => ac.abort();
}

function waitFor(client: KubeClient, selector: string, pred: (pods: Obj[]) => boolean, timeoutMs = 300_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let stop: (() => void) | undefined;
    const t = setTimeout(() => {
      stop?.();
      reject(new Error(`timeout waiting on ${selector}`));
    }, timeoutMs);
    void watchPods(client, selector, (pods) => {
      if (pred([...pods.values()].filter((p) => !p.metadata.deletionTimestamp))) {
        clearTimeout(t);
        stop?.();
        resolve(performance.now());
      }
    }).then((s) => (stop = s));
  });
}

function deployment(name: string, replicas: number): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
      },
    },
  };
}

async function deleteDeployment(cl: NodeCluster, name: string): Promise<void> {
  await cl.client.delete(RESOURCES.deployments, 'default', name, { propagationPolicy: 'Background' }).catch(() => undefined);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const ps = await cl.client.list(RESOURCES.pods, { namespace: 'default', labelSelector: `app=${name}` });
    const running = (await cl.docker(['ps', '-q', '--filter', `label=io.kubernetes.pod.namespace=default`])).stdout.trim();
    if (ps.items.length === 0 && running === '') return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function dockerKill(socket: string, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method: 'POST', path: `/v1.47/containers/${id}/kill` }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];

function rssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const rounds = arg('rounds', 3);
  const churnSeconds = arg('churn-seconds', 10);
  const rate = arg('rate', 20);
  const cl = await startNodeCluster();
  const out: Record<string, string> = {};
  try {
    const c = cl.client;
    // Warm-up: one pod through the whole path (discovery caches, first image mount).
    await c.create(RESOURCES.deployments, 'default', deployment('warm', 1));
    await waitFor(c, 'app=warm', (ps) => ps.length === 1 && ps.every(isReady));
    await deleteDeployment(cl, 'warm');
    // Idle RSS on a fresh node: 3 idle pods, 20 s of quiet (heartbeats, resyncs, metrics sampling).
    await c.create(RESOURCES.deployments, 'default', deployment('idle', 3));
    await waitFor(c, 'app=idle', (ps) => ps.length === 3 && ps.every(isReady));
    await new Promise((r) => setTimeout(r, 20_000));
    out['idle RSS of server+agent, fresh, 3 pods (MB)'] = rssMb(cl.pid()).toFixed(0);
    await deleteDeployment(cl, 'idle');
    process.stderr.write(`idle RSS done\n`);

    const create10: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const name = `c10-${r}`;
      const done = waitFor(c, `app=${name}`, (ps) => ps.length === 10 && ps.every(isReady));
      await new Promise((res) => setTimeout(res, 100)); // the watch is open
      const t0 = performance.now();
      await c.create(RESOURCES.deployments, 'default', deployment(name, 10));
      create10.push((await done) - t0);
      await deleteDeployment(cl, name);
    }
    process.stderr.write(`create 10 done\n`);
    out['create 10 replicas → all Ready (median s)'] = (median(create10) / 1000).toFixed(2);
    out['create 10 rounds (s)'] = create10.map((x) => (x / 1000).toFixed(2)).join(', ');

    const scale: number[] = [];
    for (let r = 0; r < Math.min(rounds, 2); r++) {
      const name = `s-${r}`;
      await c.create(RESOURCES.deployments, 'default', deployment(name, 10));
      await waitFor(c, `app=${name}`, (ps) => ps.length === 10 && ps.every(isReady));
      const done = waitFor(c, `app=${name}`, (ps) => ps.length === 50 && ps.every(isReady));
      await new Promise((res) => setTimeout(res, 100));
      const t0 = performance.now();
      await c.patch(RESOURCES.deployments, 'default', name, { spec: { replicas: 50 } }, 'merge', { subresource: 'scale' });
      scale.push((await done) - t0);
      if (r === 0) {
        // Replacement of killed containers, on this 50-pod deployment (a loaded node).
        const repl: number[] = [];
        const list = await c.list(RESOURCES.pods, { namespace: 'default', labelSelector: `app=${name}` });
        for (let k = 0; k < 5; k++) {
          const p = list.items[k] as Obj;
          const cid = String(p.status.containerStatuses[0].containerID).replace('skiff://', '');
          const count = p.status.containerStatuses[0].restartCount;
          const done2 = waitFor(c, `app=${name}`, (ps) => {
            const q = ps.find((x) => x.metadata.name === p.metadata.name);
            return !!q && isReady(q) && q.status.containerStatuses[0].restartCount === count + 1;
          });
          await new Promise((res) => setTimeout(res, 100));
          const t1 = performance.now();
          await dockerKill(cl.socket, cid);
          repl.push((await done2) - t1);
        }
        out['killed container → pod Ready again (median of 5, s)'] = (median(repl) / 1000).toFixed(2);
        out['replacement rounds (s)'] = repl.map((x) => (x / 1000).toFixed(2)).join(', ');
      }
      await deleteDeployment(cl, name);
    }
    out['scale 10→50 → all Ready (median s)'] = (median(scale) / 1000).toFixed(2);
    out['scale rounds (s)'] = scale.map((x) => (x / 1000).toFixed(2)).join(', ');

    // Churn: bare pods at `rate`/s, each deleted as soon as it is Ready.
    const sent = new Map<string, number>();
    const lat: number[] = [];
    const stop = await watchPods(c, 'bench=churn', (_pods, ev) => {
      const name = ev.pod.metadata.name;
      if (ev.type !== 'DELETED' && sent.has(name) && isReady(ev.pod)) {
        lat.push(ev.t - sent.get(name)!);
        sent.delete(name);
        void c.delete(RESOURCES.pods, 'default', name).catch(() => undefined);
      }
    });
    const total = churnSeconds * rate;
    const t0 = performance.now();
    const creates: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const name = `churn-${i}`;
      sent.set(name, performance.now());
      creates.push(
        c
          .create(RESOURCES.pods, 'default', {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name, labels: { bench: 'churn' } },
            spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
          })
          .catch((e) => process.stderr.write(`create ${name}: ${(e as Error).message}\n`)),
      );
    }
    await Promise.all(creates);
    const deadline = Date.now() + 120_000;
    while (lat.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    stop();
    out[`churn ${rate} pods/s × ${churnSeconds}s: pods Ready`] = `${lat.length}/${total}`;
    out['startup latency p50 (s)'] = (pct(lat, 50) / 1000).toFixed(2);
    out['startup latency p99 (s)'] = (pct(lat, 99) / 1000).toFixed(2);
    // Let deletions finish, then 3 idle pods.
    const dl = Date.now() + 120_000;
    while (Date.now() < dl && (await cl.docker(['ps', '-q'])).stdout.trim() !== '') await new Promise((r) => setTimeout(r, 500));
    await c.create(RESOURCES.deployments, 'default', deployment('idle2', 3));
    await waitFor(c, 'app=idle2', (ps) => ps.length === 3 && ps.every(isReady));
    await new Promise((r) => setTimeout(r, 15_000));
    out['RSS with 3 pods after all phases (MB)'] = rssMb(cl.pid()).toFixed(0);
  } finally {
    await cl.stop();
  }
  for (const [k, v] of Object.entries(out)) process.stdout.write(`${k}: ${v}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
