/**
 * Containers as the engine keeps them. Field names follow Docker's API (Config, HostConfig, State) so the
 * API edge can show them as they are; engine-only bookkeeping lives under `Skiff`.
 */
import type { SandboxResult } from '../../network/types';

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Healthcheck?: HealthConfig;
  Image: string;
  Volumes: Record<string, object> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
}

export interface MountSpec {
  Type: 'bind' | 'volume' | 'tmpfs';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface HostConfig {
  Binds?: string[] | null;
  NetworkMode?: string;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }>> | null;
  RestartPolicy?: { Name: string; MaximumRetryCount?: number };
  AutoRemove?: boolean;
  Mounts?: MountSpec[] | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Privileged?: boolean;
  /** -P: publish every EXPOSEd port on an ephemeral host port. */
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  Tmpfs?: Record<string, string> | null;
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  PidsLimit?: number | null;
  OomKillDisable?: boolean | null;
  ShmSize?: number;
  LogConfig?: { Type: string; Config: Record<string, string> };
  PidMode?: string;
  IpcMode?: string;
  UTSMode?: string;
  Sysctls?: Record<string, string> | null;
  ExtraHosts?: string[] | null;
  Dns?: string[] | null;
  DnsSearch?: string[] | null;
  DnsOptions?: string[] | null;
  [key: string]: unknown;
}

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy' | 'none';
  FailingStreak: number;
  Log: HealthLogEntry[];
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: HealthState;
}

export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** Anonymous volume created for this container (removed with `rm -v`). */
  Anonymous?: boolean;
  TmpfsOptions?: string;
}

export interface ContainerRecord {
  Id: string;
  /** "/name" as Docker shows it. */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  /** Image id ("sha256:..."). */
  Image: string;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  NetworkingConfig?: unknown;
  State: ContainerState;
  RestartCount: number;
  Mounts: MountPoint[];
  Skiff: {
    /** Set by stop/kill, cleared by start: unless-stopped and always honour it until the engine restarts. */
    manuallyStopped: boolean;
    hasBeenStarted: boolean;
    conmonPid?: number;
    network?: SandboxResult;
    /** The resolved user the process runs as. */
    user?: { uid: number; gid: number; additionalGids: number[] };
    /** The last start's rootfs was mounted by runc inside the container (nothing mounted on the host). */
    rootfsInRuntime?: boolean;
  };
}
