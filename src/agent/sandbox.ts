/**
 * Fast pod sandboxes: a pod's network namespace on the pods' bridge, made with two `ip` execs and in-process
 * address allocation, with no host-wide lock — so pods start concurrently.
 *
 * Why not the network library's setup(): it serialises every sandbox under one lock and runs the CNI bridge
 * plugin, which runs host-local (two Go programs per pod). At pod churn rates (tens per second, creations and
 * deletions interleaved) that lock was the node's throughput limit (~2 pods/s under load). A pod without host
 * ports needs none of the library's machinery (no portmap, no aliases, no static IP, one network), so:
 *
 *   1. address: the next free one of the network's range, reserved by creating its lease file with O_EXCL in
 *      the library's host-local lease dir — exactly host-local's on-disk format, so host-local (still used for
 *      pods with host ports), the library's reconcile (sweeps leases of dead owners) and this code never hand
 *      out one address twice;
 *   2. one job for the agent's shell helper (./shell.ts): `unshare --net=FILE ip -batch` pins a new
 *      namespace on FILE (in the library's netns dir, so its reconcile frees namespaces of dead owners) and,
 *      inside it, brings lo up, creates the veth pair with the host end moved straight into this process's
 *      namespace, addresses eth0 and sets the default route; then `ip -batch` on the host puts the host end
 *      on the bridge (hairpin on, as the bridge plugin does) and up.
 *
 * Why one command through a helper: spawning from this process costs a fork of a large address space
 * (~8-20 ms of the event loop at 150-250 MB RSS, measured), while forks made by a small shell are nearly free.
 *
 * Records (DATA/pod-sandboxes/<id>.json) let a restarted agent adopt running pods. Teardown = unmount the
 * namespace (the kernel deletes the veth with it; unmounts of pods going away together share one `umount`
 * exec), drop the lease and the record.
 */
import crypto from 'node:crypto';
import { promises as fs, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { run } from '../network/exec';
import { cniName } from '../network/conflist';
import { parseResolvConf, renderHosts, renderResolvConf, type ResolvConf } from '../network/files';
import { broadcast, formatIp, macForIp, parseCidr, parseIp } from '../network/ipv4';
import type { NetworkRecord } from '../network/model';
import { isNsMount, type NetnsDir } from '../network/netns';
import { JsonDir } from '../network/store';
import type { SandboxResult } from '../network/types';
import { ShellRunner, shq } from './shell';

export interface FastSandboxRecord {
  id: string;
  name: string;
  hostname: string;
  networkId: string;
  netnsPath: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  /** Host end of the veth pair. */
  veth: string;
  endpointId: string;
  hostsFile: string;
  resolvConf: string;
}

export interface FastSandboxRequest {
  id: string;
  name: string;
  hostname: string;
  dnsSearch?: string[];
  dnsOptions?: string[];
}

/** Host-local's lease line break (its disk backend writes "<id>\r\n<ifname>"). */
const LEASE_SEP = '\r\n';

/** Host-side veth name for a sandbox: ≤ 15 chars, stable, distinct from the bridge plugin's "veth…". */
export function vethName(id: string): string {
  return `vp${crypto.createHash('sha256').update(id).digest('hex').slice(0, 12)}`;
}

/** The address range host-local would use for the network (pure): first and last usable address. */
export function leaseRange(n: Pick<NetworkRecord, 'subnet' | 'ipRange'>): { first: number; last: number } {
  const sub = parseCidr(n.subnet);
  let first = sub.base + 1;
  let last = broadcast(sub) - 1;
  if (n.ipRange) {
    const r = parseCidr(n.ipRange);
    first = Math.max(r.base, first);
    last = Math.min(broadcast(r), last);
  }
  return { first, last };
}

/** The `ip -batch` lines run inside the new namespace (pure). */
export function innerBatch(o: { ip: string; prefixLen: number; gateway: string; mac: string; veth: string; hostPid: number; mtu?: number; internal: boolean }): string {
  const mtu = o.mtu ? ` mtu ${o.mtu}` : '';
  const lines = [
    'link set lo up',
    `link add eth0${mtu} address ${o.mac} type veth peer name ${o.veth}${mtu} netns ${o.hostPid}`,
    `addr add ${o.ip}/${o.prefixLen} dev eth0`,
    'link set eth0 up',
  ];
  if (!o.internal) lines.push(`route add default via ${o.gateway} dev eth0`);
  return lines.join('\n') + '\n';
}

/** The `ip -batch` lines run on the host for one sandbox (pure). */
export function hostBatch(veth: string, bridge: string): string {
  return `link set ${veth} master ${bridge}\nlink set ${veth} type bridge_slave hairpin on\nlink set ${veth} up\n`;
}

/**
 * The job the shell helper runs (pure): `unshare --net=FILE ip -batch` with the inner batch, then `ip -batch`
 * with the host one, both as here-documents (every word in them is ours: addresses, generated interface
 * names, the bridge name, the namespace path under our run dir).
 */
export function setupScript(netnsPath: string, inner: string, host: string): string {
  if (!/^[A-Za-z0-9/_.-]+$/.test(netnsPath)) throw new Error(`bad netns path ${netnsPath}`);
  return [
    `unshare --net=${netnsPath} ip -batch - <<'SKIFF_INNER' || exit $?`,
    inner.trimEnd(),
    'SKIFF_INNER',
    `exec ip -batch - <<'SKIFF_HOST'`,
    host.trimEnd(),
    'SKIFF_HOST',
    '',
  ].join('\n');
}

/** Whether a host veth end is still there after the kernel had ~1.5 s to delete it with its namespace. */
async function vethLingers(veth: string): Promise<boolean> {
  for (const ms of [0, 50, 100, 200, 400, 800]) {
    if (ms) await new Promise((r) => setTimeout(r, ms));
    if (!existsSync(`/sys/class/net/${veth}`)) return false;
  }
  return true;
}

/** fs.rm validates with an lstat and lstats again before unlinking: for one file, unlink is a third of that. */
async function unlinkIfAny(p: string): Promise<void> {
  await fs.unlink(p).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

export class FastSandboxes {
  private readonly records: JsonDir<FastSandboxRecord>;
  private readonly cache = new Map<string, FastSandboxRecord>();
  private readonly inflight = new Map<string, Promise<SandboxResult>>();
  /** Addresses known taken (lease files seen or made), as numbers. */
  private readonly used = new Set<number>();
  private cursor: number;
  private readonly range: { first: number; last: number };
  private readonly leaseDir: string;
  private hostResolv: ResolvConf = { nameservers: [], search: [], options: [] };
  private readonly shell: ShellRunner;

  private constructor(
    private readonly network: NetworkRecord,
    private readonly netns: NetnsDir,
    dataDir: string,
    ipamDir: string,
  ) {
    this.records = new JsonDir(path.join(dataDir, 'pod-sandboxes'));
    this.leaseDir = path.join(ipamDir, cniName(network));
    this.range = leaseRange(network);
    this.shell = new ShellRunner();
    this.cursor = this.range.first;
    try {
      this.hostResolv = parseResolvConf(readFileSync('/etc/resolv.conf', 'utf8'));
    } catch {
      /* defaults */
    }
  }

  /** dataDir: the pods' network data dir (records go under it); ipamDir: the library's host-local dir. */
  static async open(network: NetworkRecord, netns: NetnsDir, dataDir: string, ipamDir: string): Promise<FastSandboxes> {
    const f = new FastSandboxes(network, netns, dataDir, ipamDir);
    for (const r of await f.records.list()) f.cache.set(r.id, r);
    await fs.mkdir(f.leaseDir, { recursive: true });
    await f.rescanLeases();
    // The bridge plugin turns forwarding on at every ADD; pods made here need it as much.
    try {
      if (readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== '1') await fs.writeFile('/proc/sys/net/ipv4/ip_forward', '1');
    } catch {
      /* not permitted: the library's sandboxes would fail the same way */
    }
    return f;
  }

  get(id: string): SandboxResult | undefined {
    const r = this.cache.get(id);
    return r && this.resultOf(r);
  }

  /** Known here, or being set up. */
  has(id: string): boolean {
    return this.cache.has(id) || this.inflight.has(id);
  }

  ids(): string[] {
    return [...this.cache.keys()];
  }

  /** Creates the sandbox (idempotent per id; concurrent calls for one id share the work). */
  setup(req: FastSandboxRequest): Promise<SandboxResult> {
    const have = this.get(req.id);
    if (have) return Promise.resolve(have);
    let p = this.inflight.get(req.id);
    if (!p) {
      p = this.create(req).finally(() => this.inflight.delete(req.id));
      this.inflight.set(req.id, p);
    }
    return p;
  }

  private async create(req: FastSandboxRequest): Promise<SandboxResult> {
    const n = this.network;
    const netnsPath = this.netns.pathOf(req.id);
    // A namespace without a record: a crash between its creation and the record write. Start over.
    // (Its lease, if any, stays until the library's reconcile sees the owner dead: a directory scan per pod
    // is not worth one address.)
    if (await isNsMount(netnsPath)) await this.netns.remove(req.id);
    const ipNum = await this.reserve(req.id);
    const ip = formatIp(ipNum);
    const prefixLen = parseCidr(n.subnet).prefix;
    const rec: FastSandboxRecord = {
      id: req.id,
      name: req.name,
      hostname: req.hostname,
      networkId: n.id,
      netnsPath,
      ip,
      prefixLen,
      gateway: n.internal ? '' : n.gateway,
      mac: macForIp(ipNum),
      veth: vethName(req.id),
      endpointId: crypto.randomBytes(32).toString('hex'),
      hostsFile: renderHosts({ hostname: req.hostname, addresses: [ip] }),
      // The pods' network is a user network: its embedded DNS (cluster names via the service proxy) first.
      resolvConf: renderResolvConf({ host: this.hostResolv, embeddedDns: n.gateway, dnsSearch: req.dnsSearch, dnsOptions: req.dnsOptions }),
    };
    try {
      await fs.mkdir(this.netns.dir, { recursive: true, mode: 0o755 });
      await fs.writeFile(netnsPath, '', { mode: 0o444 });
      const mtu = Number(n.options['com.docker.network.driver.mtu'] ?? 0) || undefined;
      const inner = innerBatch({ ip, prefixLen, gateway: n.gateway, mac: rec.mac, veth: rec.veth, hostPid: process.pid, mtu, internal: n.internal });
      await this.shell.run(setupScript(netnsPath, inner, hostBatch(rec.veth, n.bridge)), { what: `setting up the network namespace of ${req.id}` });
      await this.records.put(rec.id, rec);
      this.cache.set(rec.id, rec);
      return this.resultOf(rec);
    } catch (err) {
      await this.unmount(netnsPath).catch(() => undefined);
      await unlinkIfAny(netnsPath);
      await run('ip', ['link', 'del', rec.veth], { allowFail: true });
      await this.releaseLease(ipNum);
      throw err;
    }
  }

  /** Frees everything of the sandbox. Safe for an unknown id. */
  async teardown(id: string): Promise<void> {
    // A setup in flight finishes first, so nothing it makes is left behind.
    await this.inflight.get(id)?.catch(() => undefined);
    const rec = this.cache.get(id) ?? (await this.records.get(id));
    const p = this.netns.pathOf(id);
    await this.unmount(p);
    await unlinkIfAny(p);
    // The kernel deletes the veth with the namespace, asynchronously (its netns cleanup work batches the
    // namespaces freed meanwhile): give it a moment before deleting one still there ourselves — that would be
    // an exec, and a device teardown under the kernel's network lock of its own, for nothing. One still there
    // after that means something else holds the namespace.
    if (rec && (await vethLingers(rec.veth))) await this.shell.run(`ip link del ${rec.veth} 2>/dev/null || true`, { allowFail: true });
    if (rec) await this.releaseLease(parseIp(rec.ip));
    this.cache.delete(id);
    await unlinkIfAny(path.join(this.records.dir, `${id}.json`));
  }

  /**
   * After an agent restart: drops records of dead owners and of sandboxes whose namespace is gone (a reboot
   * emptied /run: the pod gets a new one), and puts host veth ends back on the bridge if the bridge was
   * recreated meanwhile.
   */
  async reconcile(live: Set<string>): Promise<void> {
    const reattach: string[] = [];
    for (const rec of [...this.cache.values()]) {
      if (!live.has(rec.id) || !(await isNsMount(rec.netnsPath))) {
        await this.teardown(rec.id).catch(() => undefined);
        continue;
      }
      let master = '';
      try {
        master = path.basename(await fs.readlink(`/sys/class/net/${rec.veth}/master`));
      } catch {
        master = '';
      }
      if (master !== this.network.bridge && existsSync(`/sys/class/net/${rec.veth}`)) reattach.push(hostBatch(rec.veth, this.network.bridge));
    }
    if (reattach.length) await run('ip', ['-force', '-batch', '-'], { stdin: reattach.join(''), allowFail: true });
    await this.rescanLeases();
  }

  private pendingUnmounts: { path: string; done: () => void }[] = [];
  private unmountTimer?: NodeJS.Timeout;

  /** Lazily unmounts a namespace file; unmounts asked for within a few ms share one exec. */
  private async unmount(p: string): Promise<void> {
    if (!(await isNsMount(p))) return;
    await new Promise<void>((done) => {
      this.pendingUnmounts.push({ path: p, done });
      this.unmountTimer ??= setTimeout(() => void this.flushUnmounts(), 5);
    });
    // Stacked mounts (a create that raced with itself): the rest one by one.
    for (let i = 0; i < 8 && (await isNsMount(p)); i++) await run('umount', ['-l', p], { allowFail: true });
  }

  private async flushUnmounts(): Promise<void> {
    this.unmountTimer = undefined;
    const batch = this.pendingUnmounts.splice(0);
    await this.shell.run(`umount -l ${[...new Set(batch.map((b) => shq(b.path)))].join(' ')}`, { allowFail: true }).catch(() => undefined);
    for (const b of batch) b.done();
  }

  /** Ends the shell helper. */
  close(): void {
    this.shell.close();
  }

  private resultOf(r: FastSandboxRecord): SandboxResult {
    return {
      netnsPath: r.netnsPath,
      endpoints: [
        {
          network: this.network.name,
          networkId: r.networkId,
          endpointId: r.endpointId,
          ipAddress: r.ip,
          prefixLen: r.prefixLen,
          gateway: r.gateway,
          macAddress: r.mac,
          aliases: [],
        },
      ],
      ports: [],
      hostsFile: r.hostsFile,
      resolvConf: r.resolvConf,
    };
  }

  // ---- addresses (host-local's lease files) ----

  private async rescanLeases(): Promise<void> {
    this.used.clear();
    for (const name of await fs.readdir(this.leaseDir).catch(() => [] as string[])) {
      try {
        this.used.add(parseIp(name));
      } catch {
        /* lock, last_reserved_ip.0 */
      }
    }
    for (const r of this.cache.values()) this.used.add(parseIp(r.ip));
  }

  /** Reserves the next free address after the last one handed out (host-local's round robin). */
  private async reserve(owner: string): Promise<number> {
    const { first, last } = this.range;
    const size = last - first + 1;
    const gateway = parseIp(this.network.gateway);
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < size; i++) {
        const ip = first + ((this.cursor - first + i) % size);
        if (ip === gateway || this.used.has(ip)) continue;
        this.used.add(ip); // synchronously: concurrent setups never pick the same one
        try {
          await fs.writeFile(path.join(this.leaseDir, formatIp(ip)), `${owner}${LEASE_SEP}eth0`, { flag: 'wx', mode: 0o644 });
          this.cursor = ip + 1 > last ? first : ip + 1;
          return ip;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
            this.used.delete(ip);
            throw err;
          }
          // Taken by host-local meanwhile: stays marked used.
        }
      }
      // Full as far as we know: leases may have been released by the library's reconcile or host-local.
      await this.rescanLeases();
    }
    throw new Error(`no available IPv4 addresses on network ${this.network.name} (${this.network.subnet})`);
  }

  private async releaseLease(ip: number): Promise<void> {
    await unlinkIfAny(path.join(this.leaseDir, formatIp(ip)));
    this.used.delete(ip);
  }
}
