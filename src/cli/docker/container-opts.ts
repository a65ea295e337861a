/**
 * `run`/`create` flags and their translation into the `POST /containers/create` body, following the docker
 * CLI (cli/command/container/opts.go, go-connections/nat, opts/*): the same flag names, value syntax,
 * defaults and client-side validation messages. Pure: the environment is passed in (for `-e NAME`).
 */
import type { FlagSpec } from './flags';
import { UsageError, kvMap } from './flags';
import { parseGoDuration, parseNanoCpus, ramInBytes } from './units';

const bytes = (v: string) => ramInBytes(v);
const duration = (v: string) => parseGoDuration(v);

/** Flags shared by run and create (run adds -d, --sig-proxy, --detach-keys). */
export const CONTAINER_FLAGS: FlagSpec[] = [
  { name: 'add-host', kind: 'list', help: 'Add a custom host-to-IP mapping (host:ip)' },
  { name: 'attach', short: 'a', kind: 'list', help: 'Attach to STDIN, STDOUT or STDERR' },
  { name: 'cap-add', kind: 'list', help: 'Add Linux capabilities' },
  { name: 'cap-drop', kind: 'list', help: 'Drop Linux capabilities' },
  { name: 'cgroup-parent', kind: 'string', help: 'Optional parent cgroup for the container' },
  { name: 'cgroupns', kind: 'string', help: 'Cgroup namespace to use (host|private)' },
  { name: 'cidfile', kind: 'string', help: 'Write the container ID to the file' },
  { name: 'cpu-period', kind: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  { name: 'cpu-quota', kind: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  { name: 'cpu-shares', short: 'c', kind: 'int', help: 'CPU shares (relative weight)' },
  { name: 'cpus', kind: 'string', type: 'decimal', help: 'Number of CPUs', parse: parseNanoCpus },
  { name: 'cpuset-cpus', kind: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
  { name: 'cpuset-mems', kind: 'string', help: 'MEMs in which to allow execution (0-3, 0,1)' },
  { name: 'device', kind: 'list', help: 'Add a host device to the container' },
  { name: 'dns', kind: 'list', help: 'Set custom DNS servers' },
  { name: 'dns-option', kind: 'list', help: 'Set DNS options' },
  { name: 'dns-search', kind: 'list', help: 'Set custom DNS search domains' },
  { name: 'domainname', kind: 'string', help: 'Container NIS domain name' },
  { name: 'entrypoint', kind: 'string', help: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'env', short: 'e', kind: 'list', help: 'Set environment variables' },
  { name: 'env-file', kind: 'list', help: 'Read in a file of environment variables' },
  { name: 'expose', kind: 'list', help: 'Expose a port or a range of ports' },
  { name: 'group-add', kind: 'list', help: 'Add additional groups to join' },
  { name: 'health-cmd', kind: 'string', help: 'Command to run to check health' },
  { name: 'health-interval', kind: 'string', type: 'duration', help: 'Time between running the check (ms|s|m|h) (default 0s)', parse: duration },
  { name: 'health-retries', kind: 'int', help: 'Consecutive failures needed to report unhealthy' },
  { name: 'health-start-interval', kind: 'string', type: 'duration', help: 'Time between running the check during the start period (ms|s|m|h) (default 0s)', parse: duration },
  { name: 'health-start-period', kind: 'string', type: 'duration', help: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)', parse: duration },
  { name: 'health-timeout', kind: 'string', type: 'duration', help: 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)', parse: duration },
  { name: 'hostname', short: 'h', kind: 'string', help: 'Container host name' },
  { name: 'init', kind: 'bool', help: 'Run an init inside the container that forwards signals and reaps processes' },
  { name: 'interactive', short: 'i', kind: 'bool', help: 'Keep STDIN open even if not attached' },
  { name: 'ip', kind: 'string', help: 'IPv4 address (e.g., 172.30.100.104)' },
  { name: 'ipc', kind: 'string', help: 'IPC mode to use' },
  { name: 'label', short: 'l', kind: 'list', help: 'Set meta data on a container' },
  { name: 'label-file', kind: 'list', help: 'Read in a line delimited file of labels' },
  { name: 'log-driver', kind: 'string', help: 'Logging driver for the container' },
  { name: 'log-opt', kind: 'list', help: 'Log driver options' },
  { name: 'memory', short: 'm', kind: 'string', type: 'bytes', help: 'Memory limit', parse: bytes },
  { name: 'memory-reservation', kind: 'string', type: 'bytes', help: 'Memory soft limit', parse: bytes },
  { name: 'memory-swap', kind: 'string', type: 'bytes', help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", parse: (v) => (v === '-1' ? -1 : ramInBytes(v)) },
  { name: 'memory-swappiness', kind: 'int', help: 'Tune container memory swappiness (0 to 100)', default: -1 },
  { name: 'mount', kind: 'list', type: 'mount', help: 'Attach a filesystem mount to the container', parse: parseMount },
  { name: 'name', kind: 'string', help: 'Assign a name to the container' },
  { name: 'network', kind: 'string', type: 'network', help: 'Connect a container to a network' },
  { name: 'net', kind: 'string', hidden: true },
  { name: 'network-alias', kind: 'list', help: 'Add network-scoped alias for the container' },
  { name: 'no-healthcheck', kind: 'bool', help: 'Disable any container-specified HEALTHCHECK' },
  { name: 'oom-kill-disable', kind: 'bool', help: 'Disable OOM Killer' },
  { name: 'oom-score-adj', kind: 'int', help: "Tune host's OOM preferences (-1000 to 1000)" },
  { name: 'pid', kind: 'string', help: 'PID namespace to use' },
  { name: 'pids-limit', kind: 'int', help: 'Tune container pids limit (set -1 for unlimited)' },
  { name: 'platform', kind: 'string', help: 'Set platform if server is multi-platform capable' },
  { name: 'privileged', kind: 'bool', help: 'Give extended privileges to this container' },
  { name: 'publish', short: 'p', kind: 'list', help: "Publish a container's port(s) to the host" },
  { name: 'publish-all', short: 'P', kind: 'bool', help: 'Publish all exposed ports to random ports' },
  { name: 'pull', kind: 'string', help: 'Pull image before running ("always", "missing", "never")', default: 'missing' },
  { name: 'quiet', short: 'q', kind: 'bool', help: 'Suppress the pull output' },
  { name: 'read-only', kind: 'bool', help: "Mount the container's root filesystem as read only" },
  { name: 'restart', kind: 'string', help: 'Restart policy to apply when a container exits', default: 'no' },
  { name: 'rm', kind: 'bool', help: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  { name: 'runtime', kind: 'string', help: 'Runtime to use for this container' },
  { name: 'security-opt', kind: 'list', help: 'Security Options' },
  { name: 'shm-size', kind: 'string', type: 'bytes', help: 'Size of /dev/shm', parse: bytes },
  { name: 'stop-signal', kind: 'string', help: 'Signal to stop the container' },
  { name: 'stop-timeout', kind: 'int', help: 'Timeout (in seconds) to stop a container' },
  { name: 'sysctl', kind: 'list', type: 'map', help: 'Sysctl options' },
  { name: 'tmpfs', kind: 'list', help: 'Mount a tmpfs directory' },
  { name: 'tty', short: 't', kind: 'bool', help: 'Allocate a pseudo-TTY' },
  { name: 'ulimit', kind: 'list', type: 'ulimit', help: 'Ulimit options', parse: parseUlimit },
  { name: 'user', short: 'u', kind: 'string', help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'userns', kind: 'string', help: 'User namespace to use' },
  { name: 'uts', kind: 'string', help: 'UTS namespace to use' },
  { name: 'volume', short: 'v', kind: 'list', help: 'Bind mount a volume' },
  { name: 'volumes-from', kind: 'list', help: 'Mount volumes from the specified container(s)' },
  { name: 'workdir', short: 'w', kind: 'string', help: 'Working directory inside the container' },
];

export const RUN_ONLY_FLAGS: FlagSpec[] = [
  { name: 'detach', short: 'd', kind: 'bool', help: 'Run container in background and print container ID' },
  { name: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
  { name: 'sig-proxy', kind: 'bool', help: 'Proxy received signals to the process', default: true },
];

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

function parsePortRange(s: string): [number, number] | null {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return null;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a > 65535 || b > 65535 || b < a) return null;
  return [a, b];
}

/** go-connections nat.ParsePortSpec: "[ip:][hostPort[-r]]:containerPort[-r][/proto]" or "containerPort". */
export function parsePortSpec(raw: string): Array<{ port: string; binding: PortBinding }> {
  const parts = raw.split(':');
  const n = parts.length;
  let containerPort = parts[n - 1];
  let ip = '';
  let hostPort = '';
  if (n === 2) hostPort = parts[0];
  else if (n === 3) [ip, hostPort] = parts;
  else if (n > 3) {
    ip = parts.slice(0, n - 2).join(':');
    hostPort = parts[n - 2];
  }
  let proto = 'tcp';
  const slash = containerPort.indexOf('/');
  if (slash >= 0) {
    proto = containerPort.slice(slash + 1);
    containerPort = containerPort.slice(0, slash);
  }
  ip = ip.replace(/^\[|\]$/g, '');
  if (ip && !/^(\d{1,3}\.){3}\d{1,3}$/.test(ip) && !/^[0-9a-fA-F:]+$/.test(ip)) throw new Error(`invalid IP address: ${ip}`);
  if (containerPort === '') throw new Error(`no port specified: ${raw}<empty>`);
  const cr = parsePortRange(containerPort);
  if (!cr) throw new Error(`invalid containerPort: ${containerPort}`);
  let hr: [number, number] | null = null;
  if (hostPort !== '') {
    hr = parsePortRange(hostPort);
    if (!hr) throw new Error(`invalid hostPort: ${hostPort}`);
    if (hr[1] - hr[0] !== cr[1] - cr[0] && cr[1] !== cr[0]) {
      throw new Error(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
  }
  if (!['tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) throw new Error(`invalid proto: ${proto}`);
  const out: Array<{ port: string; binding: PortBinding }> = [];
  for (let i = 0; i <= cr[1] - cr[0]; i++) {
    let hp = '';
    if (hr) hp = hr[1] - hr[0] === cr[1] - cr[0] ? String(hr[0] + i) : hostPort;
    out.push({ port: `${cr[0] + i}/${proto.toLowerCase()}`, binding: { HostIp: ip, HostPort: hp } });
  }
  return out;
}

/** docker's opts.ParseRestartPolicy + client-side validation. */
export function parseRestartPolicy(policy: string): { Name: string; MaximumRetryCount: number } {
  if (policy === '') return { Name: 'no', MaximumRetryCount: 0 };
  const [name, count] = policy.split(/:(.*)/s);
  let max = 0;
  if (count !== undefined && count !== '') {
    if (!/^[+-]?\d+$/.test(count)) throw new Error('invalid restart policy format: maximum retry count must be an integer');
    max = Number(count);
  }
  if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(name)) {
    throw new Error(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (max !== 0 && name !== 'on-failure') throw new Error(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (max < 0) throw new Error('invalid restart policy: maximum retry count cannot be negative');
  return { Name: name, MaximumRetryCount: max };
}

/** docker's --ulimit "nofile=1024[:2048]". */
export function parseUlimit(v: string): { Name: string; Hard: number; Soft: number } {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(v);
  if (!m) throw new Error(`invalid ulimit argument: ${v}`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > hard && hard !== -1) throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: m[1], Hard: hard, Soft: soft }; // Go's field order
}

/** docker's --mount "type=bind,source=/a,target=/b,readonly" (the common keys). */
export function parseMount(v: string): Record<string, unknown> {
  const m: Record<string, unknown> = { Type: 'volume' };
  for (const field of v.split(',')) {
    const [k, val] = field.split(/=(.*)/s);
    const key = k.trim().toLowerCase();
    switch (key) {
      case 'type':
        m.Type = val;
        break;
      case 'source':
      case 'src':
        m.Source = val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = val;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = val === undefined ? true : ['1', 'true'].includes(val);
        break;
      case 'volume-nocopy':
        m.VolumeOptions = { ...((m.VolumeOptions as object) ?? {}), NoCopy: val === undefined || val === 'true' };
        break;
      case 'bind-propagation':
        m.BindOptions = { Propagation: val };
        break;
      case 'tmpfs-size':
        m.TmpfsOptions = { ...((m.TmpfsOptions as object) ?? {}), SizeBytes: ramInBytes(val) };
        break;
      case 'tmpfs-mode':
        m.TmpfsOptions = { ...((m.TmpfsOptions as object) ?? {}), Mode: parseInt(val, 8) };
        break;
      default:
        throw new Error(`unexpected key '${k}' in '${field}'`);
    }
  }
  if (!m.Target) throw new Error('target is required');
  return m;
}

/** Parses KEY=VALUE lines the way docker's --env-file/--label-file do (comments and blanks skipped). */
export function parseEnvFileText(text: string, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+/, '').replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq === 0) throw new Error(`no variable name on line '${line}'`);
    if (eq > 0) out.push(line);
    else if (env[line] !== undefined) out.push(`${line}=${env[line]}`);
  }
  return out;
}

/** docker's opts.ValidateEnv: "NAME" alone takes the client's value when it has one. */
export function expandEnv(v: string, env: NodeJS.ProcessEnv): string {
  const eq = v.indexOf('=');
  if (eq === 0) throw new Error(`invalid environment variable: ${v}`);
  if (eq > 0) return v;
  return env[v] !== undefined ? `${v}=${env[v]}` : v;
}

export interface CreateRequest {
  name?: string;
  platform?: string;
  body: Record<string, unknown>;
}

export interface ContainerOptsInput {
  values: Record<string, unknown>;
  changed: Set<string>;
  /** IMAGE [COMMAND] [ARG...] */
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Contents of files named by --env-file/--label-file (read by the caller). */
  readFile: (path: string) => string;
  detach: boolean;
}

/** Builds the create request from run/create flags; throws Error with docker's messages on bad input. */
export function buildCreateRequest(inp: ContainerOptsInput): CreateRequest {
  const v = inp.values as Record<string, never>;
  const list = (k: string): string[] => (v[k] as string[] | undefined) ?? [];
  const str = (k: string): string | undefined => (inp.changed.has(k) ? (v[k] as string) : undefined);
  const [image, ...cmd] = inp.args;

  const env: string[] = [];
  for (const f of list('env-file')) env.push(...parseEnvFileText(inp.readFile(f), inp.env));
  for (const e of list('env')) env.push(expandEnv(e, inp.env));

  const labels: Record<string, string> = {};
  for (const f of list('label-file')) Object.assign(labels, kvMap(parseEnvFileText(inp.readFile(f), {})));
  Object.assign(labels, kvMap(list('label')));

  const exposed: Record<string, object> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const spec of list('publish')) {
    for (const { port, binding } of parsePortSpec(spec)) {
      exposed[port] = {};
      (bindings[port] ??= []).push(binding);
    }
  }
  for (const e of list('expose')) {
    const [p, proto = 'tcp'] = e.split('/');
    const r = parsePortRange(p);
    if (!r) throw new Error(`invalid range format for --expose: ${e}, error: invalid port`);
    for (let port = r[0]; port <= r[1]; port++) exposed[`${port}/${proto}`] = {};
  }

  const volumes: Record<string, object> = {};
  const binds: string[] = [];
  for (const spec of list('volume')) {
    const parts = spec.split(':');
    if (parts.length === 1) {
      if (!spec.startsWith('/')) throw new Error(`invalid volume specification: '${spec}': invalid mount config for type "volume": invalid mount path: '${spec}' mount path must be absolute`);
      volumes[spec] = {};
      continue;
    }
    let [host] = parts;
    if (host.startsWith('.')) host = joinPath(inp.cwd, host);
    binds.push([host, ...parts.slice(1)].join(':'));
  }

  const tmpfs: Record<string, string> = {};
  for (const t of list('tmpfs')) {
    const i = t.indexOf(':');
    if (i < 0) tmpfs[t] = '';
    else tmpfs[t.slice(0, i)] = t.slice(i + 1);
  }

  let restart = parseRestartPolicy((v.restart as string) ?? 'no');
  if (v.rm && restart.Name !== 'no') throw new Error('conflicting options: cannot specify both --restart and --rm');
  if (!inp.changed.has('restart')) restart = { Name: 'no', MaximumRetryCount: 0 };

  // Attach streams (run only; create leaves them to `start -a`).
  const attach = list('attach').map((s) => s.toLowerCase());
  for (const a of attach) if (!['stdin', 'stdout', 'stderr'].includes(a)) throw new Error(`invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
  if (inp.detach && attach.length) throw new Error('conflicting options: cannot specify both --attach and --detach');
  const interactive = Boolean(v.interactive);
  let attachStdin = attach.includes('stdin');
  let attachStdout = attach.includes('stdout');
  let attachStderr = attach.includes('stderr');
  if (!inp.detach && attach.length === 0) {
    attachStdout = true;
    attachStderr = true;
    attachStdin = interactive;
  }
  if (inp.detach) {
    attachStdin = false;
    attachStdout = false;
    attachStderr = false;
  }

  let healthcheck: Record<string, unknown> | undefined;
  const healthFlags = ['health-cmd', 'health-interval', 'health-timeout', 'health-start-period', 'health-start-interval', 'health-retries'];
  if (v['no-healthcheck']) {
    if (healthFlags.some((f) => inp.changed.has(f))) throw new Error('--no-healthcheck conflicts with --health-* options');
    healthcheck = { Test: ['NONE'] };
  } else if (healthFlags.some((f) => inp.changed.has(f))) {
    for (const f of ['health-interval', 'health-timeout', 'health-start-period', 'health-start-interval']) {
      if (((v[f] as number | undefined) ?? 0) < 0) throw new Error(`--${f} cannot be negative`);
    }
    if (((v['health-retries'] as number | undefined) ?? 0) < 0) throw new Error('--health-retries cannot be negative');
    healthcheck = {
      ...(str('health-cmd') !== undefined ? { Test: ['CMD-SHELL', v['health-cmd']] } : {}),
      Interval: v['health-interval'] ?? 0,
      Timeout: v['health-timeout'] ?? 0,
      StartPeriod: v['health-start-period'] ?? 0,
      StartInterval: v['health-start-interval'] ?? 0,
      Retries: v['health-retries'] ?? 0,
    };
  }

  const network = str('network') ?? str('net');
  const endpoints: Record<string, unknown> = {};
  if (network && !['default', 'bridge', 'host', 'none'].includes(network) && !network.startsWith('container:')) {
    const ep: Record<string, unknown> = {};
    if (list('network-alias').length) ep.Aliases = list('network-alias');
    if (str('ip')) ep.IPAMConfig = { IPv4Address: v.ip };
    endpoints[network] = ep;
  } else if (list('network-alias').length) {
    throw new Error('network-scoped aliases are only supported for user-defined networks');
  }

  let entrypoint: string[] | undefined;
  if (inp.changed.has('entrypoint')) entrypoint = v.entrypoint ? [v.entrypoint as string] : [''];

  const logOpts = kvMap(list('log-opt'));
  const hostConfig: Record<string, unknown> = {
    Binds: binds.length ? binds : null,
    NetworkMode: network ?? 'default',
    PortBindings: sortKeys(bindings),
    RestartPolicy: restart,
    AutoRemove: Boolean(v.rm),
    CapAdd: list('cap-add').length ? list('cap-add').map(normalizeCapability) : null,
    CapDrop: list('cap-drop').length ? list('cap-drop').map(normalizeCapability) : null,
    Dns: list('dns'),
    DnsOptions: list('dns-option'),
    DnsSearch: list('dns-search'),
    ExtraHosts: list('add-host').length ? list('add-host') : null,
    GroupAdd: list('group-add').length ? list('group-add') : null,
    IpcMode: str('ipc') ?? '',
    PidMode: str('pid') ?? '',
    UTSMode: str('uts') ?? '',
    UsernsMode: str('userns') ?? '',
    CgroupnsMode: str('cgroupns') ?? '',
    Privileged: Boolean(v.privileged),
    PublishAllPorts: Boolean(v['publish-all']),
    ReadonlyRootfs: Boolean(v['read-only']),
    SecurityOpt: list('security-opt').length ? list('security-opt') : null,
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    VolumesFrom: list('volumes-from').length ? list('volumes-from') : null,
    Memory: (v.memory as number | undefined) ?? 0,
    MemoryReservation: (v['memory-reservation'] as number | undefined) ?? 0,
    MemorySwap: (v['memory-swap'] as number | undefined) ?? 0,
    MemorySwappiness: (v['memory-swappiness'] as number | undefined) ?? -1,
    NanoCpus: (v.cpus as number | undefined) ?? 0,
    CpuShares: (v['cpu-shares'] as number | undefined) ?? 0,
    CpuPeriod: (v['cpu-period'] as number | undefined) ?? 0,
    CpuQuota: (v['cpu-quota'] as number | undefined) ?? 0,
    CpusetCpus: str('cpuset-cpus') ?? '',
    CpusetMems: str('cpuset-mems') ?? '',
    CgroupParent: str('cgroup-parent') ?? '',
    PidsLimit: inp.changed.has('pids-limit') ? v['pids-limit'] : null,
    OomKillDisable: Boolean(v['oom-kill-disable']),
    OomScoreAdj: (v['oom-score-adj'] as number | undefined) ?? 0,
    Ulimits: list('ulimit').length ? list('ulimit') : null,
    ShmSize: (v['shm-size'] as number | undefined) ?? 0,
    Sysctls: list('sysctl').length ? kvMap(list('sysctl')) : undefined,
    Devices: list('device').map(parseDevice),
    Mounts: list('mount').length ? list('mount') : undefined,
    LogConfig: { Type: str('log-driver') ?? '', Config: logOpts },
    Init: inp.changed.has('init') ? Boolean(v.init) : null,
    Runtime: str('runtime'),
  };

  const body: Record<string, unknown> = {
    Hostname: str('hostname') ?? '',
    Domainname: str('domainname') ?? '',
    User: str('user') ?? '',
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ExposedPorts: Object.keys(exposed).length ? sortKeys(exposed) : undefined,
    Tty: Boolean(v.tty),
    OpenStdin: interactive,
    StdinOnce: interactive && attachStdin,
    Env: env,
    Cmd: cmd.length ? cmd : null,
    Healthcheck: healthcheck,
    Image: image,
    Volumes: Object.keys(volumes).length ? volumes : null,
    WorkingDir: str('workdir') ?? '',
    Entrypoint: entrypoint ?? null,
    Labels: labels,
    StopSignal: str('stop-signal'),
    StopTimeout: inp.changed.has('stop-timeout') ? v['stop-timeout'] : undefined,
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
  if (!image) throw new UsageError('requires at least 1 argument', 1, true);
  return { name: str('name'), platform: str('platform'), body };
}

/** docker's --device "/dev/x[:/dev/y][:rwm]". */
export function parseDevice(v: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = v.split(':');
  const onHost = parts[0];
  let inContainer = onHost;
  let perms = 'rwm';
  if (parts.length === 2) {
    if (/^[rwm]+$/.test(parts[1])) perms = parts[1];
    else inContainer = parts[1];
  } else if (parts.length === 3) {
    inContainer = parts[1];
    perms = parts[2];
  } else if (parts.length > 3) throw new Error(`invalid device specification: ${v}`);
  return { PathOnHost: onHost, PathInContainer: inContainer, CgroupPermissions: perms };
}

/** docker's opts.NormalizeCapability: upper case with the CAP_ prefix ("net_admin" → "CAP_NET_ADMIN"), ALL as is. */
export function normalizeCapability(c: string): string {
  const up = c.trim().toUpperCase();
  return up === 'ALL' || up.startsWith('CAP_') ? up : `CAP_${up}`;
}

/** Go marshals maps with sorted keys; the engine keeps what it is sent. */
function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

function joinPath(cwd: string, rel: string): string {
  const segs = cwd.split('/');
  for (const s of rel.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segs.pop();
    else segs.push(s);
  }
  return segs.join('/') || '/';
}
