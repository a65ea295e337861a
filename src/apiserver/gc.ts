/**
 * Garbage collection by ownerReferences (upstream's garbage collector, level-triggered and restart-safe):
 * each pass reads the whole object graph from the store and
 * - deletes dependents whose owners are all gone (background), drops references to owners that are gone
 *   when other owners remain;
 * - for owners being deleted in the foreground (finalizer foregroundDeletion): deletes their dependents,
 *   and removes the finalizer once none is left (the owner then goes);
 * - for owners being deleted with orphan (finalizer orphan): removes the ownerReferences pointing to them
 *   from their dependents, then the finalizer.
 * Owners missing from the pass's snapshot are checked again with a live read before anything is deleted,
 * so an owner created during the pass is never mistaken for a gone one.
 */
import type { KubeObject, OwnerReference, ResourceInfo } from './resource';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, type Registry } from './registry';
import { ReconcileLoop } from './loop';
import { StatusError } from './status';
import { isSkiffError } from '../common/errors';
import type { KeyValue } from '../store/types';

interface Node {
  r: ResourceInfo;
  obj: KubeObject;
}

export class GarbageCollector {
  private loop: ReconcileLoop;
  private ac = new AbortController();
  /** UIDs some object refers to as owner: a delete of one of these triggers a pass. */
  private ownerUids = new Set<string>();
  passes = 0;

  constructor(private readonly reg: Registry, opts: { debounceMs?: number; periodMs?: number } = {}) {
    this.loop = new ReconcileLoop(() => this.pass(), {
      debounceMs: opts.debounceMs ?? 200,
      periodMs: opts.periodMs ?? 60_000,
      onError: (e) => process.stderr.write(`garbage collector: ${e instanceof Error ? e.message : String(e)}\n`),
    });
  }

  start(): void {
    this.loop.start();
    void this.watchAll();
  }

  stop(): void {
    this.ac.abort();
    this.loop.stop();
  }

  /** UIDs of objects known to exist (from the last pass, kept current by the watch). */
  private liveUids = new Set<string>();

  /** Wakes on events that can matter: dependents of unknown owners, deletions in progress, deletes of owners. */
  private async watchAll(): Promise<void> {
    while (!this.ac.signal.aborted) {
      try {
        const rev = await this.reg.store.currentRevision();
        for await (const msg of this.reg.store.watch('/registry/', { afterRevision: rev, signal: this.ac.signal })) {
          if (msg.kind !== 'events') continue;
          let wake = false;
          for (const ev of msg.events) if (this.observe(ev.type, ev.kv)) wake = true;
          if (wake) this.loop.trigger();
        }
      } catch (e) {
        if (this.ac.signal.aborted) return;
        if (!isSkiffError(e, 'Gone')) await new Promise((r) => setTimeout(r, 1000));
      }
      this.loop.trigger();
    }
  }

  /** Updates the live-UID view from one store event; true when a pass is needed. */
  private observe(type: string, kv: KeyValue): boolean {
    let obj: KubeObject;
    try {
      // Parsed once for this and the resource's watches (the registry shares it); read-only here.
      obj = this.reg.storedObject(kv);
    } catch {
      return false;
    }
    const m = obj.metadata ?? {};
    if (type === 'delete') {
      if (m.uid) this.liveUids.delete(m.uid);
      return (!!m.uid && this.ownerUids.has(m.uid)) || (m.ownerReferences ?? []).length > 0;
    }
    if (m.uid) this.liveUids.add(m.uid);
    const fins = m.finalizers ?? [];
    if (m.deletionTimestamp && (fins.includes(FOREGROUND_FINALIZER) || fins.includes(ORPHAN_FINALIZER))) return true;
    for (const ref of m.ownerReferences ?? []) {
      this.ownerUids.add(ref.uid);
      if (!this.liveUids.has(ref.uid)) return true;
    }
    return false;
  }

  /** One pass; returns true when work is still in progress (another pass soon). */
  async pass(): Promise<boolean> {
    this.passes++;
    const byUid = new Map<string, Node>();
    const all: Node[] = [];
    for (const r of this.reg.resources) {
      if (!r.verbs.includes('list') || r.conversion) continue; // a converted version is another view of the same objects
      const { items } = await this.reg.list(r, '');
      for (const obj of items) {
        const n = { r, obj };
        all.push(n);
        if (obj.metadata?.uid) byUid.set(obj.metadata.uid, n);
      }
    }
    const dependents = new Map<string, Node[]>();
    const owners = new Set<string>();
    for (const n of all) {
      for (const ref of n.obj.metadata?.ownerReferences ?? []) {
        owners.add(ref.uid);
        const list = dependents.get(ref.uid) ?? [];
        list.push(n);
        dependents.set(ref.uid, list);
      }
    }
    this.ownerUids = owners;
    this.liveUids = new Set(byUid.keys());
    let busy = false;

    // Owners being deleted: orphan or foreground.
    for (const n of all) {
      const m = n.obj.metadata!;
      if (!m.deletionTimestamp) continue;
      const fins = m.finalizers ?? [];
      const deps = dependents.get(m.uid!) ?? [];
      if (fins.includes(ORPHAN_FINALIZER)) {
        for (const d of deps) await this.dropOwnerRef(d, m.uid!);
        await this.dropFinalizer(n, ORPHAN_FINALIZER);
        busy = true;
      } else if (fins.includes(FOREGROUND_FINALIZER)) {
        if (deps.length === 0) {
          await this.dropFinalizer(n, FOREGROUND_FINALIZER);
        } else {
          for (const d of deps) if (!d.obj.metadata?.deletionTimestamp) await this.deleteObj(d, 'Foreground');
          busy = true;
        }
      }
    }

    // Dependents whose owners are gone.
    for (const n of all) {
      const refs = n.obj.metadata?.ownerReferences ?? [];
      if (refs.length === 0 || n.obj.metadata?.deletionTimestamp) continue;
      const dangling: OwnerReference[] = [];
      for (const ref of refs) {
        const owner = byUid.get(ref.uid);
        if (owner && !owner.obj.metadata?.deletionTimestamp) continue;
        if (owner) continue; // being deleted: handled by the owner's finalizer above
        if (!(await this.ownerExists(n, ref))) dangling.push(ref);
      }
      if (dangling.length === 0) continue;
      if (dangling.length === refs.length) await this.deleteObj(n, 'Background');
      else for (const ref of dangling) await this.dropOwnerRef(n, ref.uid);
      busy = true;
    }
    return busy;
  }

  /** Live check of an owner the snapshot did not have (it may have been created during the pass). */
  private async ownerExists(dep: Node, ref: OwnerReference): Promise<boolean> {
    const r = this.reg.resourceForKind(ref.apiVersion, ref.kind);
    if (!r) return false;
    const ns = r.namespaced ? (dep.obj.metadata?.namespace ?? '') : '';
    const got = await this.reg.tryGet(r, ns, ref.name);
    return !!got && got.obj.metadata?.uid === ref.uid;
  }

  private async deleteObj(n: Node, policy: 'Background' | 'Foreground'): Promise<void> {
    const m = n.obj.metadata!;
    try {
      await this.reg.delete(n.r, m.namespace ?? '', m.name!, { propagationPolicy: policy, preconditions: { uid: m.uid } });
    } catch (e) {
      if (!ignorable(e)) throw e;
    }
  }

  private async dropOwnerRef(n: Node, ownerUid: string): Promise<void> {
    const m = n.obj.metadata!;
    try {
      await this.reg.guaranteedUpdate(n.r, m.namespace ?? '', m.name!, (o) => {
        const refs = (o.metadata!.ownerReferences ?? []).filter((x) => x.uid !== ownerUid);
        if (refs.length) o.metadata!.ownerReferences = refs;
        else delete o.metadata!.ownerReferences;
        return o;
      });
    } catch (e) {
      if (!ignorable(e)) throw e;
    }
  }

  private async dropFinalizer(n: Node, f: string): Promise<void> {
    const m = n.obj.metadata!;
    try {
      await this.reg.guaranteedUpdate(n.r, m.namespace ?? '', m.name!, (o) => {
        o.metadata!.finalizers = (o.metadata!.finalizers ?? []).filter((x) => x !== f);
        if (o.metadata!.finalizers.length === 0) delete o.metadata!.finalizers;
        return o;
      });
    } catch (e) {
      if (!ignorable(e)) throw e;
    }
  }
}

function ignorable(e: unknown): boolean {
  return e instanceof StatusError && (e.status.code === 404 || e.status.code === 409);
}
