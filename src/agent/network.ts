/**
 * Pod networking: one network namespace per pod (its sandbox) on the pods' own bridge network
 * ("skiff-pods", its own subnet), made by the network library, joined by every container of the pod.
 *
 * The engine's container manager asks its ContainerNetworking for a sandbox when it starts a container in a
 * network mode it does not handle itself. PodNetwork wraps that seam: the mode `skiff-pod.<uid>` returns
 * the pod's existing sandbox (no new namespace, nothing torn down when one container stops); every other
 * mode goes to the engine's own networking (or, when the engine has none, to this manager's default
 * bridge), so `docker run` keeps working in the server role.
 */
import path from 'node:path';
import { NetworkManager } from '../network/manager';
import type { ContainerNetworking, SandboxRequest, SandboxResult } from '../network/types';
import { conflict } from '../common/errors';
import { POD_NETWORK_MODE_PREFIX, sandboxId } from './naming';
import { podSearchDomains } from '../proxy/dns';
import { FastSandboxes } from './sandbox';

export const POD_NETWORK = 'skiff-pods';

export interface PodNetworkOptions {
  dataDir: string;
  runDir: string;
  /** The engine's networking for non-pod containers (optional). */
  inner?: ContainerNetworking;
  /** Whether an engine container id belongs to a pod (its teardown must not touch the pod sandbox). */
  isPodContainer(id: string): boolean;
  /** Fixed subnet for the pods network on first creation (default: the first free private /16). */
  subnet?: string;
}

export class PodNetwork implements ContainerNetworking {
  private constructor(
    readonly manager: NetworkManager,
    /** Pods without host ports (nearly all): set up concurrently, without the library's lock (./sandbox.ts). */
    readonly fast: FastSandboxes,
    private readonly opts: PodNetworkOptions,
  ) {}

  static async open(opts: PodNetworkOptions): Promise<PodNetwork> {
    const manager = await NetworkManager.open({ dataDir: opts.dataDir, runDir: opts.runDir });
    if (!manager.listNetworks().some((n) => n.name === POD_NETWORK)) {
      await manager.createNetwork({ name: POD_NETWORK, subnet: opts.subnet, labels: { 'io.skiff.network': 'pods' } });
    }
    // The library keeps host-local's leases under DATA/ipam (NetworkManager's layout).
    const fast = await FastSandboxes.open(manager.getNetwork(POD_NETWORK), manager.netns, opts.dataDir, path.join(opts.dataDir, 'ipam'));
    return new PodNetwork(manager, fast, opts);
  }

  /** The pods network's subnet (for the Node's podCIDR). */
  get subnet(): string {
    return this.manager.getNetwork(POD_NETWORK).subnet;
  }

  /** Creates (or returns) the pod's sandbox. */
  ensurePod(pod: { uid: string; name: string; hostname: string; namespace?: string }, hostPorts: SandboxRequest['portBindings'] = []): Promise<SandboxResult> {
    // ClusterFirst DNS (kubelet's default): cluster names through the network's DNS, which the service
    // proxy feeds (src/proxy/dns.ts), with the namespace's search list and upstream's ndots.
    const dns = pod.namespace ? { dnsSearch: podSearchDomains(pod.namespace), dnsOptions: ['ndots:5'] } : {};
    if (!hostPorts.length) return this.fast.setup({ id: sandboxId(pod.uid), name: pod.name, hostname: pod.hostname, ...dns });
    // Host ports need portmap and the library's port reservations.
    return this.manager.setup({
      id: sandboxId(pod.uid),
      name: pod.name,
      hostname: pod.hostname,
      endpoints: [{ network: POD_NETWORK }],
      portBindings: hostPorts,
      ...dns,
    });
  }

  podSandbox(uid: string): SandboxResult | undefined {
    const id = sandboxId(uid);
    return this.fast.get(id) ?? this.manager.sandbox(id);
  }

  teardownPod(uid: string): Promise<void> {
    const id = sandboxId(uid);
    return this.fast.has(id) ? this.fast.teardown(id) : this.manager.teardown(id);
  }

  /** Frees sandboxes of pods that no longer exist here (after a crash). */
  async reconcilePods(liveUids: Iterable<string>, otherLiveIds: Iterable<string> = []): Promise<unknown> {
    const live = new Set([...[...liveUids].map(sandboxId), ...otherLiveIds]);
    // The library's reconcile first (it may recreate the bridge), then ours: drops dead records, puts veths
    // back on a recreated bridge. The library keeps namespaces and leases of live owners, ours included.
    const res = await this.manager.reconcile(live);
    await this.fast.reconcile(live);
    return res;
  }

  // ---- ContainerNetworking for the engine's container manager ----

  async setup(req: SandboxRequest): Promise<SandboxResult> {
    const mode = req.endpoints[0]?.network ?? '';
    if (mode.startsWith(POD_NETWORK_MODE_PREFIX)) {
      const sb = this.podSandbox(mode.slice(POD_NETWORK_MODE_PREFIX.length));
      if (!sb) throw conflict(`pod sandbox for ${req.name} is not ready`);
      return sb;
    }
    return (this.opts.inner ?? this.manager).setup(req);
  }

  async teardown(id: string): Promise<void> {
    if (this.opts.isPodContainer(id)) return;
    await (this.opts.inner ?? this.manager).teardown(id);
  }

  close(): void {
    this.fast.close();
    // With pods of ours still running, the library must not take the bridge down as "unused" (it only
    // counts its own sandboxes): leave everything for the next start, as it does for its busy networks.
    if (this.fast.ids().length) return;
    void this.manager.close();
  }
}

export function podNetworkDirs(dataDir: string, runDir: string): { dataDir: string; runDir: string } {
  return { dataDir: path.join(dataDir, 'pod-network'), runDir };
}
