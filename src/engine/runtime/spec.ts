/**
 * OCI runtime spec generation with Docker's defaults (pure: no I/O; the caller passes every host fact).
 *
 * What Docker gives a container by default and we copy: own pid/ipc/uts/mount(/net) namespaces, 14
 * capabilities, masked and read-only /proc paths, /dev as tmpfs with devpts, mqueue and a 64 MiB /dev/shm,
 * read-only sysfs, the default seccomp profile. What we deliberately do differently: rlimits are never set
 * above the engine's own hard limit (CAP_SYS_RESOURCE may be absent; Docker sets NOFILE 1048576).
 */
import { invalid } from '../../common/errors';
import { seccompProfile, type SeccompProfile } from './seccomp';

export const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability the kernel knows, in bit order (for --privileged, --cap-add ALL and CapBnd decoding). */
export const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** Capabilities in a CapBnd-style hex mask ("000001fffeffffff"). */
export function capsFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return ALL_CAPS.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>;
    rlimits: Array<{ type: string; hard: number; soft: number }>;
    noNewPrivileges: boolean;
    oomScoreAdj?: number;
  };
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: OciMount[];
  linux: {
    namespaces: Array<{ type: string; path?: string }>;
    cgroupsPath: string;
    resources: Record<string, unknown>;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    seccomp?: SeccompProfile;
    sysctl?: Record<string, string>;
  };
}

/** Normalizes "net_admin", "CAP_NET_ADMIN", "ALL". */
export function normalizeCap(cap: string): string {
  const up = cap.trim().toUpperCase();
  if (up === 'ALL') return 'ALL';
  return up.startsWith('CAP_') ? up : `CAP_${up}`;
}

/** Docker's capability arithmetic: defaults (or all when privileged), then adds, then drops ("ALL" allowed in both). */
export function effectiveCaps(opts: {
  privileged?: boolean;
  capAdd?: string[] | null;
  capDrop?: string[] | null;
  /** The engine's own bounding set: a container never gets more (runc would fail to apply it). */
  hostCaps?: string[];
}): string[] {
  const host = new Set(opts.hostCaps ?? ALL_CAPS);
  if (opts.privileged) return ALL_CAPS.filter((c) => host.has(c));
  const add = (opts.capAdd ?? []).map(normalizeCap);
  const drop = (opts.capDrop ?? []).map(normalizeCap);
  let caps = new Set(DEFAULT_CAPS);
  if (drop.includes('ALL')) caps = new Set();
  if (add.includes('ALL')) caps = new Set(ALL_CAPS);
  for (const c of add) if (c !== 'ALL') caps.add(c);
  for (const c of drop) if (c !== 'ALL' && !add.includes(c)) caps.delete(c);
  for (const c of caps) if (!ALL_CAPS.includes(c)) throw invalid(`unknown capability: "${c}"`);
  return [...caps].filter((c) => host.has(c));
}

export interface SpecInput {
  id: string;
  rootfs: string;
  readonlyRootfs: boolean;
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  terminal: boolean;
  hostname: string;
  /** Host namespace paths to join; absent = a new namespace. `host` = share the host's (no entry). */
  network: { mode: 'new' } | { mode: 'host' } | { mode: 'path'; path: string };
  ipcHost?: boolean;
  pidHost?: boolean;
  utsHost?: boolean;
  privileged: boolean;
  capAdd?: string[] | null;
  capDrop?: string[] | null;
  hostCaps?: string[];
  noNewPrivileges: boolean;
  /** Seccomp: "unconfined" disables it; undefined = Docker's default profile. */
  seccomp?: 'unconfined';
  cgroupsPath: string;
  resources: {
    memory?: number;
    memorySwap?: number;
    /** Set only if the kernel supports memsw accounting. */
    swapAccounting: boolean;
    nanoCpus?: number;
    cpuShares?: number;
    cpuQuota?: number;
    cpuPeriod?: number;
    pidsLimit?: number;
    oomKillDisable?: boolean;
  };
  /** The engine's own RLIMIT_NOFILE hard limit: the container never gets more. */
  nofileHard: number;
  /** Extra mounts (volumes, binds, tmpfs, /etc/hosts...) already in OCI form. */
  mounts: OciMount[];
  /** The root filesystem mounted by runc inside the container's mount namespace (overlay at "/"). */
  rootMount?: OciMount;
  shmSize?: number;
  sysctls?: Record<string, string>;
}

export function buildSpec(input: SpecInput): OciSpec {
  const caps = effectiveCaps(input);
  const shmSize = input.shmSize && input.shmSize > 0 ? input.shmSize : 64 * 1024 * 1024;
  const userDests = new Set(input.mounts.map((m) => m.destination));
  const base: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', input.privileged ? 'rw' : 'ro'],
    },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', input.privileged ? 'rw' : 'ro'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`],
    },
  ].filter((m) => !userDests.has(m.destination));

  const namespaces: Array<{ type: string; path?: string }> = [{ type: 'mount' }];
  if (!input.pidHost) namespaces.push({ type: 'pid' });
  if (!input.ipcHost) namespaces.push({ type: 'ipc' });
  if (!input.utsHost) namespaces.push({ type: 'uts' });
  if (input.network.mode === 'new') namespaces.push({ type: 'network' });
  else if (input.network.mode === 'path') namespaces.push({ type: 'network', path: input.network.path });

  const r = input.resources;
  const resources: Record<string, unknown> = { devices: [{ allow: false, access: 'rwm' }] };
  const memory: Record<string, unknown> = {};
  if (r.memory && r.memory > 0) {
    memory.limit = r.memory;
    if (r.swapAccounting) {
      // Docker: --memory-swap unset means twice the memory; -1 unlimited.
      if (r.memorySwap === undefined || r.memorySwap === 0) memory.swap = r.memory * 2;
      else memory.swap = r.memorySwap;
    }
  }
  if (r.oomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) resources.memory = memory;
  const cpu: Record<string, unknown> = {};
  if (r.cpuShares && r.cpuShares > 0) cpu.shares = r.cpuShares;
  if (r.nanoCpus && r.nanoCpus > 0) {
    cpu.period = 100000;
    cpu.quota = Math.round((r.nanoCpus * 100000) / 1e9);
  } else {
    if (r.cpuPeriod && r.cpuPeriod > 0) cpu.period = r.cpuPeriod;
    if (r.cpuQuota && r.cpuQuota > 0) cpu.quota = r.cpuQuota;
  }
  if (Object.keys(cpu).length) resources.cpu = cpu;
  if (r.pidsLimit && r.pidsLimit > 0) resources.pids = { limit: r.pidsLimit };
  if (input.privileged) resources.devices = [{ allow: true, access: 'rwm' }];

  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: input.terminal,
      user: {
        uid: input.user.uid,
        gid: input.user.gid,
        ...(input.user.additionalGids.length ? { additionalGids: input.user.additionalGids } : {}),
      },
      args: input.args,
      env: input.env,
      cwd: input.cwd || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: input.nofileHard, soft: input.nofileHard }],
      noNewPrivileges: input.noNewPrivileges,
    },
    root: { path: input.rootfs, readonly: input.readonlyRootfs },
    hostname: input.utsHost ? undefined : input.hostname,
    mounts: [...(input.rootMount ? [input.rootMount] : []), ...base, ...input.mounts],
    linux: {
      namespaces,
      cgroupsPath: input.cgroupsPath,
      resources,
      ...(input.sysctls && Object.keys(input.sysctls).length ? { sysctl: input.sysctls } : {}),
    },
  };
  if (!input.privileged) {
    spec.linux.maskedPaths = MASKED_PATHS;
    spec.linux.readonlyPaths = READONLY_PATHS;
    if (input.seccomp !== 'unconfined') spec.linux.seccomp = seccompProfile(caps);
  }
  return spec;
}

/** The process part of an exec: same user/env/caps as the container's, new args (runc exec --process). */
export function execProcess(
  container: OciSpec['process'],
  opts: { args: string[]; env?: string[]; cwd?: string; terminal: boolean; user?: OciSpec['process']['user']; privileged?: boolean },
): OciSpec['process'] {
  const env = [...container.env];
  for (const kv of opts.env ?? []) {
    const k = kv.split('=')[0];
    const i = env.findIndex((e) => e.split('=')[0] === k);
    if (i >= 0) env[i] = kv;
    else env.push(kv);
  }
  const caps = opts.privileged ? container.capabilities.bounding.concat() : container.capabilities.bounding;
  return {
    ...container,
    terminal: opts.terminal,
    args: opts.args,
    env,
    cwd: opts.cwd || container.cwd,
    user: opts.user ?? container.user,
    capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
  };
}
