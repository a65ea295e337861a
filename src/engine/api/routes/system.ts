/** System endpoints: _ping, version, info, events. */
import os from 'node:os';
import fs from 'node:fs';
import type { Router } from '../router';
import { API_VERSION, MIN_API_VERSION } from '../router';
import { parseFilters, sendJson } from '../http';
import type { EngineEvent, EventBus } from '../../events';
import { invalid } from '../../../common/errors';

export const ENGINE_VERSION = '28.2.2-skiff';

export interface SystemCounts {
  containers: { total: number; running: number; paused: number; stopped: number };
  images: number;
}

export interface SystemDeps {
  events: EventBus;
  dataDir: string;
  runtimePath: string;
  counts(): SystemCounts;
  /** Swarm section of /info; inactive until the cluster role provides one. */
  swarm?(): Record<string, unknown>;
}

function pingHeaders(): Record<string, string> {
  return {
    'Api-Version': API_VERSION,
    Ostype: 'linux',
    'Docker-Experimental': 'false',
    'Builder-Version': '1',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    'Content-Type': 'text/plain; charset=utf-8',
  };
}

export function registerSystemRoutes(router: Router, deps: SystemDeps): void {
  router.get('/_ping', ({ req, res }) => {
    const headers = pingHeaders();
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'Content-Length': 0 });
      return void res.end();
    }
    res.writeHead(200, headers);
    res.end('OK');
  });

  router.get('/version', ({ res }) => {
    sendJson(res, 200, {
      Platform: { Name: 'skiff' },
      Components: [{ Name: 'Engine', Version: ENGINE_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: 'skiff', GoVersion: `node${process.versions.node}`, Os: 'linux', Arch: goArch(), KernelVersion: os.release(), Experimental: 'false', BuildTime: new Date(0).toISOString() } }],
      Version: ENGINE_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'skiff',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: os.release(),
      BuildTime: new Date(0).toISOString(),
    });
  });

  router.get('/info', ({ res }) => {
    const c = deps.counts();
    sendJson(res, 200, {
      ID: hostId(deps.dataDir),
      Containers: c.containers.total,
      ContainersRunning: c.containers.running,
      ContainersPaused: c.containers.paused,
      ContainersStopped: c.containers.stopped,
      Images: c.images,
      Driver: 'overlay2',
      DriverStatus: [['Backing Filesystem', 'extfs']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Log: ['json-file'] },
      MemoryLimit: true,
      SwapLimit: fs.existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      OomKillDisable: true,
      IPv4Forwarding: readProc('/proc/sys/net/ipv4/ip_forward') === '1',
      Debug: false,
      NFd: 0,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: fs.existsSync('/sys/fs/cgroup/memory') ? '1' : '2',
      NEventsListener: 0,
      KernelVersion: os.release(),
      OperatingSystem: osName(),
      OSVersion: '',
      OSType: 'linux',
      Architecture: os.machine(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'], Mirrors: [] },
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      DockerRootDir: deps.dataDir,
      Name: os.hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: ENGINE_VERSION,
      Runtimes: { runc: { path: deps.runtimePath } },
      DefaultRuntime: 'runc',
      Swarm: deps.swarm?.() ?? { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: '',
      SecurityOptions: ['name=seccomp,profile=builtin'],
      Warnings: [],
    });
  });

  // GET /events?since=&until=&filters=: a JSON stream, one event per line, until the client leaves or `until`.
  router.get('/events', ({ req, res, query }) => {
    const filters = parseFilters(query.get('filters'));
    const since = parseTime(query.get('since'));
    const until = parseTime(query.get('until'));
    const matches = (e: EngineEvent) => eventMatches(e, filters);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const write = (e: EngineEvent) => {
      if (until !== undefined && e.timeNano > until) return;
      if (matches(e)) res.write(JSON.stringify(e) + '\n');
    };
    if (since !== undefined) deps.events.since(since).forEach(write);
    const unsubscribe = deps.events.subscribe(write);
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      if (!res.writableEnded) res.end();
    };
    if (until !== undefined) timer = setTimeout(finish, Math.max(0, until / 1e6 - Date.now()));
    req.on('close', finish);
  });
}

function eventMatches(e: EngineEvent, filters: Map<string, string[]>): boolean {
  for (const [name, values] of filters) {
    if (values.length === 0) continue;
    let ok: boolean;
    switch (name) {
      case 'type':
        ok = values.includes(e.Type);
        break;
      case 'event':
        ok = values.includes(e.Action) || values.some((v) => e.Action.startsWith(v + ':'));
        break;
      case 'container':
      case 'image':
      case 'volume':
      case 'network':
        ok = e.Type === name && values.some((v) => e.Actor.ID.startsWith(v) || e.Actor.Attributes.name === v);
        break;
      case 'label':
        ok = values.every((v) => {
          const [k, val] = v.split('=');
          return val === undefined ? k in e.Actor.Attributes : e.Actor.Attributes[k] === val;
        });
        break;
      default:
        ok = true;
    }
    if (!ok) return false;
  }
  return true;
}

/** Docker sends since/until as unix seconds with optional fraction ("1700000000.000000000"). Returns ns. */
function parseTime(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw invalid(`invalid timestamp '${v}'`);
  const [s, frac = '0'] = v.split('.');
  return Number(s) * 1e9 + Number(frac.padEnd(9, '0').slice(0, 9));
}

function readProc(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
}

function osName(): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readProc('/etc/os-release'));
  return m ? m[1] : 'Linux';
}

function goArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

let cachedId: string | undefined;
function hostId(dataDir: string): string {
  if (cachedId) return cachedId;
  const file = `${dataDir}/engine-id`;
  try {
    cachedId = fs.readFileSync(file, 'utf8').trim();
  } catch {
    cachedId = require('node:crypto').randomUUID().toUpperCase();
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, cachedId!);
  }
  return cachedId!;
}
