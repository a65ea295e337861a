/**
 * The container manager: container records (persisted), their lifecycle over the runtime (runc driven
 * through conmon), restart policies, health checks, and re-adoption of running containers after the
 * engine restarts.
 *
 * Layout:
 *   DATA_DIR/containers/<id>/config.v2.json   the record (atomic replace)
 *   DATA_DIR/containers/<id>/container.log    conmon's k8s-file log (survives the engine and restarts)
 *   DATA_DIR/containers/<id>/{hostname,hosts,resolv.conf,persist/}
 *   RUN_DIR/runc/<id>                         runc state (runc --root)
 *   RUN_DIR/c/<id>/{config.json,rootfs,attach,ctl,pidfile,conmon.pid}   bundle and conmon endpoints
 *   RUN_DIR/exits/<id>                        conmon's exit file
 *   RUN_DIR/launch/                           stdio files of commands run through the launch helper
 * cgroups: /<cgroupParent>/<id> in every v1 hierarchy.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { SkiffError, conflict, internal, invalid, notFound, notModified } from '../../common/errors';
import type { ContainerNetworking, PortBinding, SandboxResult } from '../../network/types';
import { run as spawnRun, type Runner } from '../../network/exec';
import type { ImageLookup, Snapshotter } from '../images/types';
import { conmonCreate } from '../runtime/conmon';
import { ExitWatcher } from '../runtime/exits';
import { Launcher } from '../runtime/launcher';
import { Runc } from '../runtime/runc';
import { buildSpec, capsFromMask, type OciSpec } from '../runtime/spec';
import { oomKilled, readStats, removeCgroups, systemCpuUsage, type CgroupStats } from '../runtime/cgroups';
import { attachInput, resizeTerminal, reopenLog, type AttachInput } from '../runtime/attach';
import type { VolumeService } from '../volumes/service';
import { commandOf, mergeConfig, parseSignal, restartPolicyOf, validateHostConfig, type CreateBody } from './config';
import { LogFollower, logFiles, readLog, type LogEntry, type ReadOptions } from './logs';
import { copyUpVolumes, ociMounts, resolveMounts } from './mounts';
import { generateName, newId, validateName } from './names';
import { BACKOFF_START_MS, nextBackoff, shouldRestart, startOnBoot } from './restart';
import { ContainerStore } from './store';
import type { ContainerRecord, ContainerState } from './types';
import { resolveUser, rootfsPath } from './user';
import { HealthMonitor, healthEnabled } from './health';

export interface ContainerManagerOptions {
  dataDir: string;
  runDir: string;
  runtimePath: string;
  conmonPath: string;
  images: ImageLookup;
  snapshotter: Snapshotter;
  volumes: VolumeService;
  /** Bridge/user networks; without it, bridge-mode containers get an empty network namespace. */
  networking?: ContainerNetworking;
  onEvent?(action: string, id: string, attributes: Record<string, string>): void;
  /** cgroup parent (v1, cgroupfs); defaults to "skiff" for the default run dir, "skiff-<hash>" otherwise. */
  cgroupParent?: string;
}

interface Live {
  rec: ContainerRecord;
  /** Serializes start/stop/restart/remove. */
  lock: Promise<void>;
  /** Resolved with the exit code once an exit is fully processed. */
  exitWaiters: Array<(code: number) => void>;
  removedWaiters: Array<(code: number) => void>;
  restartTimer?: NodeJS.Timeout;
  backoffMs: number;
  startedAtMs: number;
  health?: HealthMonitor;
  /** Set while stop/kill/rm wants the exit not to trigger the restart policy. */
  exiting?: Promise<void>;
  removed?: boolean;
  rotateTimer?: NodeJS.Timeout;
  /**
   * The last exit's runtime leftovers (runc state, cgroups, host rootfs mount): 'deferred' — still there, left
   * to the removal or the next start (setExitCleanupPolicy); 'collected' — cleanupRuntime ran after the exit,
   * so the removal need not repeat it. Unset while the container runs (or before its first start).
   */
  leftovers?: 'deferred' | 'collected';
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

function nowIso(): string {
  return new Date().toISOString().replace('Z', '000000Z').replace(/(\.\d{9})\d*Z$/, '$1Z');
}

function freshState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

/** The engine's capability bounding set (CapBnd): containers cannot get capabilities the engine lacks. */
function hostCapabilities(): string[] | undefined {
  try {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? capsFromMask(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function nofileHardLimit(): number {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const hard = line?.split(/\s{2,}/)[2];
    if (hard && /^\d+$/.test(hard)) return Math.min(Number(hard), 1048576);
  } catch {
    /* fall through */
  }
  return 1024;
}

export class ContainerManager {
  readonly runc: Runc;
  private readonly store: ContainerStore;
  private readonly exits: ExitWatcher;
  private readonly live = new Map<string, Live>();
  private readonly names = new Map<string, string>(); // name (no slash) -> id
  private readonly cgroupParent: string;
  private readonly nofileHard = nofileHardLimit();
  private readonly hostCaps = hostCapabilities();
  private readonly swapAccounting = fs.existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
  /** Starts conmon without forking this (large) process; see runtime/launcher.ts. */
  private readonly launcher: Launcher | undefined;
  private closed = false;

  constructor(readonly opts: ContainerManagerOptions) {
    this.launcher = process.env.SKIFF_NO_LAUNCHER ? undefined : new Launcher({ workDir: path.join(opts.runDir, 'launch'), runtime: opts.runtimePath });
    this.runc = new Runc({ path: opts.runtimePath, root: path.join(opts.runDir, 'runc'), launcher: this.launcher });
    this.store = new ContainerStore(path.join(opts.dataDir, 'containers'));
    this.exits = new ExitWatcher(path.join(opts.runDir, 'exits'));
    fs.mkdirSync(path.join(opts.runDir, 'c'), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(opts.runDir, 'runc'), { recursive: true, mode: 0o700 });
    this.cgroupParent =
      opts.cgroupParent ??
      (path.resolve(opts.runDir) === '/run/skiff'
        ? 'skiff'
        : `skiff-${crypto.createHash('sha256').update(path.resolve(opts.runDir)).digest('hex').slice(0, 10)}`);
  }

  /**
   * A runner for networking's per-container commands (netns, CNI plugins) through the same launch helper as
   * conmon, so that bridge containers do not fork the engine either; spawned directly once the manager closed.
   */
  commandRunner(): Runner | undefined {
    const l = this.launcher;
    if (!l) return undefined;
    return (cmd, args, o) => (l.open ? l.run(cmd, args, o) : spawnRun(cmd, args, { ...o, allowFail: true }));
  }

  /** Networking plugs in after construction (the composition root builds it later). */
  setNetworking(networking: ContainerNetworking | undefined): void {
    this.opts.networking = networking;
    this.networkingSet();
  }
  private networkingSet!: () => void;

  /**
   * Containers for which `deferCleanup(rec)` is true (and that do not restart) skip the runtime cleanup at
   * exit: their waiters hear of the exit at once, and the leftovers (runc state, cgroups, a host rootfs
   * mount) go when the container is removed — or before it starts again. The node agent uses it for pod
   * containers, which it always removes after they exit, so that the cleanup happens when the agent's
   * teardown runs (after pending pod starts) rather than the moment the process dies.
   */
  setExitCleanupPolicy(deferCleanup: ((rec: ContainerRecord) => boolean) | undefined): void {
    this.deferCleanup = deferCleanup;
  }
  private deferCleanup?: (rec: ContainerRecord) => boolean;
  /** Adoption waits for networking to be plugged in (the composition root does it after this block). */
  private readonly networkingReady = new Promise<void>((resolve) => {
    this.networkingSet = resolve;
    setTimeout(resolve, 2000).unref();
  });

  // ---------------------------------------------------------------- paths

  bundleDir(id: string): string {
    return path.join(this.opts.runDir, 'c', id);
  }
  dataDirOf(id: string): string {
    return this.store.dir(id);
  }
  logPath(id: string): string {
    return path.join(this.store.dir(id), 'container.log');
  }
  cgroupsPath(id: string): string {
    return `/${this.cgroupParent}/${id}`;
  }
  get cgroupParentName(): string {
    return this.cgroupParent;
  }

  // ---------------------------------------------------------------- lookup

  /** By full id, name ("x" or "/x"), or unique id prefix. */
  get(ref: string): ContainerRecord {
    return this.find(ref).rec;
  }

  private find(ref: string): Live {
    if (!ref) throw notFound('No such container: ');
    const byId = this.live.get(ref);
    if (byId && !byId.removed) return byId;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const id = this.names.get(name);
    if (id) return this.live.get(id)!;
    const matches = [...this.live.values()].filter((l) => !l.removed && l.rec.Id.startsWith(ref));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw invalid(`multiple IDs found with provided prefix: ${ref}`);
    throw notFound(`No such container: ${ref}`);
  }

  list(): ContainerRecord[] {
    return [...this.live.values()].filter((l) => !l.removed).map((l) => l.rec);
  }

  /** Containers using a volume (for `volume rm`). */
  usersOfVolume(name: string): string[] {
    return this.list()
      .filter((r) => r.Mounts.some((m) => m.Type === 'volume' && m.Name === name))
      .map((r) => r.Id);
  }

  usersOfImage(imageId: string): ContainerRecord[] {
    return this.list().filter((r) => r.Image === imageId);
  }

  counts(): { total: number; running: number; paused: number; stopped: number } {
    const all = this.list();
    const running = all.filter((r) => r.State.Running && !r.State.Paused).length;
    const paused = all.filter((r) => r.State.Paused).length;
    return { total: all.length, running, paused, stopped: all.length - running - paused };
  }

  private event(action: string, rec: ContainerRecord, extra: Record<string, string> = {}): void {
    this.opts.onEvent?.(action, rec.Id, {
      ...rec.Config.Labels,
      image: rec.Config.Image,
      name: rec.Name.slice(1),
      ...extra,
    });
  }

  private async withLock<T>(live: Live, fn: () => Promise<T>): Promise<T> {
    const prev = live.lock;
    let release!: () => void;
    live.lock = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private save(live: Live): Promise<void> {
    if (live.removed) return Promise.resolve();
    return this.store.save(live.rec);
  }

  // ---------------------------------------------------------------- create

  async create(body: CreateBody, nameParam?: string | null): Promise<{ Id: string; Warnings: string[] }> {
    if (!body || typeof body !== 'object') throw invalid('config cannot be empty in order to create a container');
    const hc = body.HostConfig ?? {};
    validateHostConfig(hc);
    let name: string;
    if (nameParam) {
      name = validateName(nameParam);
      const holder = this.names.get(name);
      if (holder)
        throw conflict(
          `Conflict. The container name "/${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
    } else name = generateName((n) => this.names.has(n));
    if (!body.Image) throw invalid('No image was specified');
    const image = await this.opts.images.resolve(body.Image);
    const config = mergeConfig(body, image.config, body.Image);
    const cmd = commandOf(config);
    if (config.User) {
      // Validate the syntax now; names resolve against the rootfs at start.
      if (!/^[^:]+(:[^:]+)?$/.test(config.User)) throw invalid(`invalid user: ${config.User}`);
    }
    const id = newId();
    // Reserve the name before any await that could interleave with another create.
    if (this.names.has(name))
      throw conflict(`Conflict. The container name "/${name}" is already in use by container "${this.names.get(name)}". You have to remove (or rename) that container to be able to reuse that name.`);
    this.names.set(name, id);
    let snapshotPrepared = false;
    let mounts: ContainerRecord['Mounts'] = [];
    try {
      mounts = await resolveMounts(config, hc, this.opts.volumes);
      await this.opts.snapshotter.prepare(id, image.id);
      snapshotPrepared = true;
      const hostConfig = {
        NetworkMode: 'default',
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
        LogConfig: { Type: 'json-file', Config: {} },
        ...hc,
      };
      // The CLI sends `LogConfig: {Type: "", Config: {...--log-opt}}` when no driver is named.
      if (!hostConfig.LogConfig || !hostConfig.LogConfig.Type)
        hostConfig.LogConfig = { Type: 'json-file', Config: hostConfig.LogConfig?.Config ?? {} };
      if (!['json-file', 'k8s-file', 'local'].includes(hostConfig.LogConfig.Type))
        throw invalid(`logging driver "${hostConfig.LogConfig.Type}" is not supported by skiff (json-file only)`);
      parseLogOpts(hostConfig.LogConfig.Config ?? {});
      const rec: ContainerRecord = {
        Id: id,
        Name: `/${name}`,
        Created: nowIso(),
        Path: cmd.path,
        Args: cmd.args,
        Image: image.id,
        Config: config,
        HostConfig: hostConfig,
        NetworkingConfig: body.NetworkingConfig,
        State: freshState(),
        RestartCount: 0,
        Mounts: mounts,
        Skiff: { manuallyStopped: false, hasBeenStarted: false },
      };
      await this.store.create(rec);
      this.live.set(id, { rec, lock: Promise.resolve(), exitWaiters: [], removedWaiters: [], backoffMs: 0, startedAtMs: 0 });
      this.event('create', rec);
      return { Id: id, Warnings: [] };
    } catch (err) {
      this.names.delete(name);
      if (snapshotPrepared) await this.opts.snapshotter.remove(id).catch(() => undefined);
      for (const m of mounts) if (m.Anonymous && m.Name) await this.opts.volumes.remove(m.Name, true).catch(() => undefined);
      await this.store.remove(id).catch(() => undefined);
      throw err;
    }
  }

  // ---------------------------------------------------------------- start

  async start(ref: string): Promise<void> {
    const live = this.find(ref);
    await this.withLock(live, async () => {
      const s = live.rec.State;
      if (s.Paused) throw conflict(`cannot start a paused container, try unpause instead`);
      if (s.Running) throw notModified(`container ${live.rec.Id} is already started`);
      if (s.Status === 'removing' || live.removed) throw conflict(`container is marked for removal and cannot be started`);
      if (live.restartTimer) {
        clearTimeout(live.restartTimer);
        live.restartTimer = undefined;
      }
      live.rec.Skiff.manuallyStopped = false;
      try {
        await this.startLocked(live);
      } catch (err) {
        // Docker removes an AutoRemove container whose start failed (the CLI waits for `removed`).
        if (live.rec.HostConfig.AutoRemove) await this.removeLocked(live, { volumes: true }).catch(() => undefined);
        throw err;
      }
    });
  }

  /** Starts the container: rootfs, network, spec, conmon+runc create, runc start. Undoes everything on failure. */
  private async startLocked(live: Live): Promise<void> {
    const rec = live.rec;
    const id = rec.Id;
    const bundle = this.bundleDir(id);
    const rootfs = path.join(bundle, 'rootfs');
    const dataDir = this.store.dir(id);
    const undo: Array<() => Promise<unknown>> = [];
    if (live.leftovers === 'deferred') await this.cleanupRuntime(rec).catch(() => undefined);
    live.leftovers = undefined;
    try {
      // The rootfs: an overlay runc mounts at "/" inside the container's own mount namespace (nothing to
      // mount or unmount on the host, and it vanishes with the container), unless its options are too long
      // for one mount call; then the snapshotter mounts it on the host.
      const [rootMount] = await Promise.all([
        this.opts.snapshotter.prepare(id, rec.Image),
        fsp.mkdir(rootfs, { recursive: true, mode: 0o700 }),
        fsp.mkdir(path.join(dataDir, 'persist'), { recursive: true, mode: 0o700 }),
        this.exits.clear(id),
      ]);
      const inRuntime = rootMount.type === 'overlay' && !!rootMount.upperDir && rootMount.options.join(',').length < 3500;
      let layers: string | string[] = rootfs;
      // The network: the container is created in its namespace as soon as that exists (the networking's
      // netnsReady), while the endpoints are set up (CNI ADD, ~30 ms); its process starts once both are done.
      let netnsReady!: (p: string) => void;
      const earlyNs = new Promise<string>((r) => (netnsReady = r));
      const networkP = this.setupNetwork(rec, netnsReady);
      networkP.catch(() => undefined);
      undo.push(async () => {
        await networkP.catch(() => undefined);
        await this.teardownNetwork(rec);
      });
      const mode = rec.HostConfig.NetworkMode || 'default';
      const earlyP = Promise.race([
        networkP.then((n) => ({ ...n, final: true })),
        earlyNs.then((p) => ({ ns: { mode: 'path' as const, path: p }, mode, hostsExtra: '', resolvConf: undefined, final: false })),
      ]);
      rec.Skiff.rootfsInRuntime = inRuntime;
      if (inRuntime) {
        const lower = rootMount.options.find((o) => o.startsWith('lowerdir='))!.slice('lowerdir='.length).split(':');
        layers = [rootMount.upperDir!, ...lower];
      } else {
        await this.opts.snapshotter.mount(id, rootfs);
        undo.push(() => this.opts.snapshotter.unmount(rootfs));
      }
      const [network] = await Promise.all([earlyP, fsp.unlink(path.join(dataDir, 'persist', 'oom')).catch(() => undefined)]);
      const user = resolveUser(layers, rec.Config.User);
      rec.Skiff.user = { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids };
      await copyUpVolumes(layers, rec.Mounts);
      // Before the endpoints exist, /etc/hosts and resolv.conf are placeholders, rewritten in place (the
      // container's bind mounts hold the inodes) before its process starts.
      const etc = await this.writeEtcFiles(rec, network.hostsExtra, network.resolvConf, network.mode === 'host');
      const hc = rec.HostConfig;
      const secOpts = (hc.SecurityOpt ?? []).map((o) => o.split(/[=:](.*)/s));
      let env = rec.Config.Env;
      if (!env.some((e) => e.startsWith('HOME='))) env = [...env, `HOME=${user.home}`];
      if (!env.some((e) => e.startsWith('HOSTNAME='))) env = [...env, `HOSTNAME=${etc.hostname}`];
      if (rec.Config.Tty && !env.some((e) => e.startsWith('TERM='))) env = [...env, 'TERM=xterm'];
      const userMountDests = new Set(rec.Mounts.map((m) => m.Destination));
      const etcMounts = [
        { destination: '/etc/hostname', source: etc.files.hostname },
        { destination: '/etc/hosts', source: etc.files.hosts },
        { destination: '/etc/resolv.conf', source: etc.files.resolv },
      ]
        .filter((m) => !userMountDests.has(m.destination))
        .map((m) => ({ ...m, type: 'bind', options: ['rbind', 'rprivate', hc.ReadonlyRootfs ? 'ro' : 'rw'] }));
      const spec = buildSpec({
        id,
        rootfs,
        readonlyRootfs: !!hc.ReadonlyRootfs,
        args: [rec.Path, ...rec.Args],
        env,
        cwd: rec.Config.WorkingDir || '/',
        user: rec.Skiff.user,
        terminal: rec.Config.Tty,
        hostname: etc.hostname,
        network: network.ns,
        ipcHost: hc.IpcMode === 'host',
        pidHost: hc.PidMode === 'host',
        utsHost: hc.UTSMode === 'host' || network.mode === 'host',
        privileged: !!hc.Privileged,
        capAdd: hc.CapAdd,
        capDrop: hc.CapDrop,
        hostCaps: this.hostCaps,
        noNewPrivileges: secOpts.some(([k, v]) => k === 'no-new-privileges' && v !== 'false'),
        seccomp: secOpts.some(([k, v]) => k === 'seccomp' && v === 'unconfined') ? 'unconfined' : undefined,
        cgroupsPath: this.cgroupsPath(id),
        resources: {
          memory: hc.Memory,
          memorySwap: hc.MemorySwap,
          swapAccounting: this.swapAccounting,
          nanoCpus: hc.NanoCpus,
          cpuShares: hc.CpuShares,
          cpuQuota: hc.CpuQuota,
          cpuPeriod: hc.CpuPeriod,
          pidsLimit: hc.PidsLimit ?? undefined,
          oomKillDisable: !!hc.OomKillDisable,
        },
        nofileHard: this.nofileHard,
        mounts: [...ociMounts(rec.Mounts), ...etcMounts],
        shmSize: hc.ShmSize,
        sysctls: hc.Sysctls ?? undefined,
        rootMount: inRuntime ? { destination: '/', type: 'overlay', source: 'overlay', options: rootMount.options } : undefined,
      });
      if (rec.Config.WorkingDir && !fs.existsSync(rootfsPath(layers, rec.Config.WorkingDir))) {
        // Docker creates a missing working directory (in the writable layer when runc mounts the overlay).
        await fsp.mkdir(path.join(Array.isArray(layers) ? layers[0] : layers, rec.Config.WorkingDir), { recursive: true });
      }
      // Small files on the start path are written synchronously: microseconds, against a thread-pool round
      // trip each that costs more than the write on a loaded machine.
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
      const logOpts = parseLogOpts(hc.LogConfig?.Config ?? {});
      const conmonP = conmonCreate({
        conmonPath: this.opts.conmonPath,
        runtimePath: this.opts.runtimePath,
        runtimeArgs: this.runc.globalArgs,
        cid: id,
        cuuid: id,
        name: rec.Name.slice(1),
        bundle,
        pidFile: path.join(bundle, 'pidfile'),
        conmonPidFile: path.join(bundle, 'conmon.pid'),
        exitDir: this.exits.dir,
        persistDir: path.join(dataDir, 'persist'),
        logPath: this.logPath(id),
        // With rotation on, the engine rotates; the cap only guards against a runaway writer while the engine is down.
        logSizeMax: logOpts.maxSize ? logOpts.maxSize * 4 : undefined,
        terminal: rec.Config.Tty,
        stdin: rec.Config.OpenStdin,
        // Docker: only a StdinOnce container's stdin closes when its (first) attached client leaves.
        leaveStdinOpen: !rec.Config.StdinOnce,
      }, this.launcher);
      const [created, networked] = await Promise.allSettled([conmonP, network.final ? network : networkP]);
      if (created.status === 'fulfilled') undo.push(() => this.runc.delete(id, true).catch(() => undefined));
      if (created.status === 'rejected') throw created.reason;
      if (networked.status === 'rejected') throw networked.reason;
      const handle = created.value;
      if (!network.final) await this.writeEtcFiles(rec, networked.value.hostsExtra, networked.value.resolvConf, false);
      await this.runc.start(id, handle.pid);
      const conmonPid = Number(readSmall(path.join(bundle, 'conmon.pid')) || '0');
      Object.assign(rec.State, {
        Status: 'running',
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: handle.pid,
        ExitCode: 0,
        Error: '',
        StartedAt: nowIso(),
      } satisfies Partial<ContainerState>);
      rec.Skiff.conmonPid = conmonPid || undefined;
      rec.Skiff.hasBeenStarted = true;
      live.startedAtMs = Date.now();
      if (healthEnabled(rec.Config.Healthcheck)) {
        rec.State.Health = { Status: 'starting', FailingStreak: 0, Log: [] };
      } else delete rec.State.Health;
      // `start` before anything can report the exit (`die`): event watchers rely on that order.
      this.event('start', rec);
      this.exits.watch(id, (code) => void this.onExit(live, code));
      await this.save(live);
      this.startListeners.fire(id);
      this.startHealth(live);
      this.startRotation(live);
    } catch (err) {
      for (const u of undo.reverse()) await u().catch(() => undefined);
      await removeCgroups(this.cgroupsPath(id));
      const message = err instanceof Error ? err.message : String(err);
      const hint = (err as { exitHint?: number }).exitHint;
      rec.State.Error = message;
      rec.State.Running = false;
      rec.State.Restarting = false;
      if (hint !== undefined) rec.State.ExitCode = hint;
      if (rec.Skiff.hasBeenStarted) {
        rec.State.Status = 'exited';
      }
      await this.save(live).catch(() => undefined);
      if (err instanceof SkiffError && err.code !== 'Internal') throw err;
      throw invalid(message);
    }
  }

  private async setupNetwork(rec: ContainerRecord, netnsReady?: (netnsPath: string) => void): Promise<{
    ns: { mode: 'new' } | { mode: 'host' } | { mode: 'path'; path: string };
    mode: string;
    hostsExtra: string;
    resolvConf?: string;
  }> {
    const mode = rec.HostConfig.NetworkMode || 'default';
    if (mode === 'host') return { ns: { mode: 'host' }, mode, hostsExtra: '' };
    if (mode === 'none') return { ns: { mode: 'new' }, mode, hostsExtra: '' };
    if (mode.startsWith('container:')) {
      const other = this.find(mode.slice('container:'.length)).rec;
      if (!other.State.Running) throw conflict(`cannot join network of a non running container: ${other.Id}`);
      return { ns: { mode: 'path', path: `/proc/${other.State.Pid}/ns/net` }, mode, hostsExtra: '' };
    }
    if (!this.opts.networking) return { ns: { mode: 'new' }, mode, hostsExtra: '' };
    const portBindings: PortBinding[] = [];
    for (const [key, binds] of Object.entries(rec.HostConfig.PortBindings ?? {})) {
      const [port, proto = 'tcp'] = key.split('/');
      for (const b of binds ?? [])
        portBindings.push({
          containerPort: Number(port),
          protocol: proto as PortBinding['protocol'],
          hostIp: b.HostIp ?? '',
          hostPort: Number(b.HostPort || 0),
        });
    }
    if (rec.HostConfig.PublishAllPorts) {
      // -P: every EXPOSEd port not bound explicitly gets an ephemeral host port (networking picks it).
      for (const key of Object.keys(rec.Config.ExposedPorts ?? {})) {
        if (rec.HostConfig.PortBindings?.[key]) continue;
        const [port, proto = 'tcp'] = key.split('/');
        portBindings.push({ containerPort: Number(port), protocol: proto as PortBinding['protocol'], hostIp: '', hostPort: 0 });
      }
    }
    const endpoints = Object.entries(
      ((rec.NetworkingConfig as { EndpointsConfig?: Record<string, { Aliases?: string[]; IPAMConfig?: { IPv4Address?: string } }> })?.EndpointsConfig) ?? {},
    ).map(([network, ep]) => ({ network, aliases: ep?.Aliases ?? undefined, ipv4Address: ep?.IPAMConfig?.IPv4Address || undefined }));
    if (!endpoints.length) endpoints.push({ network: mode === 'default' ? 'bridge' : mode, aliases: undefined, ipv4Address: undefined });
    const result: SandboxResult = await this.opts.networking.setup({
      id: rec.Id,
      name: rec.Name.slice(1),
      hostname: rec.Config.Hostname || rec.Id.slice(0, 12),
      endpoints,
      portBindings,
      dns: rec.HostConfig.Dns ?? undefined,
      dnsSearch: rec.HostConfig.DnsSearch ?? undefined,
      dnsOptions: rec.HostConfig.DnsOptions ?? undefined,
      extraHosts: rec.HostConfig.ExtraHosts ?? undefined,
    }, { netnsReady });
    rec.Skiff.network = result;
    return { ns: { mode: 'path', path: result.netnsPath }, mode, hostsExtra: result.hostsFile, resolvConf: result.resolvConf };
  }

  private async teardownNetwork(rec: ContainerRecord): Promise<void> {
    if (!rec.Skiff.network || !this.opts.networking) return;
    await this.opts.networking.teardown(rec.Id).catch(() => undefined);
    rec.Skiff.network = undefined;
  }

  private async writeEtcFiles(
    rec: ContainerRecord,
    hostsFromNetwork: string,
    resolvConf: string | undefined,
    hostNet: boolean,
  ): Promise<{ hostname: string; files: { hostname: string; hosts: string; resolv: string } }> {
    const dir = this.store.dir(rec.Id);
    const hostname = hostNet ? os.hostname() : rec.Config.Hostname || rec.Id.slice(0, 12);
    const files = { hostname: path.join(dir, 'hostname'), hosts: path.join(dir, 'hosts'), resolv: path.join(dir, 'resolv.conf') };
    let hosts: string;
    if (hostsFromNetwork) hosts = hostsFromNetwork;
    else if (hostNet) hosts = readSmall('/etc/hosts') ?? '127.0.0.1\tlocalhost\n';
    else
      hosts =
        '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n' +
        'ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n' +
        `127.0.1.1\t${hostname}\n`;
    for (const extra of rec.HostConfig.ExtraHosts ?? []) {
      const [n, ip] = extra.split(':');
      if (n && ip && !hostsFromNetwork) hosts += `${ip}\t${n}\n`;
    }
    const resolv = resolvConf ?? readSmall('/etc/resolv.conf') ?? '';
    // In place (same inodes): a created container's bind mounts see the rewrite before its process starts.
    // On the thread pool, together: these live in the data dir, whose file system (ext4) can make a create or
    // truncate wait for its journal for milliseconds when the disk is busy (seen at 1+ ms per start).
    await Promise.all([fsp.writeFile(files.hostname, hostname + '\n'), fsp.writeFile(files.hosts, hosts), fsp.writeFile(files.resolv, resolv)]);
    return { hostname, files };
  }

  // ---------------------------------------------------------------- exit

  /** conmon reported an exit: record it, clean the runtime up, then restart or auto-remove. */
  private async onExit(live: Live, code: number): Promise<void> {
    const rec = live.rec;
    if (!rec.State.Running && !rec.State.Paused) return;
    live.health?.stop();
    live.health = undefined;
    if (live.rotateTimer) clearInterval(live.rotateTimer);
    const oom = oomKilled(this.cgroupsPath(rec.Id)) || fs.existsSync(path.join(this.store.dir(rec.Id), 'persist', 'oom'));
    const ranFor = Date.now() - live.startedAtMs;
    Object.assign(rec.State, {
      Status: 'exited',
      Running: false,
      Paused: false,
      Restarting: false,
      OOMKilled: oom,
      Pid: 0,
      ExitCode: code,
      FinishedAt: nowIso(),
    } satisfies Partial<ContainerState>);
    if (rec.State.Health) rec.State.Health.Status = 'unhealthy';
    if (oom) this.event('oom', rec);
    this.event('die', rec, { exitCode: String(code) });
    let policy;
    try {
      policy = restartPolicyOf(rec.HostConfig);
    } catch {
      policy = { name: 'no' as const, maxRetries: 0 };
    }
    const unhealthy = (live as { unhealthyKill?: boolean }).unhealthyKill === true;
    (live as { unhealthyKill?: boolean }).unhealthyKill = false;
    const restart =
      !this.closed &&
      !live.removed &&
      !live.exiting &&
      shouldRestart(policy, { exitCode: code, manuallyStopped: rec.Skiff.manuallyStopped, restartCount: rec.RestartCount, unhealthy });
    if (restart) {
      rec.State.Restarting = true;
      rec.State.Status = 'restarting';
    }
    // An AutoRemove container is about to go: no point persisting its last state or waiting for cleanup.
    const autoRemove = !restart && !!rec.HostConfig.AutoRemove && !live.removed;
    // Its runtime leftovers are collected after the removal is answered (they would compete with it for
    // the thread pool); anyone else's before the exit is reported, so a restart finds a clean slate.
    if (!autoRemove && !restart && this.deferCleanup?.(rec)) {
      this.exits.unwatch(rec.Id);
      live.leftovers = 'deferred';
      await this.save(live);
    } else if (!autoRemove) {
      await Promise.all([this.cleanupRuntime(rec), this.save(live)]);
      live.leftovers = 'collected';
    }
    const waiters = live.exitWaiters.splice(0);
    waiters.forEach((w) => w(code));
    if (restart) {
      live.backoffMs = unhealthy ? BACKOFF_START_MS : nextBackoff(live.backoffMs, ranFor);
      live.restartTimer = setTimeout(() => {
        live.restartTimer = undefined;
        void this.withLock(live, async () => {
          if (live.removed || rec.State.Running || rec.Skiff.manuallyStopped || !rec.State.Restarting) return;
          rec.RestartCount++;
          try {
            await this.startLocked(live);
            this.event('restart', rec);
          } catch {
            rec.State.Restarting = false;
            rec.State.Status = 'exited';
            await this.save(live).catch(() => undefined);
          }
        });
      }, live.backoffMs);
    } else if (autoRemove) {
      await this.removeLocked(live, { volumes: true }, () => this.cleanupRuntime(rec)).catch(() => undefined);
    }
  }

  /**
   * Removes the runtime leftovers of an exited container: runc state and cgroups (without spawning
   * `runc delete`: the init is gone and with a pid namespace so is every process), rootfs mount, network.
   */
  private async cleanupRuntime(rec: ContainerRecord): Promise<void> {
    const id = rec.Id;
    const tasks: Array<Promise<unknown>> = [];
    if (rec.HostConfig.PidMode === 'host') tasks.push(this.runc.delete(id, true).catch(() => undefined));
    else
      tasks.push(
        fsp.rm(this.runc.stateDir(id), { recursive: true, force: true }).then(() => removeCgroups(this.cgroupsPath(id))),
      );
    if (!rec.Skiff.rootfsInRuntime) tasks.push(this.unmountRootfs(id));
    tasks.push(this.teardownNetwork(rec));
    tasks.push(this.exits.clear(id));
    this.exits.unwatch(id);
    await Promise.all(tasks);
  }

  /** Unmounts a host-mounted rootfs (a mountinfo read: ~2 ms on a host with many mounts, so only when needed). */
  private unmountRootfs(id: string): Promise<void> {
    return this.opts.snapshotter.unmount(path.join(this.bundleDir(id), 'rootfs')).catch(() => undefined);
  }

  // ---------------------------------------------------------------- stop / kill / restart / pause

  /** Waits for the next processed exit of a running container. */
  private nextExit(live: Live): Promise<number> {
    return new Promise((resolve) => live.exitWaiters.push(resolve));
  }

  async stop(ref: string, timeoutSec?: number, signal?: string): Promise<void> {
    const live = this.find(ref);
    await this.withLock(live, () => this.stopLocked(live, timeoutSec, signal));
  }

  private async stopLocked(live: Live, timeoutSec?: number, signal?: string): Promise<void> {
    const rec = live.rec;
    if (live.restartTimer) {
      clearTimeout(live.restartTimer);
      live.restartTimer = undefined;
      rec.Skiff.manuallyStopped = true;
      rec.State.Restarting = false;
      rec.State.Status = 'exited';
      await this.save(live);
      return;
    }
    if (!rec.State.Running) throw notModified(`container ${rec.Id} is already stopped`);
    rec.Skiff.manuallyStopped = true;
    const sig = parseSignal(signal || rec.Config.StopSignal, 15);
    const t = timeoutSec ?? rec.Config.StopTimeout ?? 10;
    const exited = this.nextExit(live);
    let done = false;
    live.exiting = exited.then(() => undefined);
    try {
      if (rec.State.Paused) await this.runc.resume(rec.Id).catch(() => undefined);
      await this.runc.kill(rec.Id, sig).catch(() => undefined);
      this.event('kill', rec, { signal: String(sig) });
      if (t >= 0) {
        done = await Promise.race([exited.then(() => true), sleep(t * 1000).then(() => false)]);
      } else {
        await exited;
        done = true;
      }
      if (!done) {
        await this.runc.kill(rec.Id, 9, true).catch(() => undefined);
        this.event('kill', rec, { signal: '9' });
        await exited;
      }
      this.event('stop', rec);
    } finally {
      live.exiting = undefined;
    }
  }

  async kill(ref: string, signal?: string): Promise<void> {
    const live = this.find(ref);
    const rec = live.rec;
    const sig = parseSignal(signal, 9);
    if (!rec.State.Running) throw conflict(`cannot kill container: ${ref}: container ${rec.Id} is not running`);
    if (sig === 9 || sig === 15 || sig === 2) rec.Skiff.manuallyStopped = true;
    await this.runc.kill(rec.Id, sig, sig === 9).catch((err) => {
      throw conflict(`cannot kill container: ${ref}: ${(err as Error).message}`);
    });
    this.event('kill', rec, { signal: String(sig) });
  }

  async restart(ref: string, timeoutSec?: number, signal?: string): Promise<void> {
    const live = this.find(ref);
    await this.withLock(live, async () => {
      if (live.rec.State.Running) await this.stopLocked(live, timeoutSec, signal).catch((e) => {
        if (!(e instanceof SkiffError && e.code === 'NotModified')) throw e;
      });
      if (live.restartTimer) clearTimeout(live.restartTimer);
      live.restartTimer = undefined;
      live.rec.Skiff.manuallyStopped = false;
      live.rec.RestartCount++;
      await this.startLocked(live);
      this.event('restart', live.rec);
    });
  }

  async pause(ref: string): Promise<void> {
    const live = this.find(ref);
    const rec = live.rec;
    await this.withLock(live, async () => {
      if (!rec.State.Running) throw conflict(`container ${rec.Id} is not running`);
      if (rec.State.Paused) throw conflict(`container ${rec.Id} is already paused`);
      await this.runc.pause(rec.Id);
      rec.State.Paused = true;
      rec.State.Status = 'paused';
      await this.save(live);
      this.event('pause', rec);
    });
  }

  async unpause(ref: string): Promise<void> {
    const live = this.find(ref);
    const rec = live.rec;
    await this.withLock(live, async () => {
      if (!rec.State.Paused) throw conflict(`container ${rec.Id} is not paused`);
      await this.runc.resume(rec.Id);
      rec.State.Paused = false;
      rec.State.Status = 'running';
      await this.save(live);
      this.event('unpause', rec);
    });
  }

  // ---------------------------------------------------------------- remove / rename / wait

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const live = this.find(ref);
    await this.withLock(live, async () => {
      const rec = live.rec;
      if (live.removed) return;
      if (rec.State.Running || rec.State.Paused) {
        if (!opts.force) {
          const what = rec.State.Paused ? 'paused' : 'running';
          throw conflict(
            `cannot remove container "${rec.Name}": container is ${what}: stop the container before removing or force remove`,
          );
        }
        const exited = this.nextExit(live);
        live.exiting = exited.then(() => undefined);
        rec.Skiff.manuallyStopped = true;
        if (rec.State.Paused) await this.runc.resume(rec.Id).catch(() => undefined);
        await this.runc.kill(rec.Id, 9, true).catch(() => undefined);
        const ok = await Promise.race([exited.then(() => true), sleep(15000).then(() => false)]);
        live.exiting = undefined;
        if (!ok) {
          // conmon is gone or stuck: clean up ourselves.
          await this.runc.delete(rec.Id, true).catch(() => undefined);
          rec.State.Running = false;
          await this.cleanupRuntime(rec);
        }
      }
      if (live.restartTimer) clearTimeout(live.restartTimer);
      if (live.leftovers === 'deferred') {
        // While the record still exists: networking asks whose container this was (a pod's: nothing to free).
        await this.cleanupRuntime(rec).catch(() => undefined);
        live.leftovers = 'collected';
      }
      await this.removeLocked(live, opts);
    });
  }

  private async removeLocked(live: Live, opts: { volumes?: boolean }, runtimeCleanup?: () => Promise<void>): Promise<void> {
    const rec = live.rec;
    live.removed = true;
    live.health?.stop();
    rec.State.Status = 'removing';
    this.names.delete(rec.Name.slice(1));
    // Once the record is gone the container does not exist, even across a crash: recover() collects
    // whatever runtime leftovers (snapshot, bundle, runc state, cgroups) have no record.
    await this.store.forget(rec.Id);
    if (opts.volumes)
      for (const m of rec.Mounts)
        if (m.Anonymous && m.Name && this.usersOfVolume(m.Name).every((u) => u === rec.Id))
          await this.opts.volumes.remove(m.Name, true).catch(() => undefined);
    this.live.delete(rec.Id);
    this.event('destroy', rec);
    live.removedWaiters.splice(0).forEach((w) => w(rec.State.ExitCode));
    live.exitWaiters.splice(0).forEach((w) => w(rec.State.ExitCode));
    const collect = (async () => {
      // The runtime part (runc state, cgroups, rootfs mount) once, by cleanupRuntime when it is given.
      // (Already done after the exit when collected: nothing started it again since.)
      const collected = live.leftovers === 'collected';
      const runtimeDone = !!runtimeCleanup || collected;
      if (runtimeCleanup) await runtimeCleanup().catch(() => undefined);
      else if (!rec.Skiff.rootfsInRuntime && !collected) await this.unmountRootfs(rec.Id);
      await Promise.all([
        this.store.remove(rec.Id).catch(() => undefined),
        this.opts.snapshotter.remove(rec.Id).catch(() => undefined),
        fsp.rm(this.bundleDir(rec.Id), { recursive: true, force: true }).catch(() => undefined),
        ...(runtimeDone
          ? []
          : [fsp.rm(this.runc.stateDir(rec.Id), { recursive: true, force: true }).catch(() => undefined), removeCgroups(this.cgroupsPath(rec.Id))]),
      ]);
    })();
    this.collecting.set(rec.Id, collect);
    void collect.finally(() => {
      if (this.collecting.get(rec.Id) === collect) this.collecting.delete(rec.Id);
    });
  }

  /** Background removals still in flight. */
  private readonly collecting = new Map<string, Promise<void>>();

  /** Resolves once the background part of a removal (runtime leftovers, snapshot, directories) is done. */
  async collected(id: string): Promise<void> {
    await this.collecting.get(id);
  }

  /** Resolves once background cleanup of removed containers has finished. */
  async settled(): Promise<void> {
    while (this.collecting.size) await Promise.all([...this.collecting.values()]);
  }

  async rename(ref: string, newName: string): Promise<void> {
    const live = this.find(ref);
    const name = validateName(newName);
    const old = live.rec.Name.slice(1);
    if (name === old) throw invalid(`Renaming a container with the same name as its current name`);
    const holder = this.names.get(name);
    if (holder)
      throw conflict(
        `Conflict. The container name "/${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    this.names.delete(old);
    this.names.set(name, live.rec.Id);
    live.rec.Name = `/${name}`;
    await this.save(live);
    this.event('rename', live.rec, { oldName: `/${old}` });
  }

  /**
   * Docker's wait: `not-running` (now if stopped, else at exit), `next-exit`, `removed`.
   * Returns a promise for the exit code; the caller can send headers first.
   */
  wait(ref: string, condition = 'not-running'): Promise<number> {
    const live = this.find(ref);
    const rec = live.rec;
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw invalid(`invalid condition: "${condition}"`);
    if (condition === 'removed') return new Promise((resolve) => live.removedWaiters.push(resolve));
    if (condition === 'not-running' && !rec.State.Running && !rec.State.Restarting) return Promise.resolve(rec.State.ExitCode);
    return this.nextExit(live);
  }

  // ---------------------------------------------------------------- logs, attach, stats

  async readLogs(ref: string, opts: ReadOptions): Promise<{ entries: LogEntry[]; offset: number; ino: number; tty: boolean }> {
    const rec = this.get(ref);
    const r = await readLog(this.logPath(rec.Id), opts);
    return { ...r, tty: rec.Config.Tty };
  }

  /**
   * Follows a container's output from `start` until it exits (resolving `done` after the last entry), or
   * until `stop()`. For a container that is not running, `done` resolves at once unless `waitStart`.
   */
  followOutput(
    ref: string,
    start: { offset: number; ino: number },
    onEntry: (e: LogEntry) => void,
    opts: { untilExit: boolean; blocked?: () => boolean },
  ): { done: Promise<void>; stop: () => void; resume: () => void } {
    const live = this.find(ref);
    const follower = new LogFollower(this.logPath(live.rec.Id), start, onEntry, opts.blocked);
    follower.start();
    let stopFn!: () => void;
    const stopped = new Promise<void>((r) => (stopFn = r));
    const exitPromise = opts.untilExit ? this.nextExitOrGone(live) : new Promise<void>(() => undefined);
    const done = Promise.race([exitPromise.then(() => follower.drain()), stopped.then(() => follower.stop())]);
    return { done, stop: stopFn, resume: () => follower.resume() };
  }

  /** Resolves at the next exit, or now if the container is neither running nor about to start. */
  private nextExitOrGone(live: Live): Promise<void> {
    return new Promise((resolve) => {
      live.exitWaiters.push(() => resolve());
      live.removedWaiters.push(() => resolve());
    });
  }

  /** Records an attach (Docker emits an `attach` event). */
  noteAttach(ref: string): void {
    this.event('attach', this.get(ref));
  }

  /** Whether a container is running (or will be: created and waiting for start). */
  isRunning(ref: string): boolean {
    return this.get(ref).State.Running;
  }

  /** stdin for a running container with OpenStdin (through conmon's attach socket). */
  attachStdin(ref: string): AttachInput {
    const rec = this.get(ref);
    if (!rec.Config.OpenStdin) throw conflict(`container ${rec.Id} was not created with stdin open`);
    return attachInput(path.join(this.bundleDir(rec.Id), 'attach'), rec.Config.Tty);
  }

  /** Runs `fn` right after the container's next start (attach before start: stdin must connect after conmon). */
  onceStarted(ref: string): Promise<void> {
    const live = this.find(ref);
    if (live.rec.State.Running) return Promise.resolve();
    return new Promise((resolve) => {
      const unsub = this.startListeners.add(live.rec.Id, () => {
        unsub();
        resolve();
      });
    });
  }
  private readonly startListeners = new Listeners();

  resize(ref: string, height: number, width: number): void {
    const rec = this.get(ref);
    if (!rec.State.Running) throw conflict(`container ${rec.Id} is not running`);
    resizeTerminal(this.bundleDir(rec.Id), height, width);
  }

  stats(ref: string): { rec: ContainerRecord; stats?: CgroupStats; systemCpu: number } {
    const rec = this.get(ref);
    return {
      rec,
      stats: rec.State.Running ? readStats(this.cgroupsPath(rec.Id)) : undefined,
      systemCpu: systemCpuUsage(),
    };
  }

  /** The container's generated OCI spec (for exec). */
  async specOf(ref: string): Promise<OciSpec> {
    const rec = this.get(ref);
    return JSON.parse(await fsp.readFile(path.join(this.bundleDir(rec.Id), 'config.json'), 'utf8')) as OciSpec;
  }

  // ---------------------------------------------------------------- health

  private startHealth(live: Live): void {
    const hc = live.rec.Config.Healthcheck;
    if (!healthEnabled(hc)) return;
    live.health = new HealthMonitor(hc!, {
      probe: (args, timeoutMs) => this.probe(live.rec.Id, args, timeoutMs),
      state: () => live.rec.State.Health!,
      onChange: (status) => {
        void this.save(live);
        this.event(`health_status: ${status}`, live.rec);
        if (status === 'unhealthy') this.onUnhealthy(live);
      },
      onResult: () => void this.save(live),
    });
    live.health.start();
  }

  /** Unhealthy + a restart policy that allows it: restart (Docker never does this; skiff does). */
  private onUnhealthy(live: Live): void {
    let policy;
    try {
      policy = restartPolicyOf(live.rec.HostConfig);
    } catch {
      return;
    }
    if (!shouldRestart(policy, { exitCode: 1, manuallyStopped: live.rec.Skiff.manuallyStopped, restartCount: live.rec.RestartCount, unhealthy: true })) return;
    (live as { unhealthyKill?: boolean }).unhealthyKill = true;
    void this.runc.kill(live.rec.Id, 9, true).catch(() => undefined);
  }

  /** Runs a probe inside the container with `runc exec` (short-lived; no conmon needed). */
  probe(id: string, args: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }> {
    return new Promise((resolve) => {
      const { execFile } = require('node:child_process') as typeof import('node:child_process');
      execFile(
        this.runc.exe,
        [...this.runc.globalArgs, 'exec', id, ...args],
        { timeout: timeoutMs, maxBuffer: 1024 * 1024, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => {
          const output = (String(stdout) + String(stderr)).slice(0, 4096);
          if (!err) return resolve({ exitCode: 0, output });
          const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
          if (e.killed) return resolve({ exitCode: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` });
          resolve({ exitCode: typeof e.code === 'number' ? e.code : 1, output });
        },
      );
    });
  }

  // ---------------------------------------------------------------- log rotation

  private startRotation(live: Live): void {
    const { maxSize, maxFile } = parseLogOpts(live.rec.HostConfig.LogConfig?.Config ?? {});
    if (!maxSize) return;
    if (live.rotateTimer) clearInterval(live.rotateTimer);
    const logPath = this.logPath(live.rec.Id);
    live.rotateTimer = setInterval(() => {
      try {
        if (fs.statSync(logPath).size < maxSize) return;
      } catch {
        return;
      }
      rotateLog(logPath, maxFile);
      reopenLog(this.bundleDir(live.rec.Id));
    }, 1000);
    live.rotateTimer.unref();
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Loads records and re-adopts containers after an engine (re)start: running ones whose conmon still
   * watches them stay running; ones that exited meanwhile get their exit recorded (and their restart policy
   * applied); always/unless-stopped ones come back. Leftover runc state, mounts and cgroups of containers
   * that no longer exist are removed.
   */
  async recover(): Promise<void> {
    this.exits.start();
    this.launcher?.warm();
    const records = this.store.loadAll();
    for (const rec of records) {
      const live: Live = { rec, lock: Promise.resolve(), exitWaiters: [], removedWaiters: [], backoffMs: 0, startedAtMs: Date.parse(rec.State.StartedAt) || Date.now() };
      this.live.set(rec.Id, live);
      this.names.set(rec.Name.slice(1), rec.Id);
    }
    const known = new Set(records.map((r) => r.Id));
    // Records are loaded (list() works for networking's reconcile); starting containers needs networking.
    await this.networkingReady;
    // Orphans: runtime state of containers without a record (e.g. a create interrupted by kill -9).
    for (const id of await this.runc.ids()) {
      if (!known.has(id)) {
        await this.runc.delete(id, true).catch(() => fsp.rm(this.runc.stateDir(id), { recursive: true, force: true }));
        await removeCgroups(this.cgroupsPath(id));
      }
    }
    for (const dir of await fsp.readdir(path.join(this.opts.runDir, 'c')).catch(() => [] as string[])) {
      if (!known.has(dir)) {
        await this.opts.snapshotter.unmount(path.join(this.bundleDir(dir), 'rootfs')).catch(() => undefined);
        await fsp.rm(this.bundleDir(dir), { recursive: true, force: true }).catch(() => undefined);
      }
    }
    for (const key of await this.opts.snapshotter.list().catch(() => [] as string[])) {
      if (/^[0-9a-f]{64}$/.test(key) && !known.has(key)) await this.opts.snapshotter.remove(key).catch(() => undefined);
    }
    await Promise.all(records.map((rec) => this.adopt(this.live.get(rec.Id)!)));
  }

  private async adopt(live: Live): Promise<void> {
    const rec = live.rec;
    const id = rec.Id;
    const wasRunning = rec.State.Running || rec.State.Paused || rec.State.Restarting;
    if (rec.State.Running || rec.State.Paused) {
      const code = await this.exits.read(id);
      if (code !== undefined) {
        await this.onExit(live, code);
        return;
      }
      const state = await this.runc.state(id).catch(() => undefined);
      const conmonAlive = rec.Skiff.conmonPid ? pidAlive(rec.Skiff.conmonPid) : false;
      if (state && (state.status === 'running' || state.status === 'paused') && conmonAlive) {
        rec.State.Paused = state.status === 'paused';
        rec.State.Status = state.status;
        this.exits.watch(id, (c) => void this.onExit(live, c));
        if (healthEnabled(rec.Config.Healthcheck)) {
          rec.State.Health = rec.State.Health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
          this.startHealth(live);
        }
        this.startRotation(live);
        await this.save(live);
        return;
      }
      // The monitor is gone: the exit status cannot be known any more. Stop what is left.
      if (state) await this.runc.delete(id, true).catch(() => undefined);
      rec.State.Error = 'container monitor (conmon) exited while the engine was down';
      await this.onExit(live, 255);
      return;
    }
    // Not running: make sure nothing of a previous run is left.
    await this.cleanupRuntime(rec).catch(() => undefined);
    if (rec.State.Restarting) {
      rec.State.Restarting = false;
      rec.State.Status = 'exited';
    }
    let policy;
    try {
      policy = restartPolicyOf(rec.HostConfig);
    } catch {
      return;
    }
    if (startOnBoot(policy, { hasBeenStarted: rec.Skiff.hasBeenStarted, manuallyStopped: rec.Skiff.manuallyStopped && !wasRunning })) {
      rec.Skiff.manuallyStopped = false;
      await this.withLock(live, () => this.startLocked(live)).catch(() => undefined);
    } else await this.save(live).catch(() => undefined);
  }

  /** Stops timers and watchers. Containers keep running under conmon; the next engine adopts them. */
  close(): void {
    this.closed = true;
    this.exits.stop();
    this.launcher?.close();
    // The per-engine cgroup parent goes away when no container is left in it (rmdir refuses otherwise).
    void removeCgroups(`/${this.cgroupParent}`);
    for (const live of this.live.values()) {
      live.health?.stop();
      if (live.restartTimer) clearTimeout(live.restartTimer);
      if (live.rotateTimer) clearInterval(live.rotateTimer);
    }
  }

  /** Test/cleanup helper: force-removes every container. */
  async removeAll(): Promise<void> {
    for (const rec of this.list()) await this.remove(rec.Id, { force: true, volumes: true }).catch(() => undefined);
  }
}

class Listeners {
  private readonly map = new Map<string, Set<() => void>>();
  add(id: string, fn: () => void): () => void {
    let set = this.map.get(id);
    if (!set) this.map.set(id, (set = new Set()));
    set.add(fn);
    return () => set!.delete(fn);
  }
  fire(id: string): void {
    for (const fn of [...(this.map.get(id) ?? [])]) fn();
  }
}

/**
 * Log options (json-file's max-size/max-file). Without max-size, skiff caps logs at 10 MiB x 5 files like the
 * kubelet does (Docker's json-file default is unbounded; one `yes` fills a disk in minutes).
 */
export const DEFAULT_LOG_MAX_SIZE = 10 * 1024 * 1024;
export const DEFAULT_LOG_MAX_FILE = 5;

export function parseLogOpts(cfg: Record<string, string>): { maxSize?: number; maxFile: number } {
  if (!('max-size' in cfg) && !('max-file' in cfg)) {
    validateLogOptKeys(cfg);
    return { maxSize: DEFAULT_LOG_MAX_SIZE, maxFile: DEFAULT_LOG_MAX_FILE };
  }
  const out: { maxSize?: number; maxFile: number } = { maxFile: 1 };
  for (const [k, v] of Object.entries(cfg)) {
    if (k === 'max-size') {
      const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(v.trim());
      if (!m) throw invalid(`invalid value for max-size: ${v}`);
      const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
      out.maxSize = Math.floor(Number(m[1]) * mult);
      if (out.maxSize <= 0) throw invalid(`invalid value for max-size: ${v}`);
    } else if (k === 'max-file') {
      if (!/^\d+$/.test(v) || Number(v) < 1) throw invalid(`invalid value for max-file: ${v}`);
      out.maxFile = Number(v);
    } else if (['compress', 'labels', 'env', 'tag', 'mode', 'max-buffer-size'].includes(k)) continue;
    else throw invalid(`unknown log opt '${k}' for json-file log driver`);
  }
  if (out.maxFile > 1 && !out.maxSize) throw invalid(`max-file cannot be set without max-size`);
  return out;
}

function validateLogOptKeys(cfg: Record<string, string>): void {
  for (const k of Object.keys(cfg))
    if (!['compress', 'labels', 'env', 'tag', 'mode', 'max-buffer-size', 'max-size', 'max-file'].includes(k))
      throw invalid(`unknown log opt '${k}' for json-file log driver`);
}

/** log -> log.1 -> ... -> log.(maxFile-1); with max-file 1 the old content is dropped. */
export function rotateLog(logPath: string, maxFile: number): void {
  const keep = Math.max(0, maxFile - 1);
  try {
    if (keep === 0) {
      fs.renameSync(logPath, `${logPath}.old`);
      fs.rmSync(`${logPath}.old`, { force: true });
      return;
    }
    fs.rmSync(`${logPath}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) if (fs.existsSync(`${logPath}.${i}`)) fs.renameSync(`${logPath}.${i}`, `${logPath}.${i + 1}`);
    fs.renameSync(logPath, `${logPath}.1`);
  } catch {
    /* the next tick tries again */
  }
  void logFiles;
}

/** A small file's text, or undefined when it cannot be read. */
function readSmall(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

void internal;
