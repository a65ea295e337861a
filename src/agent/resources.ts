/**
 * Container resources: requests/limits → the engine's cgroup settings (as the kubelet's cm does on cgroup
 * v1: cpu.shares from the request, CFS quota from the limit, memory limit), and the pod's QoS class. Pure.
 */
import { quantityToNumber, milliCpu } from '../client/quantity';
import type { ContainerSpec, PodV1 } from './types';

/** Upstream MinShares / SharesPerCPU / QuotaPeriod / MinQuotaPeriod. */
const MIN_SHARES = 2;
const SHARES_PER_CPU = 1024;
const QUOTA_PERIOD = 100_000;
const MIN_QUOTA = 1000;

export interface EngineResources {
  CpuShares?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  Memory?: number;
  MemorySwap?: number;
  OomKillDisable?: boolean;
}

function get(list: Record<string, string | number> | undefined, name: string): string | number | undefined {
  return list?.[name];
}

/** Requests default to limits when only limits are given (the API server's defaulting does the same). */
export function effectiveRequests(c: ContainerSpec): { cpuMilli: number; memory: number } {
  const req = c.resources?.requests;
  const lim = c.resources?.limits;
  const cpu = get(req, 'cpu') ?? get(lim, 'cpu');
  const mem = get(req, 'memory') ?? get(lim, 'memory');
  return { cpuMilli: cpu === undefined ? 0 : milliCpu(cpu), memory: quantityToNumber(mem) ?? 0 };
}

export function engineResources(c: ContainerSpec): EngineResources {
  const out: EngineResources = {};
  const { cpuMilli } = effectiveRequests(c);
  const limCpu = get(c.resources?.limits, 'cpu');
  const limMem = get(c.resources?.limits, 'memory');
  // Upstream MilliCPUToShares: no request → 2 shares (BestEffort), else milli*1024/1000, at least 2.
  out.CpuShares = Math.max(MIN_SHARES, Math.floor((cpuMilli * SHARES_PER_CPU) / 1000));
  if (limCpu !== undefined) {
    const quota = Math.floor((milliCpu(limCpu) * QUOTA_PERIOD) / 1000);
    out.CpuQuota = Math.max(MIN_QUOTA, quota);
    out.CpuPeriod = QUOTA_PERIOD;
  }
  if (limMem !== undefined) {
    const bytes = Math.floor(quantityToNumber(limMem) ?? 0);
    // The engine refuses < 6 MB (Docker's rule); the kubelet would accept less, the difference is moot here.
    if (bytes > 0) {
      out.Memory = Math.max(bytes, 6 * 1024 * 1024);
      out.MemorySwap = out.Memory; // no swap for pods, as the kubelet configures it
    }
  }
  return out;
}

/** Upstream GetPodQOS. */
export function qosClass(pod: PodV1): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const all = [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])];
  let anySet = false;
  let guaranteed = true;
  for (const c of all) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      const q = quantityToNumber(req[r]);
      const l = quantityToNumber(lim[r]);
      if ((q !== undefined && q !== 0) || (l !== undefined && l !== 0)) anySet = true;
      if (l === undefined) guaranteed = false;
      else if (q !== undefined && q !== l) guaranteed = false;
    }
  }
  if (!anySet) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/**
 * resourceFieldRef value (env and downward API): limits default to the node's allocatable when unset,
 * rounded up to the divisor as upstream's ExtractContainerResourceValue does.
 */
export function resourceFieldValue(
  c: ContainerSpec | undefined,
  resource: string,
  divisor: string | number | undefined,
  node: { cpuMilli: number; memory: number; ephemeral: number },
): string {
  const [kind, name] = resource.split('.');
  const list = kind === 'limits' ? c?.resources?.limits : c?.resources?.requests;
  let v = quantityToNumber(list?.[name]);
  if (v === undefined) {
    if (kind === 'limits') v = name === 'cpu' ? node.cpuMilli / 1000 : name === 'memory' ? node.memory : node.ephemeral;
    else v = 0;
  }
  const d = quantityToNumber(divisor ?? (name === 'cpu' ? '1' : '1')) || 1;
  return String(Math.ceil(v / d - 1e-9));
}
