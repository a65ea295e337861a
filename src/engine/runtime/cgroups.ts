/**
 * cgroup v1 (this host is hybrid: one hierarchy per controller under /sys/fs/cgroup): reading a
 * container's figures for stats and OOM, and removing leftover cgroup directories after a crash.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

const ROOT = '/sys/fs/cgroup';
/** Every mounted hierarchy (cpu,cpuacct symlinks included; `unified` is hybrid mode's cgroup2). */
let hierarchies: string[] | undefined;
function allHierarchies(): string[] {
  if (!hierarchies) {
    try {
      hierarchies = fs.readdirSync(ROOT);
    } catch {
      hierarchies = [];
    }
  }
  return hierarchies;
}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
const num = (s: string | undefined) => (s === undefined || s === '' || s === 'max' ? undefined : Number(s));

function keyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

export function cgroupDir(controller: string, cgroupsPath: string): string {
  return path.join(ROOT, controller, cgroupsPath);
}

export interface CgroupStats {
  cpuTotal: number; // ns
  cpuPerCpu: number[];
  cpuUser: number; // ns
  cpuSystem: number; // ns
  throttling: { periods: number; throttled_periods: number; throttled_time: number };
  memoryUsage?: number;
  memoryMaxUsage?: number;
  memoryLimit?: number;
  memoryFailcnt?: number;
  memoryStat: Record<string, number>;
  pidsCurrent?: number;
  pidsLimit?: number;
  blkio: Array<{ major: number; minor: number; op: string; value: number }>;
}

/** USER_HZ is 100 on Linux: cpuacct.stat counts in 10 ms ticks. */
const TICK_NS = 1e7;

export function readStats(cgroupsPath: string): CgroupStats {
  const cpuacct = cgroupDir('cpuacct', cgroupsPath);
  const mem = cgroupDir('memory', cgroupsPath);
  const pids = cgroupDir('pids', cgroupsPath);
  const cpuStat = keyValues(read(path.join(cpuacct, 'cpuacct.stat')));
  const throttle = keyValues(read(path.join(cgroupDir('cpu', cgroupsPath), 'cpu.stat')));
  const blk: CgroupStats['blkio'] = [];
  for (const line of (read(path.join(cgroupDir('blkio', cgroupsPath), 'blkio.throttle.io_service_bytes')) ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line);
    if (m) blk.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  const limit = num(read(path.join(mem, 'memory.limit_in_bytes')));
  return {
    cpuTotal: num(read(path.join(cpuacct, 'cpuacct.usage'))) ?? 0,
    cpuPerCpu: (read(path.join(cpuacct, 'cpuacct.usage_percpu')) ?? '').split(/\s+/).filter(Boolean).map(Number),
    cpuUser: (cpuStat.user ?? 0) * TICK_NS,
    cpuSystem: (cpuStat.system ?? 0) * TICK_NS,
    throttling: {
      periods: throttle.nr_periods ?? 0,
      throttled_periods: throttle.nr_throttled ?? 0,
      throttled_time: throttle.throttled_time ?? 0,
    },
    memoryUsage: num(read(path.join(mem, 'memory.usage_in_bytes'))),
    memoryMaxUsage: num(read(path.join(mem, 'memory.max_usage_in_bytes'))),
    // "unlimited" in v1 is a huge page-rounded number: report the host's memory like Docker does.
    memoryLimit: limit !== undefined && limit < 2 ** 62 ? Math.min(limit, require('node:os').totalmem()) : require('node:os').totalmem(),
    memoryFailcnt: num(read(path.join(mem, 'memory.failcnt'))),
    memoryStat: keyValues(read(path.join(mem, 'memory.stat'))),
    pidsCurrent: num(read(path.join(pids, 'pids.current'))),
    pidsLimit: num(read(path.join(pids, 'pids.max'))),
    blkio: blk,
  };
}

/** Host CPU time in ns from /proc/stat (Docker's system_cpu_usage). */
export function systemCpuUsage(): number {
  const line = (read('/proc/stat') ?? '').split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const total = line
    .split(/\s+/)
    .slice(1, 8)
    .reduce((a, b) => a + Number(b), 0);
  return total * TICK_NS;
}

/** True when memory.oom_control reports an OOM kill in this cgroup (kernel >= 4.13 has oom_kill). */
export function oomKilled(cgroupsPath: string): boolean {
  const kv = keyValues(read(path.join(cgroupDir('memory', cgroupsPath), 'memory.oom_control')));
  return (kv.oom_kill ?? 0) > 0;
}

/** Removes the cgroup directories of a container in every hierarchy (empty ones only; rmdir). */
export async function removeCgroups(cgroupsPath: string): Promise<void> {
  await Promise.all(
    allHierarchies().map((c) =>
      fsp.rmdir(cgroupDir(c, cgroupsPath)).catch(() => undefined),
    ),
  );
}

/** Removes a parent cgroup (e.g. /skiff-<hash>) if empty, in every hierarchy. */
export async function removeCgroupParent(parent: string): Promise<void> {
  await removeCgroups(parent);
}
