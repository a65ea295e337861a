/**
 * The node's service proxy (kube-proxy's job): watches Services and Endpoints and keeps one nftables table
 * equal to what they say. Level-triggered: every change schedules a full re-render; an unchanged ruleset is
 * not re-applied; a failed apply is retried. Also the cluster DNS records (lookup), served by the pods'
 * network DNS server.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { KubeClient } from '../client/client';
import { Informer } from '../client/informer';
import { RESOURCES } from '../client/resources';
import type { KObject } from '../client/types';
import { buildModel } from './model';
import { renderRuleset } from './nftables';
import { applyRuleset, deleteTable, OWNER_COMMENT_PREFIX, sweepStaleTables } from './nft';
import { CLUSTER_DOMAIN, lookupClusterName } from './dns';

export interface ServiceProxyOptions {
  client: KubeClient;
  /** The node's run directory: names the table of a non-production node and marks it as its owner. */
  runDir: string;
  /** nftables table (ip family). Default: "skiff" for /run/skiff, else "skiff-svc-<hash of runDir>". */
  table?: string;
  /** ClusterIP range: traffic to it that no rule translated is refused (never routed off the host). */
  serviceCIDR?: string;
  domain?: string;
  debounceMs?: number;
  log?: (msg: string) => void;
  /**
   * The node's address, reported as the ingress of LoadBalancer Services the node publishes (k3s ServiceLB
   * does the same), so `kubectl get svc` shows an EXTERNAL-IP instead of <pending>.
   */
  ingressIP?: () => string | undefined;
}

export function defaultTableName(runDir: string): string {
  const dir = path.resolve(runDir);
  if (dir === '/run/skiff') return 'skiff';
  return `skiff-svc-${crypto.createHash('sha256').update(dir).digest('hex').slice(0, 10)}`;
}

export class ServiceProxy {
  readonly table: string;
  private readonly services: Informer<KObject>;
  private readonly endpoints: Informer<KObject>;
  private readonly log: (m: string) => void;
  private timer?: NodeJS.Timeout;
  private running = false;
  private syncing: Promise<void> = Promise.resolve();
  private applied = '';
  private stopped = false;
  /** Number of rulesets applied (tests and metrics). */
  syncs = 0;

  constructor(private readonly opts: ServiceProxyOptions) {
    this.table = opts.table ?? defaultTableName(opts.runDir);
    this.log = opts.log ?? (() => undefined);
    const onError = (what: string) => (e: unknown) => this.log(`service proxy: ${what} watch: ${(e as Error).message}`);
    this.services = new Informer(opts.client, RESOURCES.services, { onError: onError('services') });
    this.endpoints = new Informer(opts.client, RESOURCES.endpoints, { onError: onError('endpoints') });
    const kick = { add: () => this.schedule(), update: () => this.schedule(), delete: () => this.schedule() };
    this.services.addEventHandler(kick);
    this.endpoints.addEventHandler(kick);
  }

  /** Starts watching; resolves once the first ruleset is in place. */
  async start(): Promise<void> {
    this.running = true;
    enableRouteLocalnet(this.log);
    await sweepStaleTables(this.log).catch(() => undefined);
    this.services.start();
    this.endpoints.start();
    await Promise.all([this.services.waitForSync(), this.endpoints.waitForSync()]);
    await this.sync();
  }

  private schedule(): void {
    if (!this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sync();
    }, this.opts.debounceMs ?? 50);
  }

  /** Renders and applies the ruleset now (serialised; no-op when unchanged). */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      if (this.stopped || !this.services.hasSynced() || !this.endpoints.hasSynced()) return;
      const text = this.render();
      if (text === this.applied) return;
      try {
        await applyRuleset(text);
        this.applied = text;
        this.syncs++;
        await this.reportLoadBalancers();
      } catch (e) {
        this.log(`service proxy: ${(e as Error).message}`);
        // Retry later: the next change or this timer, whichever comes first.
        if (this.running && !this.timer) this.timer = setTimeout(() => ((this.timer = undefined), void this.sync()), 1000);
      }
    });
    return this.syncing;
  }

  /** status.loadBalancer.ingress of the LoadBalancer Services = this node's address (best effort). */
  private async reportLoadBalancers(): Promise<void> {
    const ip = this.opts.ingressIP?.();
    if (!ip) return;
    for (const svc of this.services.cache.list() as Array<KObject & { spec?: { type?: string }; status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } }>) {
      if (svc.spec?.type !== 'LoadBalancer') continue;
      const cur = svc.status?.loadBalancer?.ingress ?? [];
      if (cur.length === 1 && cur[0].ip === ip) continue;
      await this.opts.client
        .patch(RESOURCES.services, svc.metadata?.namespace, svc.metadata!.name!, { status: { loadBalancer: { ingress: [{ ip }] } } }, 'merge', { subresource: 'status' })
        .catch((e) => this.log(`service proxy: status of ${svc.metadata?.namespace}/${svc.metadata?.name}: ${(e as Error).message}`));
    }
  }

  render(): string {
    const model = buildModel(this.services.cache.list(), this.endpoints.cache.list());
    return renderRuleset(model, {
      table: this.table,
      comment: `${OWNER_COMMENT_PREFIX}; run-dir=${path.resolve(this.opts.runDir)}`,
      serviceCIDR: this.opts.serviceCIDR,
    });
  }

  /** Cluster DNS: addresses for a name under the cluster domain, undefined for other names. */
  lookup = (name: string): string[] | undefined =>
    lookupClusterName(
      name,
      {
        service: (ns, n) => this.services.cache.getByName(ns, n),
        endpoints: (ns, n) => this.endpoints.cache.getByName(ns, n),
      },
      this.opts.domain ?? CLUSTER_DOMAIN,
    );

  /** Stops watching; the table stays (services keep working while skiff restarts, as with kube-proxy). */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.services.stop();
    this.endpoints.stop();
    await this.syncing.catch(() => undefined);
  }

  /** Removes the table. */
  async cleanup(): Promise<void> {
    await this.stop();
    await deleteTable(this.table);
  }
}

/**
 * Node ports answer on 127.0.0.1 too: DNAT of loopback traffic to a pod needs route_localnet (kube-proxy sets
 * it as well); the table drops outside packets addressed to 127/8 on other interfaces.
 */
function enableRouteLocalnet(log: (m: string) => void): void {
  const f = '/proc/sys/net/ipv4/conf/all/route_localnet';
  try {
    if (fs.readFileSync(f, 'utf8').trim() !== '1') fs.writeFileSync(f, '1');
  } catch (e) {
    log(`service proxy: cannot enable route_localnet (node ports will not answer on 127.0.0.1): ${(e as Error).message}`);
  }
}
