/**
 * Generic storage semantics of every served kind over the Store (upstream's genericregistry.Store):
 * keys, resourceVersion, uid/creationTimestamp/generation, generateName, status/spec separation,
 * defaulting and validation through ResourceInfo, compare-and-swap updates, finalizers and
 * deletionTimestamp, paged and filtered lists, and watch streams. No HTTP here.
 */
import { randomUUID } from 'node:crypto';
import { isSkiffError, type FieldCause } from '../common/errors';
import type { KeyValue, Store, WatchEvent } from '../store/types';
import { keyAfter } from '../store/keys';
import type { KubeObject, ObjectMeta, ResourceInfo } from './resource';
import { groupVersion } from './resource';
import { clone, deepEqual, dnsSubdomainErrors, nowRFC3339, randomSuffix } from './objects';
import { fallbackPatcher, type Patcher } from './patching';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, type FieldRequirement, type LabelSelector } from './selectors';
import {
  alreadyExistsStatus,
  badRequest,
  conflictStatus,
  invalidStatus,
  notFoundStatus,
  statusError,
  type KubeStatus,
} from './status';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  subresource?: string;
  /** create: the caller hands `input` over (a request body it decoded and drops): no defensive copy of it. */
  inputOwned?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  orphanDependents?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface DeleteResult {
  object: KubeObject;
  /** False when the object was only marked for deletion (finalizers pending). */
  deleted: boolean;
}

export type WatchEventOut =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: KubeObject }
  | { type: 'ERROR'; object: KubeStatus };

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  signal?: AbortSignal;
  /** How often the store reports progress while idle (bookmarks). */
  progressIntervalMs?: number;
}

/**
 * Per-kind deletion behaviour the machinery cannot know generically (namespaces mark themselves
 * Terminating while spec.finalizers remain). Returns the object to store instead of deleting, or undefined.
 */
export type DeleteStrategy = (obj: KubeObject) => KubeObject | undefined;

/** Checks run before any create in a namespace (upstream's NamespaceLifecycle admission). */
export type CreateAdmission = (r: ResourceInfo, obj: KubeObject) => Promise<void>;

/**
 * Side effects tied to one write of a kind (upstream's Service ClusterIP/NodePort allocators, see
 * src/apiserver/allocators): beginWrite runs before defaulting/validation and may fill fields (it throws
 * StatusErrors to refuse); commit runs once the store holds the object, revert when the write does not
 * happen (validation, conflict retry, dry run, no-op). deleted runs once the object is gone from the store.
 */
export interface WriteTxn {
  commit(): void;
  revert(): void;
}
export interface ObjectHooks {
  beginWrite(obj: KubeObject, old: KubeObject | undefined): WriteTxn;
  deleted(obj: KubeObject): void;
}
const NO_TXN: WriteTxn = { commit: () => undefined, revert: () => undefined };

export const FOREGROUND_FINALIZER = 'foregroundDeletion';
export const ORPHAN_FINALIZER = 'orphan';

interface Selectors {
  labels?: LabelSelector;
  fields?: FieldRequirement[];
}

/**
 * Leases for objects with a TTL, shared by all writes in a window (as upstream's etcd3 lease manager does) so
 * a burst of events costs one lease, not one per write. A lease lives ttl + window, so no object expires early.
 */
class LeaseManager {
  private current = new Map<number, { id: number; grantedAt: number }>();
  constructor(private readonly store: Store, private readonly windowMs = 60_000) {}
  async lease(ttlSeconds: number): Promise<number> {
    const now = Date.now();
    const c = this.current.get(ttlSeconds);
    if (c && now - c.grantedAt < this.windowMs) return c.id;
    const id = await this.store.grantLease(ttlSeconds + Math.ceil(this.windowMs / 1000));
    this.current.set(ttlSeconds, { id, grantedAt: now });
    return id;
  }
}

export class Registry {
  readonly resources: ResourceInfo[];
  private readonly leases: LeaseManager;
  private readonly byPath = new Map<string, ResourceInfo>();
  private readonly byKind = new Map<string, ResourceInfo>();
  private readonly deleteStrategies = new Map<ResourceInfo, DeleteStrategy>();
  private readonly admissions: CreateAdmission[] = [];
  private readonly objectHooks = new Map<ResourceInfo, ObjectHooks>();

  constructor(
    readonly store: Store,
    resources: ResourceInfo[],
    readonly patcher: Patcher = fallbackPatcher,
    opts: { leaseWindowMs?: number } = {},
  ) {
    this.resources = resources;
    this.leases = new LeaseManager(store, opts.leaseWindowMs);
    for (const r of resources) {
      this.byPath.set(`${r.group}/${r.version}/${r.plural}`, r);
      this.byKind.set(`${groupVersion(r)}/${r.kind}`, r);
      if (!this.byKind.has(`${r.group}//${r.kind}`)) this.byKind.set(`${r.group}//${r.kind}`, r);
    }
  }

  resource(group: string, version: string, plural: string): ResourceInfo | undefined {
    return this.byPath.get(`${group}/${version}/${plural}`);
  }

  /** The resource serving apiVersion+kind (used by GC to follow ownerReferences). */
  resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    const exact = this.byKind.get(`${apiVersion}/${kind}`);
    if (exact) return exact;
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
    return this.byKind.get(`${group}//${kind}`);
  }

  setDeleteStrategy(r: ResourceInfo, s: DeleteStrategy): void {
    this.deleteStrategies.set(r, s);
  }

  addCreateAdmission(a: CreateAdmission): void {
    this.admissions.push(a);
  }

  setObjectHooks(r: ResourceInfo, h: ObjectHooks): void {
    this.objectHooks.set(r, h);
  }

  // ---- keys and encoding ----

  rootPrefix(r: ResourceInfo): string {
    return `/registry/${r.group || 'core'}/${r.plural}/`;
  }

  prefix(r: ResourceInfo, ns: string): string {
    return r.namespaced && ns ? `${this.rootPrefix(r)}${ns}/` : this.rootPrefix(r);
  }

  key(r: ResourceInfo, ns: string, name: string): string {
    return r.namespaced ? `${this.rootPrefix(r)}${ns}/${name}` : `${this.rootPrefix(r)}${name}`;
  }

  decode(r: ResourceInfo, kv: KeyValue): KubeObject {
    return this.finishDecode(r, kv, JSON.parse(kv.value) as KubeObject);
  }

  private finishDecode(r: ResourceInfo, kv: KeyValue, parsed: KubeObject): KubeObject {
    let obj = parsed;
    // A version served from another version's storage (autoscaling/v1 HPAs): convert on every read.
    if (r.conversion) obj = r.conversion.fromStorage(obj);
    obj.apiVersion = groupVersion(r);
    obj.kind = r.kind;
    obj.metadata = obj.metadata ?? {};
    obj.metadata.resourceVersion = String(kv.modRevision);
    return obj;
  }

  private encode(obj: KubeObject, r?: ResourceInfo): string {
    if (r?.conversion) obj = r.conversion.toStorage(obj);
    const meta = obj.metadata ?? {};
    const { resourceVersion: _rv, ...rest } = meta;
    return JSON.stringify({ ...obj, metadata: rest });
  }

  // ---- reads ----

  async get(r: ResourceInfo, ns: string, name: string): Promise<KubeObject> {
    const kv = await this.store.get(this.key(r, ns, name));
    if (!kv) throw notFoundStatus(r.group, r.plural, name);
    return this.decode(r, kv);
  }

  async tryGet(r: ResourceInfo, ns: string, name: string): Promise<{ obj: KubeObject; rev: number; lease?: number } | undefined> {
    const got = await this.tryGetKv(r, ns, name);
    return got && { obj: got.obj, rev: got.rev, lease: got.lease };
  }

  /** tryGet with the stored KeyValue (a second decode of it is a cheaper private copy than a clone). */
  private async tryGetKv(r: ResourceInfo, ns: string, name: string): Promise<{ obj: KubeObject; rev: number; lease?: number; kv: KeyValue } | undefined> {
    const kv = await this.store.get(this.key(r, ns, name));
    return kv ? { obj: this.decode(r, kv), rev: kv.modRevision, lease: kv.lease || undefined, kv } : undefined;
  }

  parseSelectors(r: ResourceInfo, opts: ListOptions): Selectors {
    const sel: Selectors = {};
    if (opts.labelSelector) sel.labels = parseLabelSelector(opts.labelSelector);
    if (opts.fieldSelector) {
      sel.fields = parseFieldSelector(opts.fieldSelector);
      for (const f of sel.fields) {
        if (f.field !== 'metadata.name' && f.field !== 'metadata.namespace' && !r.fieldSelectors?.[f.field])
          throw badRequest(`field label not supported: ${f.field}`);
      }
    }
    return sel;
  }

  matches(r: ResourceInfo, sel: Selectors, obj: KubeObject): boolean {
    if (sel.labels && !matchLabels(sel.labels, obj.metadata?.labels)) return false;
    if (sel.fields && !matchFields(sel.fields, (f) => fieldValue(r, obj, f))) return false;
    return true;
  }

  async list(r: ResourceInfo, ns: string, opts: ListOptions = {}): Promise<ListResult> {
    const sel = this.parseSelectors(r, opts);
    const filtering = !!(sel.labels || sel.fields);
    const prefix = this.prefix(r, ns);
    const root = this.rootPrefix(r);
    let revision: number | undefined;
    let startKey: string | undefined;
    if (opts.continue) {
      const tok = decodeContinue(opts.continue);
      revision = tok.rv;
      startKey = root + tok.start;
      if (!startKey.startsWith(prefix)) throw badRequest('continue key is not valid: key is outside the listed range');
    } else if (opts.resourceVersion && opts.resourceVersion !== '0') {
      // Exact: the list as of that revision; NotOlderThan (default): the latest, which must not be older.
      const rv = Number(opts.resourceVersion);
      if (!Number.isInteger(rv) || rv < 0) throw badRequest(`invalid resource version: ${opts.resourceVersion}`);
      const current = await this.store.currentRevision();
      if (rv > current)
        throw statusError(504, 'Timeout', `Too large resource version: ${rv}, current: ${current}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version', field: '' }],
          retryAfterSeconds: 1,
        });
      if (opts.resourceVersionMatch === 'Exact') revision = rv;
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const items: KubeObject[] = [];
    let more = false;
    let lastKey = '';
    let remaining: number | undefined;
    for (;;) {
      const want = limit ? Math.max(limit - items.length, filtering ? 100 : 0) : 0;
      let page;
      try {
        page = await this.store.list(prefix, { revision, startKey, limit: want });
      } catch (e) {
        if (isSkiffError(e, 'Gone') && opts.continue) throw expiredContinue();
        if (isSkiffError(e, 'Gone')) throw statusError(410, 'Expired', `too old resource version: ${revision}`);
        throw e;
      }
      revision = page.revision;
      let stoppedEarly = false;
      for (let i = 0; i < page.items.length; i++) {
        const kv = page.items[i];
        const obj = this.decode(r, kv);
        lastKey = kv.key;
        if (!filtering || this.matches(r, sel, obj)) items.push(obj);
        if (limit && items.length >= limit) {
          stoppedEarly = i < page.items.length - 1;
          more = stoppedEarly || page.more;
          if (!filtering && page.remaining !== undefined) remaining = page.remaining + (page.items.length - 1 - i);
          break;
        }
      }
      if (limit && items.length >= limit) break;
      if (!page.more || !limit) break;
      startKey = keyAfter(lastKey);
    }
    const res: ListResult = { items, resourceVersion: String(revision ?? (await this.store.currentRevision())) };
    if (more) {
      res.continue = encodeContinue(revision!, keyAfter(lastKey).slice(root.length));
      if (remaining !== undefined && remaining > 0) res.remainingItemCount = remaining;
    }
    return res;
  }

  // ---- writes ----

  /** Upstream's generic metadata rules + the kind's defaults and validation. Throws 422 on invalid. */
  private admit(r: ResourceInfo, obj: KubeObject, old: KubeObject | undefined): void {
    r.defaults(obj);
    const causes: FieldCause[] = [...(r.validate(obj, old) ?? [])];
    const name = obj.metadata?.name ?? '';
    if (!causes.some((c) => c.field === 'metadata.name')) {
      if (!name) causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
      else for (const m of dnsSubdomainErrors(name))
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(name)}: ${m}`, field: 'metadata.name' });
    }
    if (causes.length) throw invalidStatus(r.kind, r.group, name, causes);
  }

  async create(r: ResourceInfo, ns: string, input: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const obj = opts.inputOwned ? input : clone(input);
    obj.apiVersion = groupVersion(r);
    obj.kind = r.kind;
    const meta: ObjectMeta = (obj.metadata = obj.metadata ?? {});
    if (r.namespaced) {
      if (meta.namespace && ns && meta.namespace !== ns)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      meta.namespace = ns || meta.namespace;
      if (!meta.namespace) throw badRequest('an empty namespace may not be set during creation');
    } else delete meta.namespace;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    meta.uid = randomUUID();
    meta.creationTimestamp = nowRFC3339();
    if (r.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    const generated = !meta.name && !!meta.generateName;
    if (generated) meta.name = meta.generateName + randomSuffix();
    if (!meta.name && !meta.generateName) {
      throw invalidStatus(r.kind, r.group, '', [
        { reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' },
      ]);
    }
    const txn = this.objectHooks.get(r)?.beginWrite(obj, undefined) ?? NO_TXN;
    try {
      this.admit(r, obj, undefined);
      for (const a of this.admissions) await a(r, obj);
    } catch (e) {
      txn.revert();
      throw e;
    }
    if (opts.fieldManager && this.patcher.updateManagedFields) this.patcher.updateManagedFields(undefined, obj, opts.fieldManager);
    if (opts.dryRun) return txn.revert(), obj;
    for (let attempt = 0; ; attempt++) {
      try {
        const lease = r.ttlSeconds ? await this.leases.lease(r.ttlSeconds) : undefined;
        const kv = await this.store.create(this.key(r, meta.namespace ?? '', meta.name!), this.encode(obj, r), lease ? { lease } : undefined);
        meta.resourceVersion = String(kv.modRevision);
        txn.commit();
        return obj;
      } catch (e) {
        if (!(isSkiffError(e, 'AlreadyExists') && generated && attempt < 7)) txn.revert();
        if (isSkiffError(e, 'AlreadyExists')) {
          if (generated && attempt < 7) {
            meta.name = meta.generateName + randomSuffix();
            continue;
          }
          throw alreadyExistsStatus(r.group, r.plural, meta.name!);
        }
        throw e;
      }
    }
  }

  /**
   * Applies `mutate` to the current object and writes the result with compare-and-swap, retrying on
   * concurrent writes when the caller did not pin a resourceVersion. `mutate` returns the desired object.
   */
  async guaranteedUpdate(
    r: ResourceInfo,
    ns: string,
    name: string,
    mutate: (current: KubeObject) => KubeObject,
    opts: WriteOptions & { pinnedRV?: string } = {},
  ): Promise<KubeObject> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.tryGetKv(r, ns, name);
      if (!cur) throw notFoundStatus(r.group, r.plural, name);
      const desired = mutate(this.decode(r, cur.kv));
      // A resourceVersion the caller wrote (PUT body, or one a patch sets) is a precondition. A patch result
      // merely inherits the current one from `cur`: that is not a pin, so a concurrent write is retried.
      // (A PUT naming the current revision loses the race on CAS and fails on the next attempt, as it should.)
      const desiredRV = desired.metadata?.resourceVersion;
      const pinned = opts.pinnedRV ?? (desiredRV && desiredRV !== String(cur.rev) ? desiredRV : undefined);
      if (pinned && pinned !== String(cur.rev)) throw conflictStatus(r.group, r.plural, name);
      const next = this.prepareUpdate(r, cur.obj, desired, opts.subresource, () => this.decode(r, cur.kv));
      const hooks = opts.subresource === 'status' ? undefined : this.objectHooks.get(r);
      const txn = hooks?.beginWrite(next, cur.obj) ?? NO_TXN;
      let committed = false;
      try {
        this.admit(r, next, cur.obj);
        if (opts.fieldManager && this.patcher.updateManagedFields)
          this.patcher.updateManagedFields(cur.obj, next, opts.fieldManager, opts.subresource);
        if (opts.dryRun) return next;
        // Nothing changed: upstream skips the write and returns the object at its current revision.
        if (deepEqual(stripRV(next), stripRV(cur.obj))) return cur.obj;
        if (
          next.metadata?.deletionTimestamp &&
          (next.metadata.finalizers ?? []).length === 0 &&
          (next.metadata.deletionGracePeriodSeconds ?? 0) === 0 &&
          !this.deleteStrategies.get(r)?.(next)
        ) {
          // The last finalizer is gone from an object being deleted: it goes now.
          try {
            const kv = await this.store.delete(this.key(r, ns, name), cur.rev);
            const out = clone(next);
            out.metadata!.resourceVersion = String(kv.modRevision);
            hooks?.deleted(cur.obj);
            return out;
          } catch (e) {
            if (isSkiffError(e, 'Conflict') && !pinned && attempt < 20) continue;
            if (isSkiffError(e, 'NotFound')) throw notFoundStatus(r.group, r.plural, name);
            if (isSkiffError(e, 'Conflict')) throw conflictStatus(r.group, r.plural, name);
            throw e;
          }
        }
        try {
          // Every write restarts an object's TTL (a fresh lease); other objects keep theirs.
          const lease = r.ttlSeconds ? await this.leases.lease(r.ttlSeconds) : cur.lease;
          const kv = await this.store.update(this.key(r, ns, name), this.encode(next, r), cur.rev, lease ? { lease } : undefined);
          next.metadata!.resourceVersion = String(kv.modRevision);
          committed = true;
          txn.commit();
          return next;
        } catch (e) {
          if (isSkiffError(e, 'Conflict') && !pinned && attempt < 20) continue;
          if (isSkiffError(e, 'NotFound')) throw notFoundStatus(r.group, r.plural, name);
          if (isSkiffError(e, 'Conflict')) throw conflictStatus(r.group, r.plural, name);
          throw e;
        }
      } finally {
        if (!committed) txn.revert();
      }
    }
  }

  /** The object to store when `desired` replaces `old` through the main resource or a subresource. */
  private prepareUpdate(r: ResourceInfo, old: KubeObject, desired: KubeObject, subresource?: string, copyOfOld: () => KubeObject = () => clone(old)): KubeObject {
    let next: KubeObject;
    if (subresource === 'status') {
      next = copyOfOld();
      if (desired.status !== undefined) next.status = desired.status;
      else delete next.status;
    } else if (subresource === 'binding') {
      // Spec and status in one write (upstream's assignPod sets nodeName and PodScheduled together): the
      // mutate started from the current object, so its status is the stored one plus the condition.
      next = clone(desired);
    } else {
      next = clone(desired);
      if (r.hasStatus) {
        if (old.status !== undefined) next.status = clone(old.status);
        else delete next.status;
      }
    }
    next.apiVersion = groupVersion(r);
    next.kind = r.kind;
    const om = old.metadata ?? {};
    const nm: ObjectMeta = (next.metadata = next.metadata ?? {});
    if (nm.name !== undefined && nm.name !== om.name)
      throw badRequest(`the name of the object (${nm.name}) does not match the name on the URL (${om.name})`);
    nm.name = om.name;
    if (r.namespaced) {
      if (nm.namespace && nm.namespace !== om.namespace)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      nm.namespace = om.namespace;
    }
    // System-owned metadata cannot be changed by clients.
    nm.uid = om.uid;
    nm.creationTimestamp = om.creationTimestamp;
    if (om.deletionTimestamp) nm.deletionTimestamp = om.deletionTimestamp;
    else delete nm.deletionTimestamp;
    if (om.deletionGracePeriodSeconds !== undefined) nm.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
    else delete nm.deletionGracePeriodSeconds;
    if (om.deletionTimestamp) {
      // Finalizers may only be removed once deletion started.
      const added = (nm.finalizers ?? []).filter((f) => !(om.finalizers ?? []).includes(f));
      if (added.length)
        throw invalidStatus(r.kind, r.group, om.name ?? '', [
          { reason: 'FieldValueForbidden', message: 'Forbidden: no new finalizers can be added if the object is being deleted', field: 'metadata.finalizers' },
        ]);
    }
    if (r.tracksGeneration) {
      const g = om.generation ?? 1;
      nm.generation = subresource !== 'status' && !deepEqual(old.spec, next.spec) ? g + 1 : g;
    } else delete nm.generation;
    return next;
  }

  /** PUT of a whole object. */
  async update(r: ResourceInfo, ns: string, name: string, input: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const rv = input.metadata?.resourceVersion;
    return this.guaranteedUpdate(r, ns, name, () => clone(input), { ...opts, pinnedRV: rv || undefined });
  }

  async delete(r: ResourceInfo, ns: string, name: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.tryGet(r, ns, name);
      if (!cur) throw notFoundStatus(r.group, r.plural, name);
      const obj = cur.obj;
      const meta = obj.metadata!;
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== meta.uid)
        throw conflictStatus(r.group, r.plural, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`);
      if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion)
        throw conflictStatus(
          r.group,
          r.plural,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`,
        );
      const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : undefined);
      const finalizers = [...(meta.finalizers ?? [])];
      const addFinalizer = (f: string) => {
        if (!finalizers.includes(f)) finalizers.push(f);
      };
      const dropFinalizer = (f: string) => {
        const i = finalizers.indexOf(f);
        if (i >= 0) finalizers.splice(i, 1);
      };
      if (policy === 'Foreground') {
        addFinalizer(FOREGROUND_FINALIZER);
        dropFinalizer(ORPHAN_FINALIZER);
      } else if (policy === 'Orphan') {
        addFinalizer(ORPHAN_FINALIZER);
        dropFinalizer(FOREGROUND_FINALIZER);
      } else if (policy === 'Background' && !meta.deletionTimestamp) {
        dropFinalizer(ORPHAN_FINALIZER);
      }
      let marked: KubeObject | undefined;
      // Graceful deletion: a kind-given default, overridable by the client, never lengthened once started.
      const defaultGrace = r.gracefulDeletion?.(obj) ?? 0;
      let grace = defaultGrace > 0 ? Math.max(0, Math.floor(opts.gracePeriodSeconds ?? defaultGrace)) : 0;
      if (meta.deletionGracePeriodSeconds !== undefined) grace = Math.min(grace, meta.deletionGracePeriodSeconds);
      if (finalizers.length > 0 || grace > 0) {
        marked = clone(obj);
        if (finalizers.length) marked.metadata!.finalizers = finalizers;
        else delete marked.metadata!.finalizers;
        const shorter = meta.deletionGracePeriodSeconds === undefined || grace < meta.deletionGracePeriodSeconds;
        if (!marked.metadata!.deletionTimestamp || shorter) {
          marked.metadata!.deletionTimestamp = nowRFC3339(Date.now() + grace * 1000);
          marked.metadata!.deletionGracePeriodSeconds = grace;
          if (!meta.deletionTimestamp && r.tracksGeneration) marked.metadata!.generation = (marked.metadata!.generation ?? 1) + 1;
        }
      } else {
        const strat = this.deleteStrategies.get(r);
        marked = strat?.(clone(obj));
      }
      if (opts.dryRun) return { object: marked ?? obj, deleted: !marked };
      try {
        if (marked) {
          if (deepEqual(stripRV(marked), stripRV(obj))) return { object: obj, deleted: false };
          const kv = await this.store.update(this.key(r, ns, name), this.encode(marked, r), cur.rev, cur.lease ? { lease: cur.lease } : undefined);
          marked.metadata!.resourceVersion = String(kv.modRevision);
          return { object: marked, deleted: false };
        }
        const kv = await this.store.delete(this.key(r, ns, name), cur.rev);
        obj.metadata!.resourceVersion = String(kv.modRevision);
        this.objectHooks.get(r)?.deleted(obj);
        return { object: obj, deleted: true };
      } catch (e) {
        if (isSkiffError(e, 'Conflict') && attempt < 20 && !pre?.resourceVersion) continue;
        if (isSkiffError(e, 'NotFound')) throw notFoundStatus(r.group, r.plural, name);
        if (isSkiffError(e, 'Conflict')) throw conflictStatus(r.group, r.plural, name);
        throw e;
      }
    }
  }

  async deleteCollection(r: ResourceInfo, ns: string, list: ListOptions, opts: DeleteOptions = {}): Promise<KubeObject[]> {
    const { items } = await this.list(r, ns, { labelSelector: list.labelSelector, fieldSelector: list.fieldSelector });
    const out: KubeObject[] = [];
    for (const o of items) {
      try {
        out.push((await this.delete(r, o.metadata?.namespace ?? '', o.metadata!.name!, opts)).object);
      } catch (e) {
        if (!(e instanceof Error && /not found/.test(e.message))) throw e;
      }
    }
    return out;
  }

  // ---- watch ----

  async *watch(r: ResourceInfo, ns: string, opts: WatchOptions): AsyncGenerator<WatchEventOut> {
    const sel = this.parseSelectors(r, opts);
    const prefix = this.prefix(r, ns);
    let after: number;
    const rvStr = opts.resourceVersion;
    if (!rvStr || rvStr === '0') {
      // Initial state as synthetic ADDED events, then changes after the list's revision.
      const page = await this.store.list(prefix, {});
      for (const kv of page.items) {
        const obj = this.decode(r, kv);
        if (this.matches(r, sel, obj)) yield { type: 'ADDED', object: obj };
      }
      after = page.revision;
    } else {
      after = Number(rvStr);
      if (!Number.isInteger(after) || after < 0) {
        yield { type: 'ERROR', object: statusError(400, 'BadRequest', `invalid resource version: ${rvStr}`).status };
        return;
      }
    }
    const filtering = !!(sel.labels || sel.fields);
    try {
      for await (const msg of this.store.watch(prefix, {
        afterRevision: after,
        signal: opts.signal,
        progressIntervalMs: opts.allowWatchBookmarks ? (opts.progressIntervalMs ?? 60_000) : undefined,
      })) {
        if (msg.kind === 'progress') {
          if (opts.allowWatchBookmarks && msg.revision > after) {
            after = msg.revision;
            yield { type: 'BOOKMARK', object: { kind: r.kind, apiVersion: groupVersion(r), metadata: { resourceVersion: String(msg.revision) } } };
          }
          continue;
        }
        for (const ev of msg.events) {
          after = Math.max(after, ev.kv.modRevision);
          const out = this.translate(r, ev, filtering ? sel : undefined);
          if (out) yield out;
        }
      }
    } catch (e) {
      if (isSkiffError(e, 'Gone')) {
        const cr = e.details?.compactRevision;
        yield {
          type: 'ERROR',
          object: statusError(410, 'Expired', `too old resource version: ${after}${cr !== undefined ? ` (${cr})` : ''}`).status,
        };
        return;
      }
      throw e;
    }
  }

  /**
   * Decoded objects of live store events, by the event's KeyValue. The store fans one event object out to
   * every live watcher of its prefix, so N watches of pods parse each write once instead of N times (and the
   * handler can serialise it once, see watchLine). Watch consumers must not mutate what they get.
   */
  private readonly decodedKvs = new WeakMap<KeyValue, { r: ResourceInfo; obj: KubeObject }>();

  private decodeShared(r: ResourceInfo, kv: KeyValue): KubeObject {
    const hit = this.decodedKvs.get(kv);
    if (hit && hit.r === r) return hit.obj;
    // Parsed already by a store-level reader (storedObject): finish that parse instead of parsing again.
    const raw = !hit && !r.conversion ? this.parsedKvs.get(kv) : undefined;
    if (raw) this.parsedKvs.delete(kv);
    const obj = raw ? this.finishDecode(r, kv, raw) : this.decode(r, kv);
    this.decodedKvs.set(kv, { r, obj });
    return obj;
  }

  /** Store-level parses of live store events (see storedObject), handed on to decodeShared. */
  private readonly parsedKvs = new WeakMap<KeyValue, KubeObject>();

  /**
   * The object of a live store event for readers of the whole store that only look at metadata (the garbage
   * collector), parsed once with the watches of its resource (whichever reads it first). Must not be mutated.
   * Throws on a value that is not JSON.
   */
  storedObject(kv: KeyValue): KubeObject {
    const hit = this.decodedKvs.get(kv);
    if (hit) return hit.obj;
    let raw = this.parsedKvs.get(kv);
    if (!raw) this.parsedKvs.set(kv, (raw = JSON.parse(kv.value) as KubeObject));
    return raw;
  }

  /** Store event → watch event, with selector transitions (leaving the selection is DELETED, entering is ADDED). */
  private translate(r: ResourceInfo, ev: WatchEvent, sel: Selectors | undefined): WatchEventOut | undefined {
    const obj = this.decodeShared(r, ev.kv);
    if (ev.type === 'delete') {
      if (sel && !this.matches(r, sel, obj)) return undefined;
      return { type: 'DELETED', object: obj };
    }
    if (ev.type === 'create') {
      if (sel && !this.matches(r, sel, obj)) return undefined;
      return { type: 'ADDED', object: obj };
    }
    if (!sel) return { type: 'MODIFIED', object: obj };
    const now = this.matches(r, sel, obj);
    const before = ev.prevKv ? this.matches(r, sel, this.decodeShared(r, ev.prevKv)) : now;
    if (now && before) return { type: 'MODIFIED', object: obj };
    if (now) return { type: 'ADDED', object: obj };
    if (before) return { type: 'DELETED', object: obj };
    return undefined;
  }
}

function stripRV(o: KubeObject): KubeObject {
  const c = { ...o, metadata: { ...(o.metadata ?? {}) } };
  delete c.metadata.resourceVersion;
  delete c.metadata.managedFields;
  return c;
}

/** metadata.name / metadata.namespace, else the kind's own field getter. */
export function fieldValue(r: ResourceInfo, obj: KubeObject, field: string): string | undefined {
  if (field === 'metadata.name') return obj.metadata?.name;
  if (field === 'metadata.namespace') return obj.metadata?.namespace ?? '';
  const g = r.fieldSelectors?.[field];
  try {
    return g ? g(obj) : undefined;
  } catch {
    return undefined;
  }
}

// ---- continue tokens (upstream's format: base64 JSON {v, rv, start}) ----

export function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

export function decodeContinue(tok: string): { rv: number; start: string } {
  let parsed: { v?: string; rv?: number; start?: string };
  try {
    parsed = JSON.parse(Buffer.from(tok, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('continue key is not valid: illegal base64 data');
  }
  if (parsed.v !== 'meta.k8s.io/v1' || typeof parsed.rv !== 'number' || typeof parsed.start !== 'string')
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  return { rv: parsed.rv, start: parsed.start };
}

function expiredContinue() {
  return statusError(
    410,
    'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
  );
}
