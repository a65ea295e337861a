/**
 * Pure rules for a create request: merging the image's config with the caller's, validating host config
 * values (the API rejects what the CLI would have rejected), and restart policy parsing.
 */
import { invalid } from '../../common/errors';
import type { ImageRuntimeConfig } from '../images/types';
import type { ContainerConfig, HostConfig } from './types';

export interface CreateBody extends Partial<ContainerConfig> {
  HostConfig?: HostConfig;
  NetworkingConfig?: unknown;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Env merge: image first, request overrides by key (Docker's ReplaceOrAppendEnvValues). */
export function mergeEnv(base: string[], over: string[]): string[] {
  const out = [...base];
  for (const kv of over) {
    const key = kv.split('=')[0];
    const i = out.findIndex((e) => e.split('=')[0] === key);
    if (i >= 0) out[i] = kv;
    else out.push(kv);
  }
  return out;
}

/** The container's config: the image's, overridden by the request (Docker's merge rules). */
export function mergeConfig(body: CreateBody, image: ImageRuntimeConfig, imageRef: string): ContainerConfig {
  const hasEntrypoint = body.Entrypoint !== undefined && body.Entrypoint !== null;
  // An explicit entrypoint drops the image's Cmd unless the request gives one (Docker does the same).
  const entrypoint = hasEntrypoint ? body.Entrypoint! : image.Entrypoint ?? null;
  let cmd: string[] | null;
  if (body.Cmd && body.Cmd.length) cmd = body.Cmd;
  else if (hasEntrypoint) cmd = null;
  else cmd = image.Cmd ?? null;
  let env = mergeEnv(image.Env ?? [], body.Env ?? []);
  if (!env.some((e) => e.startsWith('PATH='))) env = [DEFAULT_PATH, ...env];
  const entry = (entrypoint ?? []).filter((s) => s !== '' || (entrypoint ?? []).length > 1);
  return {
    Hostname: body.Hostname ?? '',
    Domainname: body.Domainname ?? '',
    User: body.User || image.User || '',
    AttachStdin: !!body.AttachStdin,
    AttachStdout: !!body.AttachStdout,
    AttachStderr: !!body.AttachStderr,
    ExposedPorts: { ...(image.ExposedPorts ?? {}), ...(body.ExposedPorts ?? {}) },
    Tty: !!body.Tty,
    OpenStdin: !!body.OpenStdin,
    StdinOnce: !!body.StdinOnce,
    Env: env,
    Cmd: cmd,
    Healthcheck: mergeHealth(body.Healthcheck, image.Healthcheck),
    Image: imageRef,
    Volumes: { ...(image.Volumes ?? {}), ...(body.Volumes ?? {}) },
    WorkingDir: body.WorkingDir || image.WorkingDir || '',
    Entrypoint: entry.length ? entry : null,
    OnBuild: null,
    Labels: { ...(image.Labels ?? {}), ...(body.Labels ?? {}) },
    StopSignal: body.StopSignal || image.StopSignal || undefined,
    StopTimeout: body.StopTimeout ?? undefined,
  };
}

function mergeHealth(req: ContainerConfig['Healthcheck'], image: ImageRuntimeConfig['Healthcheck']): ContainerConfig['Healthcheck'] {
  if (!req && !image) return undefined;
  if (req?.Test && req.Test[0] === 'NONE') return { Test: ['NONE'] };
  const base = image ?? {};
  const r = req ?? {};
  return {
    Test: r.Test && r.Test.length ? r.Test : base.Test,
    Interval: r.Interval || base.Interval || undefined,
    Timeout: r.Timeout || base.Timeout || undefined,
    StartPeriod: r.StartPeriod || base.StartPeriod || undefined,
    Retries: r.Retries || base.Retries || undefined,
  };
}

/** The process to run: entrypoint + cmd. Missing both is Docker's "no command specified". */
export function commandOf(config: ContainerConfig): { path: string; args: string[] } {
  const argv = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  if (argv.length === 0) throw invalid('no command specified');
  return { path: argv[0], args: argv.slice(1) };
}

export interface RestartPolicy {
  name: 'no' | 'always' | 'on-failure' | 'unless-stopped';
  maxRetries: number;
}

export function restartPolicyOf(hc: HostConfig): RestartPolicy {
  const p = hc.RestartPolicy;
  const name = p?.Name || 'no';
  if (!['no', 'always', 'on-failure', 'unless-stopped'].includes(name))
    throw invalid(`invalid restart policy '${name}'`);
  const max = p?.MaximumRetryCount ?? 0;
  if (!Number.isInteger(max) || max < 0) throw invalid(`invalid restart policy: maximum retry count cannot be negative`);
  if (name !== 'on-failure' && max > 0)
    throw invalid(`invalid restart policy '${name}': maximum retry count can only be used with 'on-failure'`);
  return { name: name as RestartPolicy['name'], maxRetries: max };
}

/** Validates resource figures and flag combinations the CLI would reject but a raw API call could send. */
export function validateHostConfig(hc: HostConfig): void {
  const nonNeg = (v: unknown, what: string) => {
    if (v === undefined || v === null) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || !Number.isInteger(v)) throw invalid(`invalid ${what}: ${String(v)}`);
    if (v < 0) throw invalid(`invalid ${what}: ${v} must not be negative`);
  };
  nonNeg(hc.Memory, 'memory limit');
  nonNeg(hc.NanoCpus, 'NanoCPUs');
  nonNeg(hc.CpuShares, 'CPU shares');
  nonNeg(hc.CpuQuota, 'CPU quota');
  nonNeg(hc.CpuPeriod, 'CPU period');
  nonNeg(hc.ShmSize, 'shm size');
  nonNeg(hc.MemoryReservation, 'memory reservation');
  if (hc.Memory && hc.Memory > 0 && hc.Memory < 6 * 1024 * 1024)
    throw invalid('Minimum memory limit allowed is 6MB');
  if (hc.MemorySwap !== undefined && hc.MemorySwap !== null) {
    if (typeof hc.MemorySwap !== 'number' || !Number.isInteger(hc.MemorySwap) || hc.MemorySwap < -1)
      throw invalid(`invalid memory swap: ${String(hc.MemorySwap)}`);
    if (hc.MemorySwap > 0 && !(hc.Memory && hc.Memory > 0))
      throw invalid('You should always set the Memory limit when using Memoryswap limit');
    if (hc.MemorySwap > 0 && hc.Memory && hc.MemorySwap < hc.Memory)
      throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (hc.PidsLimit !== undefined && hc.PidsLimit !== null && (typeof hc.PidsLimit !== 'number' || !Number.isInteger(hc.PidsLimit)))
    throw invalid(`invalid pids limit: ${String(hc.PidsLimit)}`);
  if (hc.NanoCpus && hc.NanoCpus > 0) {
    if (hc.CpuQuota || hc.CpuPeriod)
      throw invalid('Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set');
    const ncpu = require('node:os').cpus().length;
    if (hc.NanoCpus < 1e7 || hc.NanoCpus > ncpu * 1e9)
      throw invalid(`Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  }
  if (hc.CpuPeriod && (hc.CpuPeriod < 1000 || hc.CpuPeriod > 1000000))
    throw invalid('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  if (hc.CpuQuota && hc.CpuQuota > 0 && hc.CpuQuota < 1000) throw invalid('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  restartPolicyOf(hc);
  if (hc.AutoRemove && hc.RestartPolicy && hc.RestartPolicy.Name && hc.RestartPolicy.Name !== 'no')
    throw invalid(`can't create 'AutoRemove' container with restart policy`);
  for (const opt of hc.SecurityOpt ?? []) {
    const [k, v] = opt.includes('=') ? opt.split(/=(.*)/s) : opt.split(/:(.*)/s);
    if (k === 'no-new-privileges' && (v === undefined || v === 'true' || v === 'false' || v === '')) continue;
    if (k === 'seccomp' && (v === 'unconfined' || v === 'builtin' || v === undefined)) continue;
    if ((k === 'apparmor' || k === 'label') && v !== undefined) continue;
    throw invalid(`invalid --security-opt: "${opt}"`);
  }
  const mode = hc.NetworkMode ?? 'default';
  if (!/^(default|bridge|none|host|container:.+|[A-Za-z0-9][A-Za-z0-9_.-]*)$/.test(mode))
    throw invalid(`invalid network mode: ${mode}`);
  for (const b of hc.Binds ?? []) parseBind(b);
}

export interface ParsedBind {
  source: string;
  target: string;
  readOnly: boolean;
  /** Named volume (source has no '/'). */
  named: boolean;
  propagation?: string;
}

/** "-v src:dst[:opts]" or "-v /dst" (anonymous). */
export function parseBind(spec: string): ParsedBind {
  const parts = spec.split(':');
  if (parts.length === 1) {
    if (!parts[0].startsWith('/')) throw invalid(`invalid volume specification: '${spec}'`);
    return { source: '', target: parts[0], readOnly: false, named: true };
  }
  if (parts.length > 3 || !parts[0] || !parts[1]) throw invalid(`invalid volume specification: '${spec}'`);
  const [source, target, opts = ''] = parts;
  if (!target.startsWith('/')) throw invalid(`invalid volume specification: '${spec}': invalid mount config for type "bind": invalid mount path: '${target}' mount path must be absolute`);
  if (target === '/') throw invalid(`invalid volume specification: '${spec}': invalid mount config: destination can't be '/'`);
  let readOnly = false;
  let propagation: string | undefined;
  for (const o of opts.split(',').filter(Boolean)) {
    if (o === 'ro') readOnly = true;
    else if (o === 'rw') readOnly = false;
    else if (['z', 'Z', 'nocopy', 'consistent', 'cached', 'delegated'].includes(o)) continue;
    else if (['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(o)) propagation = o;
    else throw invalid(`invalid mode: ${o}`);
  }
  const named = !source.startsWith('/');
  if (named && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(source))
    throw invalid(`"${source}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  return { source, target, readOnly, named, propagation };
}

/** Docker's signal names and numbers (x86_64). */
const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12,
  PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23,
  XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31,
};

/** "SIGTERM", "TERM", "15", "RTMIN+3" -> signal number; invalid -> InvalidArgument. */
export function parseSignal(s: string | undefined | null, dflt = 15): number {
  if (s === undefined || s === null || s === '') return dflt;
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw invalid(`invalid signal: ${s}`);
    return n;
  }
  const name = s.toUpperCase().replace(/^SIG/, '');
  if (name in SIGNALS) return SIGNALS[name];
  const rt = /^RTMIN(?:\+(\d+))?$/.exec(name) ?? /^RTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const off = Number(rt[1] ?? 0);
    const n = name.startsWith('RTMIN') ? 34 + off : 64 - off;
    if (n >= 34 && n <= 64) return n;
  }
  throw invalid(`invalid signal: ${s}`);
}
