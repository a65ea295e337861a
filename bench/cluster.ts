/**
 * Cluster benchmark, skiff side by side with Docker Swarm in the same invocation (rounds alternate between
 * the two). skiff: `skiff server` with its node (engine + agent + scheduler + controllers in one process) on
 * a temp data dir, driven through the Kubernetes API like kubectl would. Swarm: Debian's dockerd on its own
 * temp dirs after `docker swarm init` (bench/swarm.ts), driven through the Docker Engine API. Both run busybox
 * `sleep 3600` from the same image archive.
 *
 *   npm run build && node dist/bench/cluster.js [--rounds 3] [--churn-seconds 10] [--rate 20] [--no-swarm]
 *                                               [--only create,scale,churn,rss] [--cpu-prof DIR]
 *                                               [--timeline] [--threads]
 *
 * --timeline (create 10; with SKIFF_AGENT_TRACE=1 in the environment for the agent's marks): per pod, ms after
 * the Deployment's create request when the watch saw it added / bound, the agent's marks (first sync "seen",
 * sandbox, container create, start, status write: "end(duration)") and Ready on the watch; per round, the
 * machine's CPU busy time over the round (all cores, /proc/stat) and the server process's own.
 *
 * --threads (churn): the server's CPU per churned pod split by thread (main event loop, SQLite writer, libuv pool),
 * and the Events written per churned pod by source/reason (the kubelet's are rate-limited: a backlog still
 * queued when the phase ends is not counted in writes/pod).
 *
 * SKIFF_AGENT_TRACE=1 in the environment makes the agent log per-pod phase times (sandbox, create, start,
 * status and why a status was written) to the server's log.
 *
 * Measures (median over rounds where they repeat):
 *   create 10      — skiff: Deployment of 10 replicas created → 10 pods Ready (watch);
 *                    Swarm: service of 10 replicas created → 10 tasks running (API polled every 25 ms)
 *   scale 10→50    — a ready 10-replica Deployment / service scaled to 50 → 50 Ready / running
 *   replace killed — a replica's container SIGKILLed through the (node's) Docker API, on the 50-replica
 *                    deployment/service → the pod Ready again / a new task running in the slot
 *   churn          — skiff: bare pods created at --rate/s for --churn-seconds, each deleted once Ready;
 *                    latency = creation request sent → Ready seen on a watch (p50/p99).
 *                    Swarm (no bare tasks): 1-replica services at the same rate, each removed once running
 *   idle RSS       — skiff: the server process (API + store + scheduler + controllers + engine + agent);
 *                    Swarm: dockerd + containerd; each with 3 idle replicas on a fresh node (per-container
 *                    monitors — conmon / containerd-shim — excluded on both sides)
 *
 * Before each measured phase (create rounds, scale rounds, churn), on both sides alike, the bench waits until
 * the machine is mostly idle (< 25 % CPU busy over a second, at most 30 s; the waits are printed), so the tail
 * of the previous phase — deletions still being carried out by skiff or by dockerd — is not charged to it.
 */
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { RESOURCES } from '../src/client/resources';
import type { KubeClient } from '../src/client/client';
import { startNodeCluster, type NodeCluster } from '../src/agent/testing/node-cluster';
import { SwarmPeer } from './swarm';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const only = (() => {
  const i = process.argv.indexOf('--only');
  return i > 0 ? new Set(process.argv[i + 1].split(',')) : undefined;
})();
const want = (phase: string) => !only || only.has(phase);

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

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] : NaN);
const sec = (ms: number) => (ms / 1000).toFixed(2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** Busy and total jiffies of the whole machine (/proc/stat's first line). */
function cpuJiffies(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - (f[4] ?? 0), total };
}

/**
 * Waits (at most 30 s) until the machine is mostly idle — under 25 % of both cores busy over one second —
 * before a measured phase, on both sides alike: the previous phase's tail (skiff's or dockerd's deletions
 * still running) must not be charged to the next one. Returns how long it waited (printed with the phase).
 */
async function settle(maxMs = 30_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const a = cpuJiffies();
    await sleep(1000);
    const b = cpuJiffies();
    const busy = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    if (busy < 0.25 || Date.now() - t0 > maxMs) return Date.now() - t0;
  }
}
const settled: string[] = [];
async function settleFor(what: string): Promise<void> {
  const ms = await settle();
  settled.push(`${what} ${(ms / 1000).toFixed(0)} s`);
}

function rssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

// ---------------------------------------------------------------- skiff side

async function skiffCreate(cl: NodeCluster, name: string, n: number): Promise<number> {
  const done = waitFor(cl.client, `app=${name}`, (ps) => ps.length === n && ps.every(isReady));
  // --timeline: per pod, when the watch saw it created / bound / Ready (epoch ms, like the agent's trace marks).
  const seen = new Map<string, { added?: number; bound?: number; ready?: number }>();
  const stopTl = flag('timeline')
    ? await watchPods(cl.client, `app=${name}`, (_p, ev) => {
        const m = seen.get(ev.pod.metadata.name) ?? {};
        seen.set(ev.pod.metadata.name, m);
        const now = Date.now();
        m.added ??= now;
        if (ev.pod.spec?.nodeName) m.bound ??= now;
        if (isReady(ev.pod)) m.ready ??= now;
      })
    : undefined;
  await sleep(100); // the watch is open
  const t0 = performance.now();
  const e0 = Date.now();
  const sys0 = sysCpu();
  const srv0 = cpuSeconds(cl.pid());
  await cl.client.create(RESOURCES.deployments, 'default', deployment(name, n));
  const t = (await done) - t0;
  if (flag('timeline')) {
    const sys1 = sysCpu();
    process.stderr.write(`  ${name}: ${(t / 1000).toFixed(2)} s; CPU busy ${((sys1.busy - sys0.busy) * 10).toFixed(0)} ms of ${((sys1.total - sys0.total) * 10).toFixed(0)} (all cores), server ${((cpuSeconds(cl.pid()) - srv0) * 1000).toFixed(0)} ms\n`);
  }
  if (stopTl) {
    stopTl();
    await sleep(300); // the agent logs its status write after the API answered; the watch may be faster
    printTimeline(cl.logs(), seen, e0);
  }
  return t;
}

/** Jiffies of all cores from /proc/stat: busy (all but idle and iowait) and total. */
function sysCpu(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

/** One line per pod: ms after the Deployment's create request of each phase (watch marks and agent trace marks). */
function printTimeline(logs: string, seen: Map<string, { added?: number; bound?: number; ready?: number }>, e0: number): void {
  const marks = new Map<string, string[]>();
  for (const m of logs.matchAll(/trace (\S+) (.+?) (\d+)ms @(\d+)/g)) {
    if (!seen.has(m[1])) continue;
    const what = m[2].replace(/^(create|start) \S+$/, '$1').replace(/^status (\S+).*$/, 'status($1)');
    marks.set(m[1], [...(marks.get(m[1]) ?? []), `${what} ${Number(m[4]) - e0}(${m[3]})`]);
  }
  const rel = (x?: number) => (x === undefined ? '-' : String(x - e0));
  const rows = [...seen].sort((a, b) => (a[1].ready ?? 0) - (b[1].ready ?? 0));
  for (const [pod, s] of rows) process.stderr.write(`  ${pod}: added ${rel(s.added)} bound ${rel(s.bound)} | ${(marks.get(pod) ?? []).join(' ')} | ready ${rel(s.ready)}\n`);
}

async function skiffScale(cl: NodeCluster, name: string, from: number, to: number): Promise<number> {
  await skiffCreate(cl, name, from);
  const done = waitFor(cl.client, `app=${name}`, (ps) => ps.length === to && ps.every(isReady));
  await sleep(100);
  const t0 = performance.now();
  await cl.client.patch(RESOURCES.deployments, 'default', name, { spec: { replicas: to } }, 'merge', { subresource: 'scale' });
  return (await done) - t0;
}

async function skiffReplace(cl: NodeCluster, name: string, k: number): Promise<number> {
  const c = cl.client;
  const list = await c.list(RESOURCES.pods, { namespace: 'default', labelSelector: `app=${name}` });
  const p = list.items[k] as Obj;
  const cid = String(p.status.containerStatuses[0].containerID).replace('skiff://', '');
  const count = p.status.containerStatuses[0].restartCount;
  const done = waitFor(c, `app=${name}`, (ps) => {
    const q = ps.find((x) => x.metadata.name === p.metadata.name);
    return !!q && isReady(q) && q.status.containerStatuses[0].restartCount === count + 1;
  });
  await sleep(100);
  const t0 = performance.now();
  await dockerKill(cl.socket, cid);
  return (await done) - t0;
}

/** CPU seconds (user + system, all threads) a process has used so far: /proc/PID/stat fields 14 and 15. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

/** --threads: CPU seconds per thread of a process (name/tid → user + system), from /proc/PID/task/TID/stat. */
function threadCpu(pid: number | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (!pid) return out;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${name}/${tid === String(pid) ? 'main' : tid}`, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

async function skiffChurn(cl: NodeCluster, rate: number, seconds: number): Promise<{ lat: number[]; total: number; serverCpuMsPerPod: number; writesPerPod: number }> {
  const c = cl.client;
  const cpu0 = cpuSeconds(cl.pid());
  const t0 = threadCpu(cl.pid());
  const rev = async () => Number((await c.listPage(RESOURCES.pods, { namespace: 'default', limit: 1 })).metadata.resourceVersion);
  const rev0 = await rev();
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
  const total = seconds * rate;
  await paced(total, rate, sent, (name) =>
    c
      .create(RESOURCES.pods, 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { bench: 'churn' } },
        spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
      })
      .catch((e) => process.stderr.write(`create ${name}: ${(e as Error).message}\n`)),
  );
  const deadline = Date.now() + 120_000;
  while (lat.length < total && Date.now() < deadline) await sleep(200);
  stop();
  // Let the deletions finish.
  const dl = Date.now() + 120_000;
  while (Date.now() < dl && (await cl.docker(['ps', '-aq'])).stdout.trim() !== '') await sleep(500);
  // The server's own CPU over the pods' whole lives (create → Ready → delete → gone), idle work included;
  // conmon and runc are other processes. Less noisy than latency on a shared machine.
  const serverCpuMsPerPod = ((cpuSeconds(cl.pid()) - cpu0) * 1000) / total;
  if (flag('threads')) {
    const t1 = threadCpu(cl.pid());
    const rows = [...t1].map(([k, v]) => [k, v - (t0.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
    process.stderr.write(`  server threads, CPU ms per churned pod: ${rows.map(([k, v]) => `${k} ${((v * 1000) / total).toFixed(1)}`).join(', ')}\n`);
    const evs = await c.list(RESOURCES.events, { namespace: 'default' });
    const by = new Map<string, number>();
    for (const e of evs.items as Obj[]) by.set(`${e.source?.component}/${e.reason}`, (by.get(`${e.source?.component}/${e.reason}`) ?? 0) + (e.count ?? 1));
    process.stderr.write(`  events per churned pod: ${[...by].map(([k, v]) => `${k} ${(v / total).toFixed(2)}`).join(', ')}\n`);
  }
  // Store revisions consumed = writes (pods, bindings, statuses, events, heartbeats) over the same span.
  const writesPerPod = ((await rev()) - rev0) / total;
  return { lat, total, serverCpuMsPerPod, writesPerPod };
}

// ---------------------------------------------------------------- Swarm side

async function swarmCreate(sw: SwarmPeer, name: string, n: number): Promise<number> {
  const t0 = performance.now();
  await sw.createService(name, n);
  return (await sw.waitRunning(name, (ts) => ts.length === n)) - t0;
}

async function swarmScale(sw: SwarmPeer, name: string, from: number, to: number): Promise<number> {
  await swarmCreate(sw, name, from);
  const t0 = performance.now();
  await sw.scale(name, to);
  return (await sw.waitRunning(name, (ts) => ts.length === to)) - t0;
}

async function swarmReplace(sw: SwarmPeer, name: string, k: number, n: number): Promise<number> {
  const ts = (await sw.running(name)).sort((a, b) => a.Slot - b.Slot);
  const victim = ts[k];
  const t0 = performance.now();
  await sw.killContainer(victim.Status.ContainerStatus.ContainerID);
  return (await sw.waitRunning(name, (rs) => rs.length === n && rs.some((t) => t.Slot === victim.Slot && t.ID !== victim.ID))) - t0;
}

async function swarmChurn(sw: SwarmPeer, rate: number, seconds: number): Promise<{ lat: number[]; total: number }> {
  const sent = new Map<string, number>();
  const lat: number[] = [];
  const total = seconds * rate;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const t = performance.now();
      const r = await sw.api('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ 'desired-state': { running: true } }))}`);
      for (const task of Array.isArray(r.body) ? r.body : []) {
        if (task.Status?.State !== 'running') continue;
        const name = (task.Spec?.ContainerSpec?.Labels ?? {})['bench.name'] ?? '';
        if (sent.has(name)) {
          lat.push(t - sent.get(name)!);
          sent.delete(name);
          void sw.api('DELETE', `/services/${name}`);
        }
      }
      await sleep(25);
    }
  })();
  await paced(total, rate, sent, (name) =>
    sw
      .api('POST', '/services/create', {
        Name: name,
        TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: ['sleep', '3600'], Labels: { 'bench.name': name } } },
        Mode: { Replicated: { Replicas: 1 } },
      })
      .catch((e) => process.stderr.write(`swarm create ${name}: ${(e as Error).message}\n`)),
  );
  const deadline = Date.now() + 120_000;
  while (lat.length < total && Date.now() < deadline) await sleep(200);
  polling = false;
  await poller;
  // Remove what is left (services never seen running) and wait for the containers to go.
  const svcs = await sw.api('GET', '/services');
  for (const s of Array.isArray(svcs.body) ? svcs.body : []) if (String(s.Spec.Name).startsWith('churn-')) await sw.api('DELETE', `/services/${s.Spec.Name}`);
  const dl = Date.now() + 120_000;
  while (Date.now() < dl) {
    const cs = await sw.api('GET', '/containers/json?all=1');
    if (Array.isArray(cs.body) && cs.body.length === 0) break;
    await sleep(500);
  }
  return { lat, total };
}

// ---------------------------------------------------------------- main

interface Row {
  measure: string;
  skiff: string;
  swarm: string;
  ratio: string;
  rounds: string;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    // The usage is this file's header comment.
    const src = fs.readFileSync(__filename, 'utf8');
    const header = /\/\*\*([\s\S]*?)\*\//.exec(src)?.[1] ?? '';
    process.stdout.write(`${header.replace(/^ \* ?/gm, '').trim()}\n`);
    return;
  }
  const rounds = arg('rounds', 3);
  const churnSeconds = arg('churn-seconds', 10);
  const rate = arg('rate', 20);
  const withSwarm = !flag('no-swarm');
  const rows: Row[] = [];
  const row = (measure: string, a: number[], b: number[], fmt = sec, lowerIsBetter = true) => {
    const ma = median(a);
    const mb = median(b);
    rows.push({
      measure,
      skiff: fmt(ma),
      swarm: b.length ? fmt(mb) : '—',
      ratio: b.length ? (lowerIsBetter ? `${(mb / ma).toFixed(1)}× faster` : `${(ma / mb).toFixed(2)}`) : '—',
      rounds: `skiff ${a.map(fmt).join(', ')}${b.length ? ` | swarm ${b.map(fmt).join(', ')}` : ''}`,
    });
    process.stderr.write(`${measure}: skiff ${fmt(ma)} swarm ${b.length ? fmt(mb) : '-'} (load ${load()})\n`);
  };
  process.stderr.write(`start: load average ${load()}\n`);
  const loadStart = load();
  // --cpu-prof DIR: a V8 CPU profile of the server, written when it exits (open it in Chrome DevTools).
  const profI = process.argv.indexOf('--cpu-prof');
  const cl = await startNodeCluster(profI > 0 ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${process.argv[profI + 1]}`] } : {});
  const sw = withSwarm ? new SwarmPeer() : undefined;
  try {
    await sw?.start();
    const c = cl.client;
    // Warm-up: one replica through the whole path on each side (caches, first image mount).
    await skiffCreate(cl, 'warm', 1);
    await deleteDeployment(cl, 'warm');
    if (sw) {
      await swarmCreate(sw, 'warm', 1);
      await sw.removeService('warm');
    }

    if (want('rss')) {
      // Idle RSS on a fresh node: 3 idle replicas, 20 s of quiet (heartbeats, resyncs, metrics sampling).
      await c.create(RESOURCES.deployments, 'default', deployment('idle', 3));
      await waitFor(c, 'app=idle', (ps) => ps.length === 3 && ps.every(isReady));
      if (sw) await swarmCreate(sw, 'idle', 3);
      await sleep(20_000);
      row('idle RSS, 3 replicas (MB)', [rssMb(cl.pid())], sw ? [sw.rssMb()] : [], (x) => x.toFixed(0), false);
      await deleteDeployment(cl, 'idle');
      await sw?.removeService('idle');
    }

    if (want('create')) {
      const a: number[] = [];
      const b: number[] = [];
      for (let r = 0; r < rounds; r++) {
        await settleFor('skiff create');
        a.push(await skiffCreate(cl, `c10-${r}`, 10));
        await deleteDeployment(cl, `c10-${r}`);
        if (sw) {
          await settleFor('swarm create');
          b.push(await swarmCreate(sw, `c10-${r}`, 10));
          await sw.removeService(`c10-${r}`);
        }
      }
      row('create 10 replicas → all running (s)', a, b);
    }

    if (want('scale')) {
      const a: number[] = [];
      const b: number[] = [];
      const ra: number[] = [];
      const rb: number[] = [];
      for (let r = 0; r < Math.min(rounds, 2); r++) {
        await settleFor('skiff scale');
        a.push(await skiffScale(cl, `s-${r}`, 10, 50));
        if (r === 0) for (let k = 0; k < 5; k++) ra.push(await skiffReplace(cl, `s-${r}`, k));
        await deleteDeployment(cl, `s-${r}`);
        if (sw) {
          await settleFor('swarm scale');
          b.push(await swarmScale(sw, `s-${r}`, 10, 50));
          if (r === 0) for (let k = 0; k < 5; k++) rb.push(await swarmReplace(sw, `s-${r}`, k, 50));
          await sw.removeService(`s-${r}`);
        }
      }
      row('scale 10 → 50 → all running (s)', a, b);
      row('killed container → replica running again, 50 replicas (s)', ra, rb);
    }

    if (want('churn')) {
      await settleFor('skiff churn');
      const a = await skiffChurn(cl, rate, churnSeconds);
      if (sw) await settleFor('swarm churn');
      const b = sw ? await swarmChurn(sw, rate, churnSeconds) : undefined;
      const fmtLat = (x: { lat: number[]; total: number }) => `${sec(pct(x.lat, 50))} / ${sec(pct(x.lat, 99))} (${x.lat.length}/${x.total} running)`;
      rows.push({
        measure: `startup latency at ${rate}/s churn for ${churnSeconds} s, p50 / p99 (s)`,
        skiff: fmtLat(a),
        swarm: b ? fmtLat(b) : '—',
        ratio: b ? `p99 ${(pct(b.lat, 99) / pct(a.lat, 99)).toFixed(1)}× faster` : '—',
        rounds: '',
      });
      rows.push({ measure: 'skiff server CPU / store writes per churned pod', skiff: `${a.serverCpuMsPerPod.toFixed(1)} ms / ${a.writesPerPod.toFixed(1)}`, swarm: '—', ratio: '—', rounds: '' });
      process.stderr.write(
        `churn: skiff ${fmtLat(a)} swarm ${b ? fmtLat(b) : '-'} (load ${load()}); skiff server CPU ${a.serverCpuMsPerPod.toFixed(1)} ms/pod, ${a.writesPerPod.toFixed(2)} writes/pod\n`,
      );
    }
  } finally {
    await cl.stop();
    await sw?.stop();
  }
  const loadEnd = load();
  process.stdout.write(`\n${new Date().toISOString()} — load average at start ${loadStart}, at end ${loadEnd}\n\n`);
  process.stdout.write('| measure | skiff | Docker Swarm | skiff vs Swarm |\n| --- | --- | --- | --- |\n');
  for (const r of rows) process.stdout.write(`| ${r.measure} | ${r.skiff} | ${r.swarm} | ${r.ratio} |\n`);
  if (settled.length) process.stdout.write(`\nwaited for an idle machine before: ${settled.join(', ')}\n`);
  process.stdout.write('\nrounds:\n');
  for (const r of rows) if (r.rounds) process.stdout.write(`  ${r.measure}: ${r.rounds}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});

/**
 * Churn's open-loop pacing: `total` creates at `rate` per second on a fixed schedule (a slow answer never delays
 * the next send), each name's send time recorded in `sent`; resolves once every create has answered.
 */
async function paced(total: number, rate: number, sent: Map<string, number>, create: (name: string) => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  const creates: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const name = `churn-${i}`;
    sent.set(name, performance.now());
    creates.push(create(name));
  }
  await Promise.all(creates);
}
