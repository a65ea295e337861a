/**
 * Swarm-style services as Kubernetes objects (pure): `skiff service create` flags → a Deployment (plus a
 * LoadBalancer Service for published ports), and the Swarm views of those objects (service ls rows, task
 * slots and states for service ps, the inspect document). One object model, two views: every object carries
 * the label `skiff.io/service: NAME`, which is also the Deployment's selector.
 */
import { humanDuration, parseNanoCpus, ramInBytes } from '../docker/units';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export const SERVICE_LABEL = 'skiff.io/service';
/** A pod's task slot (web.1, web.2...): given once, kept for the pod's life, reused by its replacement. */
export const SLOT_ANNOTATION = 'skiff.io/slot';

export interface PortSpec {
  published: number;
  target: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
}

export interface ServiceCreateFlags {
  name: string;
  replicas: number;
  image: string;
  args: string[];
  env: string[];
  labels: string[];
  containerLabels: string[];
  publish: PortSpec[];
  limitCpu?: string;
  limitMemory?: string;
  reserveCpu?: string;
  reserveMemory?: string;
  workdir?: string;
  user?: string;
}

/** `-p 8080:80[/udp]` or the long form `published=8080,target=80,protocol=udp`. */
export function parsePublish(s: string): PortSpec {
  let published: number | undefined;
  let target: number | undefined;
  let protocol = 'tcp';
  if (s.includes('=')) {
    for (const kv of s.split(',')) {
      const [k, v = ''] = kv.split('=');
      if (k === 'published') published = Number(v);
      else if (k === 'target') target = Number(v);
      else if (k === 'protocol') protocol = v.toLowerCase();
      else if (k !== 'mode') throw new Error(`invalid field key ${k}`);
    }
  } else {
    const m = /^(?:(\d+):)?(\d+)(?:\/(\w+))?$/.exec(s);
    if (!m) throw new Error(`invalid publish value "${s}": expected PUBLISHED:TARGET[/PROTOCOL]`);
    target = Number(m[2]);
    published = m[1] !== undefined ? Number(m[1]) : target;
    protocol = (m[3] ?? 'tcp').toLowerCase();
  }
  const ok = (n: number | undefined) => n !== undefined && Number.isInteger(n) && n >= 1 && n <= 65535;
  if (!ok(target)) throw new Error(`invalid target port in "${s}"`);
  if (!ok(published)) throw new Error(`invalid published port in "${s}"`);
  if (!['tcp', 'udp', 'sctp'].includes(protocol)) throw new Error(`invalid protocol "${protocol}" in "${s}"`);
  return { published: published!, target: target!, protocol: protocol.toUpperCase() as PortSpec['protocol'] };
}

export function parseKV(list: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list) {
    const i = e.indexOf('=');
    if (i === 0) throw new Error(`invalid ${what} "${e}"`);
    if (i < 0) out[e] = what === 'env' ? (process.env[e] ?? '') : '';
    else out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

/** docker's --limit-cpu 0.5 → "500m"; --limit-memory 64M (binary, like docker) → "64Mi". */
export function cpuQuantity(v: string): string {
  const nano = parseNanoCpus(v);
  if (nano <= 0) throw new Error(`invalid CPU value "${v}"`);
  const milli = Math.ceil(nano / 1e6);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

export function memoryQuantity(v: string): string {
  const b = ramInBytes(v);
  if (b <= 0) throw new Error(`invalid memory value "${v}"`);
  for (const [u, n] of [['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) if (b % n === 0) return `${b / n}${u}`;
  return String(b);
}

export function resourcesOf(f: Pick<ServiceCreateFlags, 'limitCpu' | 'limitMemory' | 'reserveCpu' | 'reserveMemory'>): Any {
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  if (f.limitCpu) limits.cpu = cpuQuantity(f.limitCpu);
  if (f.limitMemory) limits.memory = memoryQuantity(f.limitMemory);
  if (f.reserveCpu) requests.cpu = cpuQuantity(f.reserveCpu);
  if (f.reserveMemory) requests.memory = memoryQuantity(f.reserveMemory);
  // A Swarm limit reserves nothing; Kubernetes would default the request to the limit (and schedule by it).
  if (limits.cpu && !requests.cpu) requests.cpu = '0';
  if (limits.memory && !requests.memory) requests.memory = '0';
  const r: Any = {};
  if (Object.keys(limits).length) r.limits = limits;
  if (Object.keys(requests).length) r.requests = requests;
  return r;
}

export function envList(env: Record<string, string>): Array<{ name: string; value: string }> {
  return Object.entries(env).map(([name, value]) => ({ name, value }));
}

export function deploymentFor(f: ServiceCreateFlags, namespace: string): Any {
  const labels = { ...parseKV(f.labels, 'label'), [SERVICE_LABEL]: f.name };
  const podLabels = { ...parseKV(f.containerLabels, 'label'), [SERVICE_LABEL]: f.name };
  const container: Any = { name: f.name, image: f.image };
  if (f.args.length) container.args = f.args;
  const env = envList(parseKV(f.env, 'env'));
  if (env.length) container.env = env;
  const res = resourcesOf(f);
  if (Object.keys(res).length) container.resources = res;
  if (f.publish.length) container.ports = uniquePorts(f.publish).map((p) => ({ containerPort: p.target, protocol: p.protocol }));
  if (f.workdir) container.workingDir = f.workdir;
  if (f.user && /^\d+$/.test(f.user)) container.securityContext = { runAsUser: Number(f.user) };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: f.name, namespace, labels },
    spec: {
      replicas: f.replicas,
      selector: { matchLabels: { [SERVICE_LABEL]: f.name } },
      // Swarm's default update order is stop-first, one task at a time.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
      template: { metadata: { labels: podLabels }, spec: { terminationGracePeriodSeconds: 10, containers: [container] } },
    },
  };
}

function uniquePorts(ps: PortSpec[]): PortSpec[] {
  const seen = new Set<string>();
  return ps.filter((p) => (seen.has(`${p.target}/${p.protocol}`) ? false : (seen.add(`${p.target}/${p.protocol}`), true)));
}

/**
 * The published ports as a LoadBalancer Service: skiff's proxy publishes spec.ports[].port on the node's
 * addresses (k3s ServiceLB's meaning of LoadBalancer) — Swarm's `-p 8080:80` routing mesh with a standard
 * type, no node port on top.
 */
export function serviceFor(name: string, namespace: string, publish: PortSpec[], labels: Record<string, string> = {}): Any {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { ...labels, [SERVICE_LABEL]: name } },
    spec: {
      type: 'LoadBalancer',
      allocateLoadBalancerNodePorts: false,
      selector: { [SERVICE_LABEL]: name },
      ports: publish.map((p) => ({ name: `${p.protocol.toLowerCase()}-${p.published}`, port: p.published, targetPort: p.target, protocol: p.protocol })),
    },
  };
}

export function publishedOf(svc: Any): PortSpec[] {
  if (!svc?.spec || svc.spec.type !== 'LoadBalancer') return [];
  return (svc.spec.ports ?? []).map((p: Any) => ({ published: p.port, target: typeof p.targetPort === 'number' ? p.targetPort : p.port, protocol: p.protocol ?? 'TCP' }));
}

/** Swarm's PORTS cell: "*:8080->80/tcp". */
export function portsCell(ps: PortSpec[]): string {
  return ps.map((p) => `*:${p.published}->${p.target}/${p.protocol.toLowerCase()}`).join(', ');
}

export function shortId(uid: string | undefined): string {
  return (uid ?? '').replace(/-/g, '').slice(0, 12);
}

export function lsRow(dep: Any, svc: Any | undefined): string[] {
  const c = dep.spec?.template?.spec?.containers?.[0] ?? {};
  return [
    shortId(dep.metadata?.uid),
    dep.metadata?.name ?? '',
    'replicated',
    `${dep.status?.readyReplicas ?? 0}/${dep.spec?.replicas ?? 1}`,
    c.image ?? '',
    portsCell(publishedOf(svc)),
  ];
}

/**
 * Slots for the pods of a service: pods keep the slot in their annotation; a pod without one takes the lowest
 * slot no live pod holds (so the replacement of web.2 becomes web.2 again, as in Swarm). Returns the slot
 * of each pod (by uid) and the pods that need their annotation written.
 */
export function assignSlots(pods: Any[]): { slots: Map<string, number>; fresh: Array<{ pod: Any; slot: number }> } {
  const slots = new Map<string, number>();
  const taken = new Set<number>();
  const sorted = [...pods].sort(
    (a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)) || String(a.metadata?.name).localeCompare(String(b.metadata?.name)),
  );
  for (const p of sorted) {
    const s = Number(p.metadata?.annotations?.[SLOT_ANNOTATION]);
    if (Number.isInteger(s) && s > 0 && !taken.has(s)) {
      slots.set(p.metadata.uid, s);
      taken.add(s);
    }
  }
  const fresh: Array<{ pod: Any; slot: number }> = [];
  for (const p of sorted) {
    if (slots.has(p.metadata.uid)) continue;
    let s = 1;
    while (taken.has(s)) s++;
    taken.add(s);
    slots.set(p.metadata.uid, s);
    fresh.push({ pod: p, slot: s });
  }
  return { slots, fresh };
}

/** Swarm task states from a pod: [desired, current ("Running 5 seconds ago"), error]. */
export function taskState(pod: Any, now: number): [string, string, string] {
  const desired = pod.metadata?.deletionTimestamp ? 'Shutdown' : 'Running';
  const cs = pod.status?.containerStatuses?.[0];
  const ago = (t: string | undefined) => (t ? `${humanDuration(Math.max(0, now - Date.parse(t)))} ago` : '');
  const phase = pod.status?.phase ?? 'Pending';
  let current: string;
  let error = '';
  if (cs?.state?.running) current = `Running ${ago(cs.state.running.startedAt)}`;
  else if (cs?.state?.terminated) {
    const t = cs.state.terminated;
    current = `${t.exitCode === 0 ? 'Complete' : 'Failed'} ${ago(t.finishedAt)}`;
    if (t.exitCode !== 0) error = `"task: non-zero exit (${t.exitCode})"`;
  } else if (cs?.state?.waiting) {
    const w = cs.state.waiting;
    current = w.reason === 'ContainerCreating' ? `Preparing ${ago(pod.status?.startTime ?? pod.metadata?.creationTimestamp)}` : `Rejected ${ago(pod.status?.startTime)}`;
    if (w.reason && w.reason !== 'ContainerCreating') error = `"${w.reason}${w.message ? `: ${w.message}` : ''}"`;
    if (w.reason === 'CrashLoopBackOff') current = `Failed ${ago(cs.lastState?.terminated?.finishedAt)}`;
  } else if (phase === 'Pending') {
    const unsched = (pod.status?.conditions ?? []).find((c: Any) => c.type === 'PodScheduled' && c.status === 'False');
    current = `Pending ${ago(pod.metadata?.creationTimestamp)}`;
    if (unsched?.message) error = `"${unsched.message}"`;
  } else current = `${phase} ${ago(pod.status?.startTime)}`;
  if (pod.metadata?.deletionTimestamp && current.startsWith('Running')) current = current.replace(/^Running/, 'Shutdown');
  return [desired, current.trim(), error];
}

/** A Swarm-like inspect document with the Kubernetes objects behind it. */
export function inspectDoc(dep: Any, svc: Any | undefined): Any {
  const c = dep.spec?.template?.spec?.containers?.[0] ?? {};
  const lim = c.resources?.limits ?? {};
  const res = c.resources?.requests ?? {};
  return {
    ID: shortId(dep.metadata?.uid),
    Version: { Index: Number(dep.metadata?.resourceVersion ?? 0) },
    CreatedAt: dep.metadata?.creationTimestamp,
    Spec: {
      Name: dep.metadata?.name,
      Labels: Object.fromEntries(Object.entries(dep.metadata?.labels ?? {}).filter(([k]) => k !== SERVICE_LABEL)),
      TaskTemplate: {
        ContainerSpec: {
          Image: c.image,
          ...(c.args ? { Args: c.args } : {}),
          ...(c.env ? { Env: c.env.map((e: Any) => `${e.name}=${e.value ?? ''}`) } : {}),
          Labels: Object.fromEntries(Object.entries(dep.spec?.template?.metadata?.labels ?? {}).filter(([k]) => k !== SERVICE_LABEL)),
        },
        Resources: { Limits: { ...(lim.cpu ? { CPU: lim.cpu } : {}), ...(lim.memory ? { Memory: lim.memory } : {}) }, Reservations: { ...(res.cpu ? { CPU: res.cpu } : {}), ...(res.memory ? { Memory: res.memory } : {}) } },
      },
      Mode: { Replicated: { Replicas: dep.spec?.replicas ?? 1 } },
      EndpointSpec: { Mode: 'vip', Ports: publishedOf(svc).map((p) => ({ Protocol: p.protocol.toLowerCase(), TargetPort: p.target, PublishedPort: p.published, PublishMode: 'ingress' })) },
    },
    Endpoint: svc?.spec?.clusterIP && svc.spec.clusterIP !== 'None' ? { VirtualIPs: [{ Addr: svc.spec.clusterIP }] } : {},
    UpdateStatus: { State: (dep.status?.updatedReplicas ?? 0) === (dep.spec?.replicas ?? 1) ? 'completed' : 'updating' },
    Kubernetes: { Deployment: `${dep.metadata?.namespace}/${dep.metadata?.name}`, ...(svc ? { Service: `${svc.metadata?.namespace}/${svc.metadata?.name}` } : {}) },
  };
}
