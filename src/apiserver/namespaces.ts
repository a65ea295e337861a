/**
 * Namespace lifecycle (upstream's NamespaceLifecycle admission + namespace controller + serviceaccount
 * controller, reduced): default namespaces at start, no creates in missing or terminating namespaces,
 * deletion marks a namespace Terminating while spec.finalizers remain, the controller empties it, then
 * drops its "kubernetes" finalizer so it goes; every active namespace gets a `default` ServiceAccount.
 */
import { isSkiffError } from '../common/errors';
import type { KubeObject, ResourceInfo } from './resource';
import type { Registry } from './registry';
import { ReconcileLoop } from './loop';
import { nowRFC3339 } from './objects';
import { StatusError, statusError } from './status';

export const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const NS_FINALIZER = 'kubernetes';

type NsSpec = { finalizers?: string[] };
type NsStatus = { phase?: string };

export class NamespaceController {
  private readonly nsr: ResourceInfo | undefined;
  private readonly sar: ResourceInfo | undefined;
  private loop: ReconcileLoop | undefined;
  private ac = new AbortController();
  ready = false;
  /**
   * Names of namespaces that exist and are not terminating, kept by the namespace watch (upstream's admission
   * reads an informer too) and left synchronously by a delete: a create in one of them needs no store read.
   * Anything else is checked live. (A namespace with metadata.finalizers is marked Terminating by the registry
   * without the delete strategy; it leaves the set when the watch sees it, a few ms later, as upstream's cache.)
   */
  private readonly active = new Set<string>();
  /** The watch feeding `active` is current (false until listed, and again while it restarts). */
  private activeLive = false;

  constructor(private readonly reg: Registry) {
    this.nsr = reg.resource('', 'v1', 'namespaces');
    this.sar = reg.resource('', 'v1', 'serviceaccounts');
    const nsr = this.nsr;
    if (!nsr) return;
    reg.setDeleteStrategy(nsr, (ns) => {
      // Creates right after this delete must already be refused (read-your-writes): leave the active set now,
      // not when the watch reports the delete. (If the delete then fails, the live lookup still answers.)
      if (ns.metadata?.name) this.active.delete(ns.metadata.name);
      const spec = (ns.spec ?? {}) as NsSpec;
      if ((spec.finalizers ?? []).length === 0) return undefined;
      ns.metadata!.deletionTimestamp ??= nowRFC3339();
      ns.status = { ...((ns.status ?? {}) as object), phase: 'Terminating' };
      return ns;
    });
    reg.addCreateAdmission(async (r, obj) => {
      if (r === nsr) {
        const spec = (obj.spec = (obj.spec ?? {}) as NsSpec);
        if (!spec.finalizers) spec.finalizers = [NS_FINALIZER];
        obj.status = { ...((obj.status ?? {}) as object), phase: 'Active' };
        return;
      }
      if (!r.namespaced) return;
      const name = obj.metadata!.namespace!;
      if (this.activeLive && this.active.has(name)) return;
      const got = await reg.tryGet(nsr, '', name);
      if (!got) throw statusError(404, 'NotFound', `namespaces "${name}" not found`, { name, kind: 'namespaces' });
      if (got.obj.metadata?.deletionTimestamp)
        throw statusError(403, 'Forbidden', `${obj.kind ?? r.kind} "${obj.metadata?.name}" is forbidden: unable to create new content in namespace ${name} because it is being terminated`, {
          name: obj.metadata?.name,
          group: r.group,
          kind: r.plural,
          causes: [{ reason: 'NamespaceTerminating', message: `namespace ${name} is being terminated`, field: 'metadata.namespace' }],
        });
    });
  }

  /** Creates the default namespaces, then starts the controller. */
  async start(): Promise<void> {
    const nsr = this.nsr;
    if (!nsr) {
      this.ready = true;
      return;
    }
    for (const name of DEFAULT_NAMESPACES) {
      try {
        await this.reg.create(nsr, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      } catch (e) {
        if (!(e instanceof StatusError && e.status.code === 409)) throw e;
      }
    }
    this.loop = new ReconcileLoop(() => this.reconcile(), {
      debounceMs: 50,
      periodMs: 30_000,
      onError: (e) => process.stderr.write(`namespace controller: ${e instanceof Error ? e.message : String(e)}\n`),
    });
    this.loop.start();
    void this.watchNamespaces(nsr);
    this.ready = true;
  }

  private async watchNamespaces(nsr: ResourceInfo): Promise<void> {
    const prefix = this.reg.prefix(nsr, '');
    while (!this.ac.signal.aborted) {
      try {
        // List, then watch from the list's revision: the active set never misses a change.
        const page = await this.reg.store.list(prefix, {});
        this.active.clear();
        for (const kv of page.items) this.note('put', kv.value);
        this.activeLive = true;
        for await (const msg of this.reg.store.watch(prefix, { afterRevision: page.revision, signal: this.ac.signal })) {
          if (msg.kind === 'events') for (const ev of msg.events) this.note(ev.type === 'delete' ? 'delete' : 'put', ev.kv.value);
          this.loop?.trigger();
        }
      } catch (e) {
        this.activeLive = false;
        if (this.ac.signal.aborted) return;
        if (!isSkiffError(e, 'Gone')) await new Promise((r) => setTimeout(r, 1000));
      }
      this.activeLive = false;
      this.loop?.trigger();
    }
  }

  /** Keeps the active set from one stored namespace. */
  private note(type: 'put' | 'delete', value: string): void {
    let ns: KubeObject;
    try {
      ns = JSON.parse(value) as KubeObject;
    } catch {
      return;
    }
    const name = ns.metadata?.name;
    if (!name) return;
    if (type === 'put' && !ns.metadata?.deletionTimestamp) this.active.add(name);
    else this.active.delete(name);
  }

  /** One level-triggered pass over all namespaces. Returns true while some namespace is still emptying. */
  private async reconcile(): Promise<boolean> {
    const nsr = this.nsr!;
    const { items } = await this.reg.list(nsr, '');
    let pending = false;
    for (const ns of items) {
      const name = ns.metadata!.name!;
      if (ns.metadata?.deletionTimestamp) {
        if (await this.empty(name)) pending = true;
        continue;
      }
      if ((ns.status as NsStatus | undefined)?.phase !== 'Active') {
        await this.reg
          .guaranteedUpdate(nsr, '', name, (o) => ((o.status = { ...((o.status ?? {}) as object), phase: 'Active' }), o), { subresource: 'status' })
          .catch(() => undefined);
      }
      await this.ensureDefaultServiceAccount(name);
    }
    return pending;
  }

  private async ensureDefaultServiceAccount(ns: string): Promise<void> {
    if (!this.sar) return;
    if (await this.reg.tryGet(this.sar, ns, 'default')) return;
    try {
      await this.reg.create(this.sar, ns, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
    } catch (e) {
      if (e instanceof StatusError && (e.status.code === 409 || e.status.code === 403 || e.status.code === 404)) return;
      throw e;
    }
  }

  /** Deletes everything in a terminating namespace; when nothing is left, releases the namespace. Returns true while objects remain. */
  private async empty(ns: string): Promise<boolean> {
    let remaining = 0;
    for (const r of this.reg.resources) {
      if (!r.namespaced || !r.verbs.includes('delete') || r.conversion) continue; // converted versions: same objects
      const { items } = await this.reg.list(this.reg.resources.includes(r) ? r : r, ns);
      for (const o of items) {
        remaining++;
        if (o.metadata?.deletionTimestamp) continue;
        try {
          await this.reg.delete(r, ns, o.metadata!.name!, { propagationPolicy: 'Background' });
        } catch (e) {
          if (!(e instanceof StatusError && e.status.code === 404)) throw e;
        }
      }
    }
    if (remaining > 0) {
      // Objects deleted outright are gone now; recount on the next pass (finalizers may hold some).
      return true;
    }
    try {
      await this.reg.guaranteedUpdate(this.nsr!, '', ns, (o: KubeObject) => {
        const spec = (o.spec ?? {}) as NsSpec;
        spec.finalizers = (spec.finalizers ?? []).filter((f) => f !== NS_FINALIZER);
        o.spec = spec;
        return o;
      });
    } catch (e) {
      if (!(e instanceof StatusError && e.status.code === 404)) throw e;
    }
    return false;
  }

  stop(): void {
    this.activeLive = false;
    this.ac.abort();
    this.loop?.stop();
  }
}
