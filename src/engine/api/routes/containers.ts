/**
 * Docker Engine API routes for containers: translate HTTP to ContainerManager calls and records to
 * Docker's shapes (inspect, ps, stats). No lifecycle logic lives here.
 */
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Router } from '../router';
import { boolParam, parseFilters, readJson, sendJson, sendNoContent, sendError } from '../http';
import { frame, writeUpgraded } from '../server';
import { conflict, invalid } from '../../../common/errors';
import type { ContainerManager } from '../../containers/manager';
import type { ContainerRecord } from '../../containers/types';
import type { CreateBody } from '../../containers/config';
import type { LogEntry } from '../../containers/logs';
import type { CgroupStats } from '../../runtime/cgroups';

export interface ContainerRouteDeps {
  containers: ContainerManager;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
/** Bytes queued for one client before reading its container's log pauses. */
const HIGH_WATER = 4 * 1024 * 1024;

export function registerContainerRoutes(router: Router, deps: ContainerRouteDeps): void {
  const mgr = deps.containers;

  router.post('/containers/create', async ({ req, res, query }) => {
    const body = await readJson<CreateBody>(req);
    const out = await mgr.create(body, query.get('name'));
    sendJson(res, 201, out);
  });

  router.get('/containers/json', ({ res, query }) => {
    // Docker lists every state when a limit is given (`docker ps -l` / `-n N` send only `limit`).
    const all = boolParam(query, 'all') || Number(query.get('limit') ?? -1) > 0;
    const filters = parseFilters(query.get('filters'));
    let list = mgr.list().sort((a, b) => (b.Created < a.Created ? -1 : b.Created > a.Created ? 1 : 0));
    list = applyFilters(list, filters, mgr, all);
    const limit = Number(query.get('limit') ?? -1);
    if (limit > 0) list = list.slice(0, limit);
    sendJson(res, 200, list.map((r) => psView(r)));
  });

  router.get('/containers/{id}/json', ({ res, params }) => {
    sendJson(res, 200, inspectView(mgr.get(params.id), mgr));
  });

  router.post('/containers/{id}/start', async ({ res, params }) => {
    await mgr.start(params.id);
    sendNoContent(res);
  });

  router.post('/containers/{id}/stop', async ({ res, params, query }) => {
    await mgr.stop(params.id, intParam(query, 't'), query.get('signal') ?? undefined);
    sendNoContent(res);
  });

  router.post('/containers/{id}/restart', async ({ res, params, query }) => {
    await mgr.restart(params.id, intParam(query, 't'), query.get('signal') ?? undefined);
    sendNoContent(res);
  });

  router.post('/containers/{id}/kill', async ({ res, params, query }) => {
    await mgr.kill(params.id, query.get('signal') ?? undefined);
    sendNoContent(res);
  });

  router.post('/containers/{id}/pause', async ({ res, params }) => {
    await mgr.pause(params.id);
    sendNoContent(res);
  });

  router.post('/containers/{id}/unpause', async ({ res, params }) => {
    await mgr.unpause(params.id);
    sendNoContent(res);
  });

  router.delete('/containers/{id}', async ({ res, params, query }) => {
    await mgr.remove(params.id, { force: boolParam(query, 'force'), volumes: boolParam(query, 'v') });
    sendNoContent(res);
  });

  router.post('/containers/{id}/rename', async ({ res, params, query }) => {
    const name = query.get('name');
    if (!name) throw invalid('name cannot be empty');
    await mgr.rename(params.id, name);
    sendNoContent(res);
  });

  // The CLI sends wait before start and blocks on the headers: write them at once, the body at exit.
  router.post('/containers/{id}/wait', async ({ req, res, params, query }) => {
    const exit = mgr.wait(params.id, query.get('condition') || 'not-running');
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    let gone = false;
    req.on('close', () => (gone = true));
    const code = await exit;
    if (!gone) res.end(JSON.stringify({ StatusCode: code }) + '\n');
  });

  router.post('/containers/{id}/resize', ({ res, params, query }) => {
    mgr.resize(params.id, Number(query.get('h') ?? 0), Number(query.get('w') ?? 0));
    sendJson(res, 200, {});
  });

  router.post('/containers/prune', async ({ res, query }) => {
    const filters = parseFilters(query.get('filters'));
    const deleted: string[] = [];
    for (const r of applyFilters(mgr.list(), filters, mgr, true)) {
      if (r.State.Running || r.State.Paused || r.State.Restarting) continue;
      await mgr.remove(r.Id).then(() => deleted.push(r.Id)).catch(() => undefined);
    }
    sendJson(res, 200, { ContainersDeleted: deleted, SpaceReclaimed: 0 });
  });

  router.get('/containers/{id}/logs', async ({ req, res, params, query }) => {
    const rec = mgr.get(params.id);
    const stdout = boolParam(query, 'stdout');
    const stderr = boolParam(query, 'stderr');
    if (!stdout && !stderr) throw invalid('Bad parameters: you must choose at least one stream');
    const follow = boolParam(query, 'follow');
    const timestamps = boolParam(query, 'timestamps');
    const tailRaw = query.get('tail');
    const tail = !tailRaw || tailRaw === 'all' ? undefined : Number(tailRaw);
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw invalid(`invalid tail value: ${tailRaw}`);
    const sinceMs = timeParamMs(query.get('since'));
    const untilMs = timeParamMs(query.get('until'));
    const opts = { stdout, stderr, sinceMs, untilMs, tail };
    const { entries, offset, ino, tty } = await mgr.readLogs(rec.Id, opts);
    res.writeHead(200, { 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
    const write = (e: LogEntry) => {
      if ((e.stream === 'stdout' && !stdout) || (e.stream === 'stderr' && !stderr)) return;
      if (untilMs !== undefined && e.timeMs > untilMs) return;
      const payload = timestamps ? Buffer.concat([Buffer.from(e.time + ' '), e.data]) : e.data;
      res.write(tty ? payload : frame(e.stream === 'stdout' ? 1 : 2, payload));
    };
    entries.forEach(write);
    if (!follow || !rec.State.Running || (untilMs !== undefined && untilMs <= Date.now())) return void res.end();
    res.flushHeaders();
    // Back-pressure: a slow reader pauses the follower instead of growing our buffer without bound.
    const f = mgr.followOutput(rec.Id, { offset, ino }, write, { untilExit: true, blocked: () => res.writableLength > HIGH_WATER });
    res.on('drain', f.resume);
    req.on('close', f.stop);
    await f.done;
    if (!res.writableEnded) res.end();
  });

  router.hijack('POST', '/containers/{id}/attach', async ({ socket, head, params, query }) => {
    const rec = mgr.get(params.id);
    const stream = boolParam(query, 'stream');
    const logs = boolParam(query, 'logs');
    const wantIn = boolParam(query, 'stdin');
    const stdout = boolParam(query, 'stdout');
    const stderr = boolParam(query, 'stderr');
    const running = rec.State.Running;
    if (stream && !running && rec.State.Status !== 'created' && !rec.State.Restarting)
      throw conflict('You cannot attach to a stopped container, start it first');
    const tty = rec.Config.Tty;
    writeUpgraded(socket, tty);
    mgr.noteAttach(rec.Id);
    const write = (e: LogEntry) => {
      if ((e.stream === 'stdout' && !stdout) || (e.stream === 'stderr' && !stderr)) return;
      if (!socket.writable) return;
      socket.write(tty ? e.data : frame(e.stream === 'stdout' ? 1 : 2, e.data));
    };
    const { entries, offset, ino } = await mgr.readLogs(rec.Id, { stdout, stderr });
    if (logs) entries.forEach(write);
    if (!stream) return void socket.end();
    const follower = mgr.followOutput(rec.Id, { offset, ino }, write, {
      untilExit: true,
      blocked: () => socket.writableLength > HIGH_WATER,
    });
    socket.on('drain', follower.resume);
    let closed = false;
    socket.on('close', () => {
      closed = true;
      follower.stop();
    });
    if (wantIn && rec.Config.OpenStdin) pipeStdin(socket, head, mgr, rec.Id);
    else socket.resume();
    await follower.done;
    if (!closed) socket.end();
  });

  router.get('/containers/{id}/stats', async ({ req, res, params, query }) => {
    const stream = query.get('stream') === null ? true : boolParam(query, 'stream');
    const oneShot = boolParam(query, 'one-shot');
    const sample = () => ({ ...mgr.stats(params.id), at: new Date().toISOString() });
    let prev = sample();
    if (!stream) {
      if (!oneShot && prev.stats) {
        await new Promise((r) => setTimeout(r, 500));
        const cur = sample();
        return sendJson(res, 200, statsView(cur.rec, cur.stats, cur.systemCpu, prev.stats, prev.systemCpu, prev.at));
      }
      return sendJson(res, 200, statsView(prev.rec, prev.stats, prev.systemCpu));
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(JSON.stringify(statsView(prev.rec, prev.stats, prev.systemCpu)) + '\n');
    const timer = setInterval(() => {
      try {
        const cur = sample();
        res.write(JSON.stringify(statsView(cur.rec, cur.stats, cur.systemCpu, prev.stats, prev.systemCpu, prev.at)) + '\n');
        prev = cur;
      } catch (err) {
        clearInterval(timer);
        sendError(res, err);
      }
    }, 1000);
    req.on('close', () => clearInterval(timer));
  });

  router.get('/containers/{id}/top', ({ res, params }) => {
    const rec = mgr.get(params.id);
    if (!rec.State.Running) throw conflict(`container ${rec.Id} is not running`);
    sendJson(res, 200, { Titles: ['PID', 'CMD'], Processes: [[String(rec.State.Pid), [rec.Path, ...rec.Args].join(' ')]] });
  });
}

/** Feeds the hijacked socket's bytes to the container's stdin once it runs; half-close ends stdin. */
export function pipeStdin(socket: Duplex, head: Buffer, mgr: ContainerManager, id: string): void {
  const buffered: Buffer[] = head.length ? [head] : [];
  let ended = false;
  let bridge: ReturnType<ContainerManager['attachStdin']> | undefined;
  socket.on('data', (d: Buffer) => (bridge ? bridge.write(d) : buffered.push(d)));
  socket.on('end', () => {
    ended = true;
    bridge?.end();
  });
  socket.on('close', () => bridge?.close());
  void mgr
    .onceStarted(id)
    .then(() => {
      if (socket.destroyed && !ended) return;
      // The container may already be gone (a fast --rm run): then there is no stdin to feed.
      bridge = mgr.attachStdin(id);
      for (const b of buffered.splice(0)) bridge.write(b);
      if (ended) bridge.end();
    })
    .catch(() => undefined);
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw invalid(`invalid value for ${name}: ${v}`);
  return Number(v);
}

/** Docker's since/until: unix seconds (with fraction), or an RFC 3339 date, or a duration like "10m". */
export function timeParamMs(v: string | null): number | undefined {
  if (v === null || v === '' || v === '0') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v);
  if (d) return Date.now() - Number(d[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[d[2] as 'ms' | 's' | 'm' | 'h'];
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalid(`invalid value for time: ${v}`);
  return t;
}

// ------------------------------------------------------------------ views

function unixSeconds(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}

/** Docker's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(ms / 60000);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(ms / 3600000);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.round(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.round(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.round(h / 24 / 30)} months`;
  return `${Math.round(h / 24 / 365)} years`;
}

export function statusText(r: ContainerRecord): string {
  const s = r.State;
  const now = Date.now();
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.Running) {
    let t = `Up ${humanDuration(now - Date.parse(s.StartedAt))}`;
    if (s.Paused) t += ' (Paused)';
    else if (s.Health && s.Health.Status !== 'none') t += s.Health.Status === 'starting' ? ' (health: starting)' : ` (${s.Health.Status})`;
    return t;
  }
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Status === 'dead') return 'Dead';
  if (s.Status === 'created' || s.FinishedAt === ZERO_TIME) return 'Created';
  return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
}

function portsView(r: ContainerRecord): Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> {
  const out: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> = [];
  const bound = new Set<string>();
  for (const p of r.Skiff.network?.ports ?? []) {
    out.push({ IP: p.hostIp || '0.0.0.0', PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol });
    bound.add(`${p.containerPort}/${p.protocol}`);
  }
  for (const key of Object.keys(r.Config.ExposedPorts ?? {})) {
    if (bound.has(key)) continue;
    const [port, proto = 'tcp'] = key.split('/');
    out.push({ PrivatePort: Number(port), Type: proto });
  }
  return out;
}

function networksView(r: ContainerRecord): Record<string, unknown> {
  const mode = r.HostConfig.NetworkMode || 'default';
  const nets: Record<string, unknown> = {};
  for (const ep of r.Skiff.network?.endpoints ?? []) {
    nets[ep.network] = {
      IPAMConfig: null,
      Links: null,
      Aliases: ep.aliases,
      MacAddress: ep.macAddress,
      NetworkID: ep.networkId,
      EndpointID: ep.endpointId,
      Gateway: ep.gateway,
      IPAddress: ep.ipAddress,
      IPPrefixLen: ep.prefixLen,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DriverOpts: null,
      DNSNames: null,
    };
  }
  if (!Object.keys(nets).length && (mode === 'host' || mode === 'none'))
    nets[mode] = { IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', NetworkID: mode, EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DriverOpts: null, DNSNames: null };
  return nets;
}

function mountsView(r: ContainerRecord): unknown[] {
  return r.Mounts.map((m) => ({
    Type: m.Type,
    ...(m.Name ? { Name: m.Name } : {}),
    Source: m.Source,
    Destination: m.Destination,
    ...(m.Driver ? { Driver: m.Driver } : {}),
    Mode: m.Mode,
    RW: m.RW,
    Propagation: m.Propagation,
  }));
}

export function psView(r: ContainerRecord): Record<string, unknown> {
  return {
    Id: r.Id,
    Names: [r.Name],
    Image: r.Config.Image,
    ImageID: r.Image,
    Command: [r.Path, ...r.Args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' '),
    Created: unixSeconds(r.Created),
    Ports: portsView(r),
    Labels: r.Config.Labels ?? {},
    State: r.State.Status,
    Status: statusText(r),
    HostConfig: { NetworkMode: r.HostConfig.NetworkMode || 'default' },
    NetworkSettings: { Networks: networksView(r) },
    Mounts: mountsView(r),
  };
}

const HOST_CONFIG_DEFAULTS = {
  Binds: null,
  ContainerIDFile: '',
  LogConfig: { Type: 'json-file', Config: {} },
  NetworkMode: 'default',
  PortBindings: {},
  RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
  AutoRemove: false,
  VolumeDriver: '',
  VolumesFrom: null,
  ConsoleSize: [0, 0],
  CapAdd: null,
  CapDrop: null,
  CgroupnsMode: 'host',
  Dns: [],
  DnsOptions: [],
  DnsSearch: [],
  ExtraHosts: null,
  GroupAdd: null,
  IpcMode: 'private',
  Cgroup: '',
  Links: null,
  OomScoreAdj: 0,
  PidMode: '',
  Privileged: false,
  PublishAllPorts: false,
  ReadonlyRootfs: false,
  SecurityOpt: null,
  UTSMode: '',
  UsernsMode: '',
  ShmSize: 67108864,
  Runtime: 'runc',
  Isolation: '',
  CpuShares: 0,
  Memory: 0,
  NanoCpus: 0,
  CgroupParent: '',
  BlkioWeight: 0,
  BlkioWeightDevice: [],
  BlkioDeviceReadBps: [],
  BlkioDeviceWriteBps: [],
  BlkioDeviceReadIOps: [],
  BlkioDeviceWriteIOps: [],
  CpuPeriod: 0,
  CpuQuota: 0,
  CpuRealtimePeriod: 0,
  CpuRealtimeRuntime: 0,
  CpusetCpus: '',
  CpusetMems: '',
  Devices: [],
  DeviceCgroupRules: null,
  DeviceRequests: null,
  MemoryReservation: 0,
  MemorySwap: 0,
  MemorySwappiness: null,
  OomKillDisable: null,
  PidsLimit: null,
  Ulimits: [],
  CpuCount: 0,
  CpuPercent: 0,
  IOMaximumIOps: 0,
  IOMaximumBandwidth: 0,
  MaskedPaths: [] as string[],
  ReadonlyPaths: [] as string[],
};

export function inspectView(r: ContainerRecord, mgr: ContainerManager): Record<string, unknown> {
  const dir = mgr.dataDirOf(r.Id);
  const hc: Record<string, unknown> = { ...HOST_CONFIG_DEFAULTS, ...r.HostConfig };
  if (!r.HostConfig.Privileged) {
    const { MASKED_PATHS, READONLY_PATHS } = require('../../runtime/spec') as typeof import('../../runtime/spec');
    hc.MaskedPaths = MASKED_PATHS;
    hc.ReadonlyPaths = READONLY_PATHS;
  }
  // Docker shows the effective swap (twice the memory when unset).
  if (r.HostConfig.Memory && !r.HostConfig.MemorySwap) hc.MemorySwap = r.HostConfig.Memory * 2;
  const net = r.Skiff.network;
  const primary = net?.endpoints[0];
  const state: Record<string, unknown> = { ...r.State };
  if (!r.State.Health) delete state.Health;
  return {
    Id: r.Id,
    Created: r.Created,
    Path: r.Path,
    Args: r.Args,
    State: state,
    Image: r.Image,
    ResolvConfPath: path.join(dir, 'resolv.conf'),
    HostnamePath: path.join(dir, 'hostname'),
    HostsPath: path.join(dir, 'hosts'),
    LogPath: mgr.logPath(r.Id),
    Name: r.Name,
    RestartCount: r.RestartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: hc,
    GraphDriver: { Name: 'overlay2', Data: null },
    Mounts: mountsView(r),
    Config: { ...r.Config, Hostname: r.Config.Hostname || (r.HostConfig.NetworkMode === 'host' ? os.hostname() : r.Id.slice(0, 12)) },
    NetworkSettings: {
      Bridge: '',
      SandboxID: net ? r.Id : '',
      SandboxKey: net?.netnsPath ?? '',
      Ports: Object.fromEntries(
        Object.keys(r.Config.ExposedPorts ?? {}).map((k) => {
          const [port, proto = 'tcp'] = k.split('/');
          const bound = (net?.ports ?? []).filter((p) => String(p.containerPort) === port && p.protocol === proto);
          return [k, bound.length ? bound.map((b) => ({ HostIp: b.hostIp || '0.0.0.0', HostPort: String(b.hostPort) })) : null];
        }),
      ),
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: primary?.endpointId ?? '',
      Gateway: primary?.gateway ?? '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: primary?.ipAddress ?? '',
      IPPrefixLen: primary?.prefixLen ?? 0,
      IPv6Gateway: '',
      MacAddress: primary?.macAddress ?? '',
      Networks: networksView(r),
    },
  };
}

function applyFilters(list: ContainerRecord[], filters: Map<string, string[]>, mgr: ContainerManager, all: boolean): ContainerRecord[] {
  const known = new Set(['status', 'name', 'id', 'label', 'ancestor', 'exited', 'before', 'since', 'health', 'volume', 'network', 'is-task', 'publish', 'expose']);
  for (const k of filters.keys()) if (!known.has(k)) throw invalid(`invalid filter '${k}'`);
  const statuses = filters.get('status') ?? [];
  for (const s of statuses)
    if (!['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'].includes(s))
      throw invalid(`invalid filter 'status=${s}'`);
  const showAll = all || statuses.length > 0 || (filters.get('exited') ?? []).length > 0;
  const refTime = (ref: string) => {
    try {
      return mgr.get(ref).Created;
    } catch {
      throw invalid(`No such container: ${ref}`);
    }
  };
  const before = (filters.get('before') ?? []).map(refTime);
  const since = (filters.get('since') ?? []).map(refTime);
  return list.filter((r) => {
    if (!showAll && !r.State.Running && !r.State.Restarting) return false;
    if (statuses.length && !statuses.includes(r.State.Status)) return false;
    const names = filters.get('name') ?? [];
    if (names.length && !names.some((n) => new RegExp(n).test(r.Name.slice(1)) || new RegExp(n).test(r.Name))) return false;
    const ids = filters.get('id') ?? [];
    if (ids.length && !ids.some((i) => r.Id.startsWith(i))) return false;
    const labels = filters.get('label') ?? [];
    if (
      labels.length &&
      !labels.every((l) => {
        const [k, v] = l.split(/=(.*)/s);
        return v === undefined ? k in (r.Config.Labels ?? {}) : r.Config.Labels?.[k] === v;
      })
    )
      return false;
    const ancestors = filters.get('ancestor') ?? [];
    if (
      ancestors.length &&
      !ancestors.some((a) => r.Config.Image === a || r.Config.Image === `${a}:latest` || `${r.Config.Image}:latest` === a || r.Image === a || r.Image.replace('sha256:', '').startsWith(a.replace('sha256:', '')))
    )
      return false;
    const exited = filters.get('exited') ?? [];
    if (exited.length && (r.State.Running || r.State.Status !== 'exited' || !exited.includes(String(r.State.ExitCode)))) return false;
    if (before.some((t) => !(r.Created < t))) return false;
    if (since.some((t) => !(r.Created > t))) return false;
    const health = filters.get('health') ?? [];
    if (health.length && !health.includes(r.State.Health?.Status ?? 'none')) return false;
    const vols = filters.get('volume') ?? [];
    if (vols.length && !vols.some((v) => r.Mounts.some((m) => m.Name === v || m.Destination === v || m.Source === v))) return false;
    const nets = filters.get('network') ?? [];
    if (nets.length && !nets.some((n) => (r.HostConfig.NetworkMode || 'default') === n || (r.Skiff.network?.endpoints ?? []).some((e) => e.network === n || e.networkId.startsWith(n)))) return false;
    return true;
  });
}

function cpuStatsView(s: CgroupStats | undefined, systemCpu: number): Record<string, unknown> {
  return {
    cpu_usage: {
      total_usage: s?.cpuTotal ?? 0,
      percpu_usage: s?.cpuPerCpu ?? [],
      usage_in_kernelmode: s?.cpuSystem ?? 0,
      usage_in_usermode: s?.cpuUser ?? 0,
    },
    system_cpu_usage: systemCpu,
    online_cpus: os.cpus().length,
    throttling_data: s?.throttling ?? { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

export function statsView(
  r: ContainerRecord,
  cur: CgroupStats | undefined,
  systemCpu: number,
  prev?: CgroupStats,
  prevSystem?: number,
  prevAt?: string,
): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    name: r.Name,
    id: r.Id,
    read: cur ? now : ZERO_TIME,
    preread: prev ? prevAt ?? now : ZERO_TIME,
    pids_stats: cur ? { current: cur.pidsCurrent ?? 0, ...(cur.pidsLimit !== undefined ? { limit: cur.pidsLimit } : {}) } : {},
    blkio_stats: {
      io_service_bytes_recursive: cur ? cur.blkio.map((b) => ({ major: b.major, minor: b.minor, op: b.op, value: b.value })) : null,
      io_serviced_recursive: null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cur ? cpuStatsView(cur, systemCpu) : { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    precpu_stats: prev ? cpuStatsView(prev, prevSystem ?? 0) : { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: cur
      ? {
          usage: cur.memoryUsage ?? 0,
          max_usage: cur.memoryMaxUsage ?? 0,
          stats: cur.memoryStat,
          failcnt: cur.memoryFailcnt ?? 0,
          limit: cur.memoryLimit ?? os.totalmem(),
        }
      : {},
    ...(r.Skiff.network ? { networks: Object.fromEntries(r.Skiff.network.endpoints.map(() => ['eth0', { rx_bytes: 0, rx_packets: 0, rx_errors: 0, rx_dropped: 0, tx_bytes: 0, tx_packets: 0, tx_errors: 0, tx_dropped: 0 }])) } : {}),
  };
}
