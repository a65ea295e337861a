/**
 * Networking for the engine: network objects (default `bridge` + user-defined bridge networks), sandboxes
 * (one network namespace per container or pod, attached to networks through CNI), published ports, the
 * embedded DNS server, and crash reconciliation. Implements the ContainerNetworking seam of ./types.
 *
 * On disk (all under options.dataDir): networks/<id>.json, sandboxes/<owner>.json, ipam/<cni name>/ (host-local
 * leases: persist across restarts so an address is never handed out twice). Under options.runDir: netns/<owner>.
 *
 * Every mutation runs under one in-process lock: they are short (a few plugin execs) and serialising them
 * keeps the records, leases and rules consistent without finer-grained locking.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SkiffError, isSkiffError } from '../common/errors';
import { CniError, CniInvoker, type CniResult, type RuntimeConf } from './cni';
import { buildConfList, cniName } from './conflist';
import { EmbeddedDns, type NameSource } from './dns/server';
import {
  checkFilters,
  matchesList,
  matchesPrune,
  toDockerNetwork,
  type DockerEndpoint,
  type DockerNetwork,
  type FilterArgs,
} from './docker';
import { run, type Runner } from './exec';
import { parseExtraHost, parseResolvConf, renderHosts, renderResolvConf, upstreamsFor, type ResolvConf } from './files';
import { BRIDGE_PREFIX, Firewall, sweepCniNat, sweepPortmapChains } from './firewall';
import {
  cidrContains,
  cidrsOverlap,
  firstHost,
  formatCidr,
  formatIp,
  isIpv4,
  parseCidr,
  parseIp,
  pickFreeSubnet,
  broadcast,
  type Cidr,
} from './ipv4';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from './model';
import { NetnsDir, isNsMount } from './netns';
import { PortReservations } from './ports';
import { JsonDir } from './store';
import { resolveName, upstreamsForClient } from './names';
import type {
  ContainerNetworking,
  EndpointRequest,
  EndpointResult,
  PortBinding,
  SandboxRequest,
  SandboxResult,
  SetupHooks,
} from './types';

export interface NetworkingOptions {
  /** Persistent state (network records, sandbox records, IP leases). */
  dataDir: string;
  /** Volatile state (network namespaces). */
  runDir: string;
  pluginDirs?: string[];
  /** Subnet of the default `bridge` network when it is first created (default: first free of 172.17.0.0/16...). */
  defaultSubnet?: string;
  /**
   * Bridge interface of the default network (must start with "skiff"). Default: "skiff0" for the production
   * data dir (/var/lib/skiff...), else "skiff" + a hash of dataDir, so engines started by tests on temporary
   * data dirs never share a bridge.
   */
  defaultBridge?: string;
  /** Port the embedded DNS listens on at each user network's gateway (containers always ask port 53). */
  dnsPort?: number;
  /** Where the host's resolvers are read from (default /etc/resolv.conf). */
  hostResolvConf?: string;
  /** Upstream resolvers for the embedded DNS ("ip" or "ip:port"); default: the host's nameservers. */
  upstreamResolvers?: string[];
  /** Turn off the default `bridge` network (tests that only want user networks). */
  noDefaultNetwork?: boolean;
  /**
   * Runs the per-container commands (netns creation and removal, CNI plugins); default: spawned from this
   * process. The engine passes its launch helper (a fork of a large process costs ~5 ms of event loop each).
   */
  runner?: Runner;
}

export interface CreateNetworkOptions {
  name: string;
  driver?: string;
  internal?: boolean;
  attachable?: boolean;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  labels?: Record<string, string>;
  options?: Record<string, string>;
}

const DEFAULT_NETWORK_NAME = 'bridge';
// "default" is Docker's NetworkMode for "the default network" (the bridge on Linux); it is predefined too.
const RESERVED_NAMES = new Set(['bridge', 'host', 'none', 'default']);

export class NetworkManager implements ContainerNetworking {
  readonly netns: NetnsDir;
  private readonly networks: JsonDir<NetworkRecord>;
  private readonly sandboxes: JsonDir<SandboxRecord>;
  private readonly ipamDir: string;
  private readonly cni: CniInvoker;
  private readonly firewall = new Firewall();
  private readonly ports = new PortReservations();
  private readonly dns: EmbeddedDns;
  private hostResolv: ResolvConf = { nameservers: [], search: [], options: [] };
  /** In-memory mirrors of the records (the files are the truth after a restart). */
  private netCache = new Map<string, NetworkRecord>();
  private sbCache = new Map<string, SandboxRecord>();
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(readonly opts: NetworkingOptions) {
    this.netns = new NetnsDir(path.join(opts.runDir, 'netns'), opts.runner);
    this.networks = new JsonDir(path.join(opts.dataDir, 'networks'));
    this.sandboxes = new JsonDir(path.join(opts.dataDir, 'sandboxes'));
    this.ipamDir = path.join(opts.dataDir, 'ipam');
    this.cni = new CniInvoker(opts.pluginDirs, opts.runner);
    this.dns = new EmbeddedDns(this.nameSource(), { port: opts.dnsPort });
  }

  /**
   * Loads state, makes sure the default network, firewall chains and bridges exist, and starts DNS. Does not
   * touch sandboxes: call reconcile(liveIds) once the owner knows which containers still exist.
   */
  static async open(opts: NetworkingOptions): Promise<NetworkManager> {
    const m = new NetworkManager(opts);
    await fs.mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
    try {
      m.hostResolv = parseResolvConf(readFileSync(opts.hostResolvConf ?? '/etc/resolv.conf', 'utf8'));
    } catch {
      /* no resolv.conf: defaults */
    }
    for (const n of await m.networks.list()) m.netCache.set(n.id, n);
    for (const s of await m.sandboxes.list()) m.sbCache.set(s.id, s);
    await m.firewall.ensureBase();
    await sweepOrphanBridges(m.firewall);
    if (!opts.noDefaultNetwork && ![...m.netCache.values()].some((n) => n.isDefault)) {
      await m.withLock(() => m.createLocked({ name: DEFAULT_NETWORK_NAME, subnet: opts.defaultSubnet }, true));
    }
    for (const n of m.netCache.values()) await m.activateNetwork(n);
    return m;
  }

  /**
   * Removes all networking state kept under these dirs (sandboxes, networks incl. the default one, bridges,
   * rules, leases) without creating anything. For test harnesses after their engine has exited.
   */
  static async purge(opts: Pick<NetworkingOptions, 'dataDir' | 'runDir'>): Promise<void> {
    const m = await NetworkManager.open({ ...opts, noDefaultNetwork: true, upstreamResolvers: [] });
    await m.destroyAll();
  }

  /**
   * Stops DNS and releases held ports; leaves sandboxes (namespaces, leases, rules) for the next start.
   */
  close(): Promise<void> {
    this.dns.closeAll();
    this.ports.closeAll();
    // Bridges of networks nobody uses are taken down too (their records stay; open() brings them back), so an
    // engine stopped with no containers leaves no interface or rule behind. Busy networks keep theirs: the
    // containers on them keep running while the engine is away.
    return this.withLock(async () => {
      for (const n of this.netCache.values()) {
        if (this.endpointsOn(n.id).length) continue;
        await this.firewall.removeNetwork(n.id).catch(() => undefined);
        await run('ip', ['link', 'del', n.bridge], { allowFail: true });
      }
    });
  }

  // ---------------------------------------------------------------- networks

  listNetworks(): NetworkRecord[] {
    return [...this.netCache.values()].sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
  }

  /** By exact id, exact name, then unique id prefix (Docker's lookup order). */
  getNetwork(idOrName: string): NetworkRecord {
    const all = this.listNetworks();
    if (idOrName === 'default') {
      const d = all.find((n) => n.isDefault);
      if (d) return d;
    }
    const hit =
      all.find((n) => n.id === idOrName) ??
      all.find((n) => n.name === idOrName) ??
      (() => {
        const pre = idOrName.length > 0 ? all.filter((n) => n.id.startsWith(idOrName)) : [];
        if (pre.length > 1) throw new SkiffError('InvalidArgument', `network ${idOrName} is ambiguous (${pre.length} matches found)`);
        return pre[0];
      })();
    if (!hit) throw new SkiffError('NotFound', `network ${idOrName} not found`, { details: { kind: 'network', name: idOrName } });
    return hit;
  }

  createNetwork(o: CreateNetworkOptions): Promise<NetworkRecord> {
    return this.withLock(() => this.createLocked(o, false));
  }

  /**
   * Removes everything this manager owns: sandboxes, every network including the default one, their bridges,
   * rules, leases and DNS listeners. For test harnesses and uninstall; the shared SKIFF-* chains stay.
   */
  destroyAll(): Promise<void> {
    return this.withLock(async () => {
      for (const id of [...this.sbCache.keys()]) await this.teardownLocked(id).catch(() => undefined);
      for (const id of await this.netns.list()) await this.netns.remove(id).catch(() => undefined);
      for (const n of this.listNetworks()) await this.destroyNetwork(n);
      this.dns.closeAll();
      this.ports.closeAll();
    });
  }

  private defaultBridgeName(): string {
    if (this.opts.defaultBridge) return this.opts.defaultBridge;
    if (path.resolve(this.opts.dataDir).startsWith('/var/lib/skiff')) return `${BRIDGE_PREFIX}0`;
    return `${BRIDGE_PREFIX}${createHash('sha256').update(path.resolve(this.opts.dataDir)).digest('hex').slice(0, 8)}`;
  }

  removeNetwork(idOrName: string): Promise<void> {
    return this.withLock(async () => {
      const n = this.getNetwork(idOrName);
      if (n.isDefault || RESERVED_NAMES.has(n.name)) {
        throw new SkiffError('Forbidden', `${n.name} is a pre-defined network and cannot be removed`);
      }
      if (this.endpointsOn(n.id).length) {
        throw new SkiffError('Forbidden', `error while removing network: network ${n.name} id ${n.id} has active endpoints`);
      }
      await this.destroyNetwork(n);
    });
  }

  /** Removes every unused user-defined network matching the prune filters; returns the removed names. */
  pruneNetworks(filters: FilterArgs = {}): Promise<string[]> {
    checkFilters(filters, true);
    return this.withLock(async () => {
      const removed: string[] = [];
      for (const n of this.listNetworks()) {
        if (n.isDefault || this.endpointsOn(n.id).length || !matchesPrune(n, filters)) continue;
        await this.destroyNetwork(n);
        removed.push(n.name);
      }
      return removed;
    });
  }

  inspectNetwork(idOrName: string): DockerNetwork {
    const n = this.getNetwork(idOrName);
    const containers: Record<string, DockerEndpoint> = {};
    for (const { sb, ep } of this.endpointsOn(n.id)) {
      containers[sb.id] = {
        Name: sb.name,
        EndpointID: ep.endpointId,
        MacAddress: ep.macAddress,
        IPv4Address: `${ep.ipAddress}/${ep.prefixLen}`,
        IPv6Address: '',
      };
    }
    return toDockerNetwork(n, containers);
  }

  /** Docker's GET /networks: list entries (Containers empty there, as in Docker). */
  listDockerNetworks(filters: FilterArgs = {}): DockerNetwork[] {
    checkFilters(filters);
    return this.listNetworks()
      .filter((n) => matchesList(n, filters, this.endpointsOn(n.id).length > 0))
      .map((n) => toDockerNetwork(n, {}));
  }

  // ---------------------------------------------------------------- sandboxes

  setup(req: SandboxRequest, hooks?: SetupHooks): Promise<SandboxResult> {
    return this.withLock(() => this.setupLocked(req, hooks));
  }

  teardown(id: string): Promise<void> {
    return this.withLock(() => this.teardownLocked(id));
  }

  /** The current result of a sandbox (after connect/disconnect, or after a restart). */
  sandbox(id: string): SandboxResult | undefined {
    const sb = this.sbCache.get(id);
    return sb && this.resultOf(sb);
  }

  /** Attaches a running sandbox to one more network (docker network connect). */
  connect(id: string, ep: EndpointRequest): Promise<EndpointResult> {
    return this.withLock(async () => {
      const sb = this.sbCache.get(id);
      if (!sb) throw new SkiffError('NotFound', `no network sandbox for container ${id}: is it running?`);
      const n = this.getNetwork(ep.network);
      if (sb.endpoints.some((e) => e.networkId === n.id)) {
        throw new SkiffError('Forbidden', `endpoint with name ${sb.name} already exists in network ${n.name}`);
      }
      this.validateEndpoint(n, ep);
      const rec = await this.addEndpoint(sb, n, ep, nextIfName(sb), []);
      sb.endpoints.push(rec);
      await this.saveSandbox(sb);
      await this.ensureDns(n);
      return this.endpointResult(rec);
    });
  }

  /** Detaches a sandbox from a network (docker network disconnect). */
  disconnect(id: string, network: string): Promise<void> {
    return this.withLock(async () => {
      const n = this.getNetwork(network);
      const sb = this.sbCache.get(id);
      const i = sb ? sb.endpoints.findIndex((e) => e.networkId === n.id) : -1;
      if (!sb || i < 0) throw new SkiffError('Forbidden', `container ${id} is not connected to network ${n.name}`);
      const ep = sb.endpoints[i];
      await this.delEndpoint(sb, n, ep);
      if (ep.portMappings.length) {
        this.ports.release(sb.id);
        sb.ports = [];
      }
      sb.endpoints.splice(i, 1);
      await this.saveSandbox(sb);
    });
  }

  /**
   * Brings networking in line with the owner's truth after a start or a crash: every sandbox, namespace,
   * lease and CNI rule whose owner is not in liveIds is released; live sandboxes get their ports and DNS
   * names back. Safe to run any number of times.
   */
  reconcile(liveIds: Iterable<string>): Promise<{ removed: string[] }> {
    const live = new Set(liveIds);
    return this.withLock(async () => {
      const removed = new Set<string>();
      await this.firewall.ensureBase();
      for (const n of this.netCache.values()) await this.activateNetwork(n);

      // 1. Sandbox records of dead owners: a regular teardown (CNI DEL with the cached results).
      for (const sb of [...this.sbCache.values()]) {
        if (live.has(sb.id)) continue;
        // A plugin error here must not stop the rest of the cleanup: the sweeps below catch what it left.
        await this.teardownLocked(sb.id).catch(() => undefined);
        removed.add(sb.id);
      }
      // 2. Leases without a record (crash between host-local's ADD and our record write).
      for (const n of this.netCache.values()) {
        for (const lease of await this.leases(n)) {
          if (live.has(lease.owner)) continue;
          const netnsPath = (await this.netns.exists(lease.owner).catch(() => false)) ? this.netns.pathOf(lease.owner) : '';
          await this.cni
            .del(buildConfList(n, this.ipamDir), { containerId: lease.owner, netns: netnsPath, ifName: lease.ifName })
            .catch(() => undefined);
          await fs.rm(lease.file, { force: true });
          removed.add(lease.owner);
        }
      }
      // 3. Namespaces without a live owner.
      for (const id of await this.netns.list()) {
        if (live.has(id)) continue;
        await this.netns.remove(id).catch(() => undefined);
        removed.add(id);
      }
      // 4. CNI nat rules of our networks whose owner is gone: commented jumps (and the chains they lead to), then
      // portmap chains nothing jumps to (an ADD killed between creating its chain and adding the jump).
      const ours = new Set([...this.netCache.values()].map((n) => cniName(n)));
      await sweepCniNat((network, owner) => {
        if (ours.has(network) && !live.has(owner)) removed.add(owner);
        return ours.has(network) && !live.has(owner);
      });
      const pairs: [string, string][] = [];
      for (const owner of removed) for (const network of ours) pairs.push([network, owner]);
      await sweepPortmapChains(pairs);
      // 5. Live sandboxes: take their host ports again.
      for (const sb of this.sbCache.values()) {
        if (sb.ports.length) await this.ports.readopt(sb.id, sb.ports);
      }
      return { removed: [...removed] };
    });
  }

  // ---------------------------------------------------------------- internals: networks

  private async createLocked(o: CreateNetworkOptions, isDefault: boolean): Promise<NetworkRecord> {
    const name = o.name?.trim();
    if (!name) throw new SkiffError('InvalidArgument', 'network name is required');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
      throw new SkiffError('InvalidArgument', `invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    if (!isDefault && RESERVED_NAMES.has(name)) {
      throw new SkiffError('Forbidden', `operation is not permitted on predefined ${name} network`);
    }
    if ([...this.netCache.values()].some((n) => n.name === name)) {
      throw new SkiffError('Conflict', `network with name ${name} already exists`);
    }
    const driver = o.driver || 'bridge';
    if (driver !== 'bridge') {
      throw new SkiffError('InvalidArgument', `network driver "${driver}" is not supported: skiff networks use the bridge driver`);
    }
    // Several engines (tests) may pick subnets at once: choosing a free one and claiming it with a bridge route
    // happens under a host-wide lock.
    const release = await hostLock('/run/skiff-network.lock');
    try {
      return await this.createUnderHostLock(o, isDefault, name);
    } finally {
      await release();
    }
  }

  private async createUnderHostLock(o: CreateNetworkOptions, isDefault: boolean, name: string): Promise<NetworkRecord> {
    const others = [...this.netCache.values()].map((n) => parseCidr(n.subnet));
    let subnet: Cidr;
    if (o.subnet) {
      try {
        subnet = parseCidr(o.subnet, true);
      } catch (err) {
        throw new SkiffError('InvalidArgument', `invalid subnet ${o.subnet}: ${(err as Error).message}`);
      }
      if (subnet.prefix > 30) throw new SkiffError('InvalidArgument', `subnet ${o.subnet} is too small`);
      if (others.some((c) => cidrsOverlap(c, subnet))) {
        throw new SkiffError('Forbidden', 'Pool overlaps with other one on this address space');
      }
      // Another skiff engine's bridge on this host with an overlapping subnet would break routing for both.
      const clash = (await hostRoutes()).find((r) => r.dev?.startsWith(BRIDGE_PREFIX) && cidrsOverlap(r.cidr, subnet));
      if (clash) {
        throw new SkiffError('Forbidden', `Pool overlaps with other one on this address space (${formatCidr(clash.cidr)} on ${clash.dev})`);
      }
    } else {
      const taken = [...others, ...(await hostRoutes()).map((r) => r.cidr)];
      const pick = isDefault && this.opts.defaultSubnet ? parseCidr(this.opts.defaultSubnet, true) : pickFreeSubnet(taken);
      if (!pick) throw new SkiffError('Unavailable', 'could not find an available, non-overlapping IPv4 address pool');
      subnet = pick;
    }
    let gateway = formatIp(firstHost(subnet));
    if (o.gateway) {
      if (!isIpv4(o.gateway) || !cidrContains(subnet, parseIp(o.gateway))) {
        throw new SkiffError('InvalidArgument', `invalid gateway ${o.gateway}: not in subnet ${formatCidr(subnet)}`);
      }
      gateway = o.gateway;
    }
    let ipRange: string | undefined;
    if (o.ipRange) {
      let r: Cidr;
      try {
        r = parseCidr(o.ipRange, true);
      } catch (err) {
        throw new SkiffError('InvalidArgument', `invalid ip-range ${o.ipRange}: ${(err as Error).message}`);
      }
      if (r.prefix < subnet.prefix || !cidrContains(subnet, r.base)) {
        throw new SkiffError('InvalidArgument', `ip-range ${o.ipRange} is not inside subnet ${formatCidr(subnet)}`);
      }
      ipRange = formatCidr(r);
    }
    const id = randomBytes(32).toString('hex');
    const bridge = isDefault ? this.defaultBridgeName() : `${BRIDGE_PREFIX}-${id.slice(0, 9)}`;
    const options = { ...(o.options ?? {}) };
    if (isDefault) {
      Object.assign(options, {
        'com.docker.network.bridge.default_bridge': 'true',
        'com.docker.network.bridge.enable_icc': 'true',
        'com.docker.network.bridge.enable_ip_masquerade': 'true',
        'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
        'com.docker.network.bridge.name': bridge,
        'com.docker.network.driver.mtu': '1500',
      });
    }
    const rec: NetworkRecord = {
      id,
      name,
      driver: 'bridge',
      created: new Date().toISOString(),
      internal: !!o.internal,
      attachable: !!o.attachable,
      subnet: formatCidr(subnet),
      gateway,
      ipRange,
      bridge,
      labels: { ...(o.labels ?? {}) },
      options,
      isDefault,
    };
    // Record first, then the bridge: a crash in between leaves a record whose bridge activateNetwork makes.
    await this.networks.put(id, rec);
    this.netCache.set(id, rec);
    try {
      await this.activateNetwork(rec, true);
    } catch (err) {
      await this.destroyNetwork(rec).catch(() => undefined);
      throw err;
    }
    return rec;
  }

  /** Bridge with its gateway address, isolation rules, DNS listener: everything a network needs while it exists. */
  private async activateNetwork(n: NetworkRecord, dnsStrict = false): Promise<void> {
    const prefix = parseCidr(n.subnet).prefix;
    const exists = (await run('ip', ['link', 'show', 'dev', n.bridge], { allowFail: true })).code === 0;
    if (!exists) {
      const r = await run('ip', ['link', 'add', n.bridge, 'type', 'bridge'], { allowFail: true });
      if (r.code !== 0 && !/exists/i.test(r.stderr)) throw new SkiffError('Internal', `creating bridge ${n.bridge}: ${r.stderr.trim()}`);
    }
    const addr = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', n.bridge]);
    if (!addr.stdout.includes(` ${n.gateway}/${prefix} `)) {
      await run('ip', ['addr', 'add', `${n.gateway}/${prefix}`, 'brd', formatIp(broadcast(parseCidr(n.subnet))), 'dev', n.bridge], { allowFail: true });
    }
    await run('ip', ['link', 'set', n.bridge, 'up']);
    // The alias names the owner, so any skiff on this host can tell an orphan (its data dir is gone) from a bridge
    // another engine still uses.
    await run('ip', ['link', 'set', 'dev', n.bridge, 'alias', bridgeAlias(n.id, this.opts.dataDir)], { allowFail: true });
    await this.firewall.addNetwork(n.id, n.bridge, n.subnet, n.internal);
    // At start-up a busy port 53 must not keep the engine down: the next setup on this network retries (strictly).
    await this.ensureDns(n).catch((err) => {
      if (dnsStrict) throw err;
    });
  }

  private async ensureDns(n: NetworkRecord): Promise<void> {
    if (n.isDefault || this.dns.isListening(n.id)) return;
    try {
      await this.dns.listen(n.id, n.gateway);
    } catch (err) {
      throw new SkiffError('Unavailable', `embedded DNS for network ${n.name} cannot listen on ${n.gateway}: ${(err as Error).message}`);
    }
  }

  private async destroyNetwork(n: NetworkRecord): Promise<void> {
    this.dns.close(n.id);
    await this.firewall.removeNetwork(n.id);
    await run('ip', ['link', 'del', n.bridge], { allowFail: true });
    await fs.rm(path.join(this.ipamDir, cniName(n)), { recursive: true, force: true });
    await this.networks.delete(n.id);
    this.netCache.delete(n.id);
  }

  private endpointsOn(networkId: string): { sb: SandboxRecord; ep: EndpointRecord }[] {
    const out: { sb: SandboxRecord; ep: EndpointRecord }[] = [];
    for (const sb of this.sbCache.values()) {
      for (const ep of sb.endpoints) if (ep.networkId === networkId) out.push({ sb, ep });
    }
    return out;
  }

  private async leases(n: NetworkRecord): Promise<{ file: string; owner: string; ifName: string }[]> {
    const dir = path.join(this.ipamDir, cniName(n));
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      return [];
    }
    const out: { file: string; owner: string; ifName: string }[] = [];
    for (const name of names) {
      if (!isIpv4(name)) continue; // lock, last_reserved_ip.N
      const file = path.join(dir, name);
      const [owner = '', ifName = 'eth0'] = (await fs.readFile(file, 'utf8').catch(() => '')).split(/\r?\n/).map((s) => s.trim());
      out.push({ file, owner, ifName });
    }
    return out;
  }

  // ---------------------------------------------------------------- internals: sandboxes

  private validateEndpoint(n: NetworkRecord, ep: EndpointRequest): void {
    if (ep.ipv4Address) {
      if (!isIpv4(ep.ipv4Address) || !cidrContains(parseCidr(n.subnet), parseIp(ep.ipv4Address))) {
        throw new SkiffError('InvalidArgument', `invalid IPv4 address ${ep.ipv4Address}: not in network ${n.name}'s subnet ${n.subnet}`);
      }
      if (n.isDefault) {
        throw new SkiffError('InvalidArgument', 'user specified IP address is supported on user defined networks only');
      }
    }
    if (ep.aliases?.length && n.isDefault) {
      throw new SkiffError('InvalidArgument', 'network-scoped alias is supported only for containers in user defined networks');
    }
    if (ep.macAddress && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(ep.macAddress)) {
      throw new SkiffError('InvalidArgument', `invalid MAC address ${ep.macAddress}`);
    }
  }

  private async setupLocked(req: SandboxRequest, hooks?: SetupHooks): Promise<SandboxResult> {
    const existing = this.sbCache.get(req.id);
    if (existing) return this.resultOf(existing);
    // Docker's special --add-host value: the host as seen from containers (the default bridge's gateway).
    if (req.extraHosts?.some((e) => /[:=]host-gateway$/.test(e))) {
      const gw = [...this.netCache.values()].find((n) => n.isDefault)?.gateway ?? (req.endpoints[0] && this.getNetwork(req.endpoints[0].network).gateway);
      if (!gw) throw new SkiffError('InvalidArgument', 'host-gateway is not available: no bridge network');
      req = { ...req, extraHosts: req.extraHosts.map((e) => e.replace(/([:=])host-gateway$/, `$1${gw}`)) };
    }
    for (const e of req.extraHosts ?? []) {
      try {
        parseExtraHost(e);
      } catch (err) {
        throw new SkiffError('InvalidArgument', (err as Error).message);
      }
    }
    const nets = req.endpoints.map((ep) => {
      const n = this.getNetwork(ep.network);
      this.validateEndpoint(n, ep);
      return n;
    });
    if (new Set(nets.map((n) => n.id)).size !== nets.length) {
      throw new SkiffError('InvalidArgument', 'a container can join each network only once');
    }
    for (const p of req.portBindings) {
      if (!(p.containerPort >= 1 && p.containerPort <= 65535) || !(p.hostPort >= 0 && p.hostPort <= 65535)) {
        throw new SkiffError('InvalidArgument', `invalid port mapping ${p.hostPort}:${p.containerPort}/${p.protocol}`);
      }
      if (p.hostIp && !isIpv4(p.hostIp) && p.hostIp !== '::') {
        throw new SkiffError('InvalidArgument', `invalid host IP ${p.hostIp} for port ${p.containerPort}`);
      }
    }
    // Ports are published on the first network that can reach the outside (Docker's gateway endpoint).
    const primary = nets.findIndex((n) => !n.internal);
    const wantPorts = primary >= 0 ? req.portBindings : [];

    const sb: SandboxRecord = {
      id: req.id,
      name: req.name,
      hostname: req.hostname,
      netnsPath: this.netns.pathOf(req.id),
      request: req,
      endpoints: [],
      ports: [],
      hostsFile: '',
      resolvConf: '',
    };
    // A namespace without a record is what a crash between netns creation and the record write leaves (for an
    // owner that is still alive, so reconcile kept it): release it before starting over.
    if (await this.netns.exists(req.id)) {
      for (let i = 0; i < nets.length; i++) {
        const rt = { containerId: req.id, netns: sb.netnsPath, ifName: `eth${i}` };
        await this.cni.del(buildConfList(nets[i], this.ipamDir), rt).catch(() => undefined);
      }
      await this.netns.remove(req.id);
    }
    // Nothing is half-made on failure: ports, then netns, then each endpoint; undone in reverse.
    sb.ports = await this.ports.reserve(req.id, wantPorts.map((p) => ({ ...p, hostIp: p.hostIp === '::' ? '' : p.hostIp })));
    try {
      await this.netns.create(req.id);
      // The container can be created in the namespace while its endpoints are added (CNI ADD is most of setup).
      hooks?.netnsReady?.(sb.netnsPath);
      for (let i = 0; i < nets.length; i++) {
        const rec = await this.addEndpoint(sb, nets[i], req.endpoints[i], `eth${i}`, i === primary ? sb.ports : []);
        sb.endpoints.push(rec);
      }
      for (const n of nets) await this.ensureDns(n);
      await this.saveSandbox(sb);
      return this.resultOf(sb);
    } catch (err) {
      for (const ep of [...sb.endpoints].reverse()) {
        const n = this.netCache.get(ep.networkId);
        if (n) await this.delEndpoint(sb, n, ep).catch(() => undefined);
      }
      await this.netns.remove(req.id).catch(() => undefined);
      this.ports.release(req.id);
      this.sbCache.delete(req.id);
      await this.sandboxes.delete(req.id).catch(() => undefined);
      throw err;
    }
  }

  private async teardownLocked(id: string): Promise<void> {
    const sb = this.sbCache.get(id) ?? (await this.sandboxes.get(id));
    const errors: Error[] = [];
    if (sb) {
      for (const ep of [...sb.endpoints].reverse()) {
        const n = this.netCache.get(ep.networkId);
        if (!n) continue;
        try {
          await this.delEndpoint(sb, n, ep);
        } catch (err) {
          errors.push(err as Error);
        }
      }
    }
    await this.netns.remove(id);
    this.ports.release(id);
    this.sbCache.delete(id);
    await this.sandboxes.delete(id);
    if (errors.length) {
      // Record and namespace are gone; anything a plugin left is swept by the next reconcile.
      throw new SkiffError('Internal', `releasing network of ${id}: ${errors[0].message}`, { cause: errors[0] });
    }
  }

  private async addEndpoint(
    sb: SandboxRecord,
    n: NetworkRecord,
    ep: EndpointRequest,
    ifName: string,
    ports: PortBinding[],
  ): Promise<EndpointRecord> {
    const prefixLen = parseCidr(n.subnet).prefix;
    const capabilityArgs: RuntimeConf['capabilityArgs'] = {};
    if (ports.length) {
      capabilityArgs.portMappings = ports.map((p) => {
        const m: Record<string, unknown> = { hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol };
        if (p.hostIp && p.hostIp !== '0.0.0.0') m.hostIP = p.hostIp;
        return m;
      });
    }
    if (ep.ipv4Address) capabilityArgs.ips = [`${ep.ipv4Address}/${prefixLen}`];
    if (ep.macAddress) capabilityArgs.mac = ep.macAddress;
    const rt: RuntimeConf = { containerId: sb.id, netns: sb.netnsPath, ifName, capabilityArgs };
    const list = buildConfList(n, this.ipamDir, ports.length > 0);
    let result: CniResult;
    try {
      result = await this.cni.add(list, rt);
    } catch (err) {
      // A failed ADD may have done part of its work (bridge ADD before portmap failed): DEL is idempotent.
      await this.cni.del(list, rt).catch(() => undefined);
      throw translateCniError(err, n, ep);
    }
    const ip = result.ips?.[0];
    if (!ip) {
      await this.cni.del(list, rt, result).catch(() => undefined);
      throw new SkiffError('Internal', `CNI returned no address for ${sb.id} on ${n.name}`);
    }
    const iface = result.interfaces?.find((i) => i.name === ifName && i.sandbox);
    return {
      networkId: n.id,
      endpointId: randomBytes(32).toString('hex'),
      ifName,
      aliases: [...new Set(ep.aliases ?? [])],
      ipAddress: ip.address.split('/')[0],
      prefixLen,
      gateway: n.internal ? '' : (ip.gateway ?? n.gateway),
      macAddress: iface?.mac ?? '',
      portMappings: ports,
      cniResult: result,
    };
  }

  private async delEndpoint(sb: SandboxRecord, n: NetworkRecord, ep: EndpointRecord): Promise<void> {
    const netns = (await isNsMount(sb.netnsPath)) ? sb.netnsPath : '';
    const capabilityArgs: RuntimeConf['capabilityArgs'] = {};
    if (ep.portMappings.length) {
      capabilityArgs.portMappings = ep.portMappings.map((p) => ({
        hostPort: p.hostPort,
        containerPort: p.containerPort,
        protocol: p.protocol,
        ...(p.hostIp && p.hostIp !== '0.0.0.0' ? { hostIP: p.hostIp } : {}),
      }));
    }
    const list = buildConfList(n, this.ipamDir, ep.portMappings.length > 0);
    await this.cni.del(list, { containerId: sb.id, netns, ifName: ep.ifName, capabilityArgs }, ep.cniResult);
  }

  private async saveSandbox(sb: SandboxRecord): Promise<void> {
    const res = this.computeFiles(sb);
    sb.hostsFile = res.hostsFile;
    sb.resolvConf = res.resolvConf;
    await this.sandboxes.put(sb.id, sb);
    this.sbCache.set(sb.id, sb);
  }

  private computeFiles(sb: SandboxRecord): { hostsFile: string; resolvConf: string } {
    const req = sb.request;
    const userNet = sb.endpoints.map((e) => this.netCache.get(e.networkId)).find((n) => n && !n.isDefault);
    return {
      hostsFile: renderHosts({ hostname: sb.hostname, addresses: sb.endpoints.map((e) => e.ipAddress), extraHosts: req.extraHosts }),
      resolvConf: renderResolvConf({
        host: this.hostResolv,
        embeddedDns: userNet?.gateway,
        dns: req.dns,
        dnsSearch: req.dnsSearch,
        dnsOptions: req.dnsOptions,
      }),
    };
  }

  private endpointResult(ep: EndpointRecord): EndpointResult {
    const n = this.netCache.get(ep.networkId);
    return {
      network: n?.name ?? ep.networkId,
      networkId: ep.networkId,
      endpointId: ep.endpointId,
      ipAddress: ep.ipAddress,
      prefixLen: ep.prefixLen,
      gateway: ep.gateway,
      macAddress: ep.macAddress,
      aliases: ep.aliases,
    };
  }

  private resultOf(sb: SandboxRecord): SandboxResult {
    return {
      netnsPath: sb.netnsPath,
      endpoints: sb.endpoints.map((e) => this.endpointResult(e)),
      ports: sb.ports.map((p) => ({ ...p })),
      hostsFile: sb.hostsFile,
      resolvConf: sb.resolvConf,
    };
  }

  // ---------------------------------------------------------------- name resolution

  /**
   * Names answered before skiff's own on every network (the node's cluster DNS: `<svc>.<ns>.svc.cluster.local`,
   * fed by the service proxy). A source returns undefined for names it does not own.
   */
  addNameSource(lookup: (name: string, clientIp: string) => string[] | undefined): void {
    this.extraNames.push(lookup);
  }
  private readonly extraNames: Array<(name: string, clientIp: string) => string[] | undefined> = [];

  private nameSource(): NameSource {
    const view = { networks: this.netCache, sandboxes: { [Symbol.iterator]: () => this.sbCache.values() } };
    return {
      lookup: (networkId, clientIp, name) => {
        for (const src of this.extraNames) {
          const found = src(name, clientIp);
          if (found) return found;
        }
        return resolveName(view, networkId, clientIp, name);
      },
      upstreams: (networkId, clientIp) =>
        upstreamsForClient(view, networkId, clientIp, this.opts.upstreamResolvers ?? upstreamsFor(this.hostResolv)),
    };
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }
}

function nextIfName(sb: SandboxRecord): string {
  for (let i = 0; ; i++) if (!sb.endpoints.some((e) => e.ifName === `eth${i}`)) return `eth${i}`;
}

function translateCniError(err: unknown, n: NetworkRecord, ep: EndpointRequest): Error {
  if (isSkiffError(err) || !(err instanceof CniError)) return err as Error;
  if (/no IP addresses available/i.test(err.msg)) {
    return new SkiffError('Unavailable', `no available IPv4 addresses on network ${n.name} (${n.subnet})`);
  }
  if (ep.ipv4Address && /not available|already|requested IP/i.test(err.msg)) {
    return new SkiffError('Conflict', `Address already in use: ${ep.ipv4Address} on network ${n.name}`);
  }
  return new SkiffError('Internal', `attaching to network ${n.name}: ${err.message}`);
}

/** IPv4 destinations the host routes somewhere already (so a new subnet does not shadow them). */
async function hostRoutes(): Promise<{ cidr: Cidr; dev?: string }[]> {
  const res = await run('ip', ['-4', '-j', 'route', 'show', 'table', 'all'], { allowFail: true });
  if (res.code !== 0) return [];
  const out: { cidr: Cidr; dev?: string }[] = [];
  try {
    for (const r of JSON.parse(res.stdout) as { dst?: string; dev?: string; type?: string }[]) {
      if (!r.dst || r.dst === 'default' || r.type === 'local' || r.type === 'broadcast') continue;
      try {
        out.push({ cidr: parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`), dev: r.dev });
      } catch {
        /* not IPv4 */
      }
    }
  } catch {
    /* unparseable: no routes known */
  }
  return out;
}

export function bridgeAlias(networkId: string, dataDir: string): string {
  return `skiff:${networkId.slice(0, 12)}:${path.resolve(dataDir)}`;
}

/**
 * Removes skiff bridges (and their SKIFF-* rules) whose owner's data dir no longer exists: what engines on
 * temporary data dirs (tests) leave when they are killed. Bridges of live data dirs are never touched.
 */
export async function sweepOrphanBridges(firewall: Firewall): Promise<string[]> {
  const res = await run('ip', ['-j', '-d', 'link', 'show', 'type', 'bridge'], { allowFail: true });
  if (res.code !== 0) return [];
  const removed: string[] = [];
  let links: { ifname?: string; ifalias?: string }[] = [];
  try {
    links = JSON.parse(res.stdout);
  } catch {
    return [];
  }
  for (const l of links) {
    const m = /^skiff:([0-9a-f]{12}):(\/.+)$/.exec(l.ifalias ?? '');
    if (!l.ifname?.startsWith(BRIDGE_PREFIX) || !m) continue;
    if (existsSync(m[2])) continue;
    await firewall.removeNetwork(m[1]).catch(() => undefined);
    await run('ip', ['link', 'del', l.ifname], { allowFail: true });
    removed.push(l.ifname);
  }
  return removed;
}

/**
 * A crude host-wide mutex: mkdir is atomic. A holder that died leaves the dir; it is taken over after 15 s.
 */
async function hostLock(dir: string): Promise<() => Promise<void>> {
  const lockDir = path.resolve(dir);
  await fs.mkdir(path.dirname(lockDir), { recursive: true });
  for (let i = 0; ; i++) {
    try {
      await fs.mkdir(lockDir);
      return () => fs.rm(lockDir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await fs.stat(lockDir).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 15_000) await fs.rm(lockDir, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 50));
    }
  }
}
