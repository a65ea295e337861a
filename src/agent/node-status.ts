/**
 * The Node object the agent registers and keeps current: capacity/allocatable from the host, addresses,
 * the four kubelet conditions with heartbeats, and nodeInfo. Host facts are read once by hostFacts();
 * nodeStatus() is pure over them.
 */
import fs from 'node:fs';
import os from 'node:os';

export const KUBELET_VERSION = 'v1.32.0-skiff';

export interface HostFacts {
  hostname: string;
  internalIP: string;
  cpus: number;
  memoryBytes: number;
  ephemeralBytes: number;
  kernel: string;
  osImage: string;
  arch: string;
  machineID: string;
  bootID: string;
  runtimeVersion: string;
}

function readTrim(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
}

export function hostFacts(dataDir: string, runtimeVersion: string): HostFacts {
  let ip = '127.0.0.1';
  const ifaces = os.networkInterfaces();
  for (const [name, addrs] of Object.entries(ifaces)) {
    if (/^(skiff|docker|veth|br-|cni)/.test(name)) continue;
    const a = (addrs ?? []).find((x) => x.family === 'IPv4' && !x.internal);
    if (a) {
      ip = a.address;
      break;
    }
  }
  let ephemeral = 0;
  try {
    const st = fs.statfsSync(dataDir);
    ephemeral = st.blocks * st.bsize;
  } catch {
    ephemeral = 0;
  }
  const pretty = /PRETTY_NAME="?([^"\n]*)"?/.exec(readTrim('/etc/os-release'))?.[1] ?? 'Linux';
  return {
    hostname: os.hostname().toLowerCase(),
    internalIP: ip,
    cpus: os.cpus().length,
    memoryBytes: os.totalmem(),
    ephemeralBytes: ephemeral,
    kernel: os.release(),
    osImage: pretty,
    arch: ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch,
    machineID: readTrim('/etc/machine-id'),
    bootID: readTrim('/proc/sys/kernel/random/boot_id'),
    runtimeVersion,
  };
}

export const MAX_PODS = 110;

export function capacityOf(f: HostFacts): Record<string, string> {
  return {
    cpu: String(f.cpus),
    memory: `${Math.floor(f.memoryBytes / 1024)}Ki`,
    pods: String(MAX_PODS),
    'ephemeral-storage': `${Math.floor(f.ephemeralBytes / 1024)}Ki`,
    'hugepages-2Mi': '0',
  };
}

function cond(type: string, status: string, reason: string, message: string, now: string, prev?: Record<string, unknown>[]): Record<string, unknown> {
  const old = prev?.find((c) => c.type === type);
  return {
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
  };
}

export function nodeLabels(f: HostFacts, nodeName: string): Record<string, string> {
  return {
    'kubernetes.io/hostname': nodeName,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': f.arch,
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': f.arch,
    'node-role.kubernetes.io/control-plane': 'true',
  };
}

export function nodeStatus(f: HostFacts, nodeName: string, nowIso: string, prevConditions?: Record<string, unknown>[], memPressure = false, diskPressure = false): Record<string, unknown> {
  const cap = capacityOf(f);
  const now = nowIso.replace(/\.\d+Z$/, 'Z');
  return {
    capacity: cap,
    allocatable: cap,
    conditions: [
      memPressure
        ? cond('MemoryPressure', 'True', 'KubeletHasInsufficientMemory', 'kubelet has insufficient memory available', now, prevConditions)
        : cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', now, prevConditions),
      diskPressure
        ? cond('DiskPressure', 'True', 'KubeletHasDiskPressure', 'kubelet has disk pressure', now, prevConditions)
        : cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', now, prevConditions),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', now, prevConditions),
      cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status', now, prevConditions),
    ],
    addresses: [
      { type: 'InternalIP', address: f.internalIP },
      { type: 'Hostname', address: nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: f.machineID,
      systemUUID: f.machineID,
      bootID: f.bootID,
      kernelVersion: f.kernel,
      osImage: f.osImage,
      containerRuntimeVersion: `skiff://${f.runtimeVersion}`,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: f.arch,
    },
  };
}

/** Lease renewTime is a MicroTime: RFC3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
