/**
 * Resource metrics from cgroups, served as metrics.k8s.io/v1beta1 (what metrics-server gives `kubectl top`
 * and the HPA): per container CPU as a rate over the sampling window and memory as the working set
 * (usage minus inactive file pages, as cAdvisor computes it); per node from /proc/stat and /proc/meminfo.
 *
 * A sampler reads every running pod container every `intervalMs`; a request answers from the last two
 * samples (window = their distance), taking a fresh pair on demand when none exists yet.
 */
import fs from 'node:fs';
import type { ResourceInfo } from '../apiserver/resource';
import { statusError } from '../apiserver/status';
import type { ContainerManager } from '../engine/containers/manager';
import { readStats } from '../engine/runtime/cgroups';
import { LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE } from './naming';

export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';

interface Sample {
  t: number;
  cpuNs: number;
  memory: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

/** Discovery entries for metrics.k8s.io (served by the hook, never stored). */
export const METRICS_RESOURCES: ResourceInfo[] = [
  {
    group: METRICS_GROUP,
    version: METRICS_VERSION,
    kind: 'PodMetrics',
    plural: 'pods',
    singular: '',
    namespaced: true,
    verbs: ['get', 'list'],
    subresources: [],
    hasStatus: false,
    tracksGeneration: false,
    schemaName: 'io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics',
    defaults() {},
    validate() {
      return [];
    },
    table: { columns: [], cells: () => [] },
  } as unknown as ResourceInfo,
  {
    group: METRICS_GROUP,
    version: METRICS_VERSION,
    kind: 'NodeMetrics',
    plural: 'nodes',
    singular: '',
    namespaced: false,
    verbs: ['get', 'list'],
    subresources: [],
    hasStatus: false,
    tracksGeneration: false,
    schemaName: 'io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics',
    defaults() {},
    validate() {
      return [];
    },
    table: { columns: [], cells: () => [] },
  } as unknown as ResourceInfo,
];

function nodeCpuNs(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait; USER_HZ = 100.
  const busy = f.reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0);
  return busy * 1e7;
}

function nodeMemory(): number {
  const text = fs.readFileSync('/proc/meminfo', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return (kb('MemTotal') - kb('MemAvailable')) * 1024;
}

function workingSet(stats: ReturnType<typeof readStats>): number {
  const usage = stats.memoryUsage ?? 0;
  const inactive = stats.memoryStat.total_inactive_file ?? stats.memoryStat.inactive_file ?? 0;
  return Math.max(0, usage - inactive);
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

export class MetricsSampler {
  private readonly containers = new Map<string, Sample[]>();
  private node: Sample[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly engine: ContainerManager, private readonly nodeName: () => string, private readonly intervalMs = 10_000) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private push(list: Sample[], s: Sample): Sample[] {
    list.push(s);
    return list.slice(-2);
  }

  sample(): void {
    const now = Date.now();
    const live = new Set<string>();
    for (const rec of this.engine.list()) {
      if (!rec.State.Running || !rec.Config.Labels?.[LABEL_POD_NAME]) continue;
      live.add(rec.Id);
      let stats;
      try {
        stats = readStats(this.engine.cgroupsPath(rec.Id));
      } catch {
        continue;
      }
      this.containers.set(rec.Id, this.push(this.containers.get(rec.Id) ?? [], { t: now, cpuNs: stats.cpuTotal, memory: workingSet(stats) }));
    }
    for (const id of [...this.containers.keys()]) if (!live.has(id)) this.containers.delete(id);
    try {
      this.node = this.push(this.node, { t: now, cpuNs: nodeCpuNs(), memory: nodeMemory() });
    } catch {
      /* no /proc */
    }
  }

  /** Makes sure a rate is available (a second sample at least 500 ms after the first). */
  private async ensurePair(): Promise<void> {
    const fresh = this.node.length >= 2 && Date.now() - this.node[1].t < 3 * this.intervalMs;
    if (fresh) return;
    if (this.node.length === 0 || Date.now() - this.node[this.node.length - 1].t > 3 * this.intervalMs) this.sample();
    await new Promise((r) => setTimeout(r, 500));
    this.sample();
  }

  private usage(list: Sample[] | undefined): { cpu: string; memory: string; windowS: number; t: number } | undefined {
    if (!list || list.length < 2) return undefined;
    const [a, b] = list;
    const dt = (b.t - a.t) / 1000;
    if (dt <= 0) return undefined;
    const nanoCores = Math.max(0, Math.round((b.cpuNs - a.cpuNs) / dt));
    return { cpu: `${nanoCores}n`, memory: `${Math.round(b.memory / 1024)}Ki`, windowS: Math.max(1, Math.round(dt)), t: b.t };
  }

  private podMetrics(): Obj[] {
    const byPod = new Map<string, Obj>();
    for (const rec of this.engine.list()) {
      const l = rec.Config.Labels ?? {};
      if (!rec.State.Running || !l[LABEL_POD_NAME]) continue;
      const u = this.usage(this.containers.get(rec.Id));
      if (!u) continue;
      const key = `${l[LABEL_POD_NAMESPACE]}/${l[LABEL_POD_NAME]}`;
      let pm = byPod.get(key);
      if (!pm) {
        pm = {
          metadata: { name: l[LABEL_POD_NAME], namespace: l[LABEL_POD_NAMESPACE], creationTimestamp: rfc3339(Date.now()) },
          timestamp: rfc3339(u.t),
          window: `${u.windowS}s`,
          containers: [],
        };
        byPod.set(key, pm);
      }
      pm.containers.push({ name: l[LABEL_CONTAINER_NAME], usage: { cpu: u.cpu, memory: u.memory } });
    }
    return [...byPod.values()];
  }

  /**
   * GET/LIST of metrics.k8s.io/v1beta1 pods or nodes. `podLabels` gives the labels of a pod (label
   * selectors apply to the pods' labels, as in metrics-server).
   */
  async serve(resource: string, namespace: string, name: string, q: URLSearchParams, podLabels: (ns: string, name: string) => Record<string, string> | undefined, match: (sel: string, labels: Record<string, string>) => boolean): Promise<Obj> {
    await this.ensurePair();
    const apiVersion = `${METRICS_GROUP}/${METRICS_VERSION}`;
    const sel = q.get('labelSelector') ?? '';
    if (resource === 'pods') {
      let items = this.podMetrics().filter((p) => (!namespace || p.metadata.namespace === namespace) && (!name || p.metadata.name === name));
      items = items.map((p) => ({ ...p, metadata: { ...p.metadata, labels: podLabels(p.metadata.namespace, p.metadata.name) ?? {} } }));
      if (sel) items = items.filter((p) => match(sel, p.metadata.labels));
      if (name) {
        if (!items[0]) throw statusError(404, 'NotFound', `podmetrics.metrics.k8s.io "${name}" not found`);
        return { kind: 'PodMetrics', apiVersion, ...items[0] };
      }
      return { kind: 'PodMetricsList', apiVersion, metadata: {}, items };
    }
    if (resource === 'nodes') {
      const u = this.usage(this.node);
      const node = this.nodeName();
      const items = u
        ? [{ metadata: { name: node, creationTimestamp: rfc3339(Date.now()), labels: {} }, timestamp: rfc3339(u.t), window: `${u.windowS}s`, usage: { cpu: u.cpu, memory: u.memory } }]
        : [];
      if (name) {
        const it = items.find((i) => i.metadata.name === name);
        if (!it) throw statusError(404, 'NotFound', `nodemetrics.metrics.k8s.io "${name}" not found`);
        return { kind: 'NodeMetrics', apiVersion, ...it };
      }
      return { kind: 'NodeMetricsList', apiVersion, metadata: {}, items };
    }
    throw statusError(404, 'NotFound', 'the server could not find the requested resource');
  }
}
