/**
 * Server-side apply and managed-fields bookkeeping (structured-merge-diff semantics, simplified):
 * - apply merges the applied configuration into the live object by the schema's list types (list-map items by
 *   key, sets by value, atomic lists and scalars replaced);
 * - fields owned by another manager whose value would change are conflicts (409) unless force, which moves
 *   their ownership to the applier;
 * - fields the manager applied before but no longer applies are removed when nobody else owns them;
 * - non-apply writes (create/update/patch) record an `Update` entry for their manager and take ownership of
 *   the fields they changed.
 */
import { SkiffError } from '../../common/errors';
import type { KubeObject, ManagedFieldsEntry } from '../resource';
import { RESOURCES } from '../resources/index';
import { itemSchema, propertySchema, resolveSchema, schemas, type Schema } from '../schema/index';
import { decodeFieldsV1, encodeFieldsV1, fieldSet, keyPath, listItemElement, pathString, removeAt, valueAt, type FieldSetOptions } from './fieldpath';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const isMap = (v: unknown): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface ApplyOptions {
  manager: string;
  force: boolean;
  schemaName: string;
  apiVersion: string;
  subresource?: string;
}

export interface Conflict {
  manager: string;
  field: string;
}

function scopeFor(schemaName: string, subresource?: string): FieldSetOptions {
  if (subresource === 'status') return { scope: 'status' };
  const r = RESOURCES.find((x) => x.schemaName === schemaName);
  return { scope: r?.hasStatus ? 'main' : 'all' };
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function sameEntry(e: ManagedFieldsEntry, manager: string, op: 'Apply' | 'Update', sub?: string): boolean {
  return e.manager === manager && e.operation === op && (e.subresource ?? '') === (sub ?? '');
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => deepEqual(x, (b as unknown[])[i]));
  const ak = Object.keys(a as object);
  const bk = Object.keys(b as object);
  return ak.length === bk.length && ak.every((k) => deepEqual((a as Json)[k], (b as Json)[k]));
}

/** A path's value "changes" when it is a leaf whose value differs; list-map items and structs are compared via their leaves. */
function leafDiffers(a: Json, b: Json, key: string): boolean {
  const p = keyPath(key);
  const x = valueAt(a, p);
  const y = valueAt(b, p);
  const last = p[p.length - 1] ?? '';
  if (last.startsWith('k:') || last.startsWith('v:')) return (x === undefined) !== (y === undefined);
  return !deepEqual(x, y);
}

/** Merges applied into live following the schema (structured-merge-diff's merge for apply). */
function mergeApplied(live: Json, applied: Json, prop: Schema | undefined): Json {
  const r = resolveSchema(prop);
  if (isMap(applied) && isMap(live) && !(prop?.['x-kubernetes-map-type'] === 'atomic' || r?.['x-kubernetes-map-type'] === 'atomic' || r?.['x-kubernetes-preserve-unknown-fields'])) {
    const out: Record<string, Json> = { ...live };
    for (const [k, v] of Object.entries(applied)) out[k] = v === null ? null : mergeApplied(live[k], v, propertySchema(prop, k));
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const type = prop?.['x-kubernetes-list-type'];
    if (type === 'map') {
      const out = [...live];
      const items = itemSchema(prop);
      applied.forEach((item, i) => {
        const el = listItemElement(prop, item, i);
        const j = out.findIndex((x, n) => listItemElement(prop, x, n) === el);
        if (j >= 0) out[j] = mergeApplied(out[j], item, items);
        else out.push(structuredClone(item));
      });
      return out;
    }
    if (type === 'set') {
      const out = [...live];
      for (const v of applied) if (!out.some((x) => deepEqual(x, v))) out.push(v);
      return out;
    }
  }
  return structuredClone(applied);
}

/**
 * Server-side apply. live is undefined when the object does not exist yet. Returns the new object with its
 * metadata.managedFields updated; conflicts throw SkiffError('Conflict') with FieldManagerConflict causes.
 */
export function serverSideApply(live: KubeObject | undefined, applied: KubeObject, opts: ApplyOptions): KubeObject {
  const { object, conflicts } = computeApply(live, applied, opts);
  if (conflicts.length && !opts.force) {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.field]);
    const parts = [...byManager].map(([m, fields]) =>
      fields.length === 1 ? `conflict with "${m}" using ${opts.apiVersion}: ${fields[0]}` : `conflicts with "${m}" using ${opts.apiVersion}:\n${fields.map((f) => `- ${f}`).join('\n')}`,
    );
    const n = conflicts.length;
    throw new SkiffError('Conflict', `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${parts.join('\n')}`, {
      details: {
        causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${opts.apiVersion}`, field: c.field })),
      },
    });
  }
  return object;
}

/** The pure core of apply: the merged object (as if forced) and the conflicts found. */
export function computeApply(live: KubeObject | undefined, applied: KubeObject, opts: ApplyOptions): { object: KubeObject; conflicts: Conflict[] } {
  const root = schemas()[opts.schemaName];
  const scope = scopeFor(opts.schemaName, opts.subresource);
  const base: KubeObject = live ? structuredClone(live) : {};
  const entries: ManagedFieldsEntry[] = structuredClone(base.metadata?.managedFields ?? []);
  const appliedSet = fieldSet(applied, root, scope);

  // merge; identity fields come from live when it exists
  const cfg = structuredClone(applied) as Json;
  if (cfg.metadata) delete cfg.metadata.managedFields;
  let merged: Json = live ? mergeApplied(base, cfg, root) : cfg;
  if (scope.scope === 'main' && live) merged.status = base.status;
  if (scope.scope === 'status') {
    merged = { ...base, status: live ? mergeApplied(base.status ?? {}, cfg.status ?? {}, propertySchema(root, 'status')) : cfg.status };
  }

  // conflicts: fields others own whose value changes
  const conflicts: Conflict[] = [];
  const stolen = new Map<ManagedFieldsEntry, Set<string>>();
  for (const e of entries) {
    if (sameEntry(e, opts.manager, 'Apply', opts.subresource)) continue;
    const theirs = decodeFieldsV1(e.fieldsV1);
    for (const k of appliedSet) {
      if (!theirs.has(k)) continue;
      if (live && leafDiffers(base, merged, k)) {
        conflicts.push({ manager: e.manager, field: pathString(k) });
        if (!stolen.has(e)) stolen.set(e, new Set());
        stolen.get(e)!.add(k);
      }
    }
  }

  // removal of fields this manager stopped applying and nobody else owns
  const mine = entries.find((e) => sameEntry(e, opts.manager, 'Apply', opts.subresource));
  if (mine) {
    const before = decodeFieldsV1(mine.fieldsV1);
    const others = new Set<string>();
    for (const e of entries) if (e !== mine) for (const k of decodeFieldsV1(e.fieldsV1)) if (!stolen.get(e)?.has(k)) others.add(k);
    const gone = [...before].filter((k) => !appliedSet.has(k) && !others.has(k));
    gone.sort((a, b) => keyPath(a).length - keyPath(b).length); // parents first: children of a removed item go with it
    for (const k of gone) removeAt(merged, keyPath(k));
  }

  // managed fields: the applier owns exactly what it applied; forced fields leave other managers
  const time = now();
  const next: ManagedFieldsEntry[] = [];
  const presentNow = fieldSet(merged, root, { scope: 'all' });
  for (const e of entries) {
    if (e === mine) continue;
    const set = decodeFieldsV1(e.fieldsV1);
    for (const k of stolen.get(e) ?? []) set.delete(k);
    for (const k of [...set]) if (!presentNow.has(k) && !hasDescendant(presentNow, k)) set.delete(k);
    if (set.size) next.push({ ...e, fieldsV1: encodeFieldsV1(set) });
  }
  const entry: ManagedFieldsEntry = { manager: opts.manager, operation: 'Apply', apiVersion: opts.apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: encodeFieldsV1(appliedSet) };
  if (opts.subresource) entry.subresource = opts.subresource;
  const at = mine ? entries.indexOf(mine) : -1;
  if (appliedSet.size) {
    if (at >= 0) next.splice(Math.min(at, next.length), 0, entry);
    else next.push(entry);
  }
  merged.metadata ??= {};
  merged.metadata.managedFields = next;
  if (!merged.apiVersion) merged.apiVersion = applied.apiVersion;
  if (!merged.kind) merged.kind = applied.kind;
  return { object: merged as KubeObject, conflicts };
}

/** The members of a whole-object field set inside a scope (fieldSet's scope option, applied afterwards). */
function inScope(all: Set<string>, o: FieldSetOptions): Set<string> {
  if (!o.scope || o.scope === 'all') return all;
  const isStatus = (k: string) => k === 'f:status' || k.startsWith('f:status\u0000');
  const out = new Set<string>();
  for (const k of all) if (isStatus(k) === (o.scope === 'status')) out.add(k);
  return out;
}

function hasDescendant(set: Set<string>, key: string): boolean {
  const prefix = key + '\u0000';
  for (const k of set) if (k.startsWith(prefix)) return true;
  return false;
}

/**
 * Records a non-apply write (POST/PUT/PATCH) in next.metadata.managedFields: the manager's `Update` entry
 * gains the fields that changed; other managers lose them; fields that disappeared leave every entry.
 */
export function updateManagedFields(
  old: KubeObject | undefined,
  next: KubeObject,
  manager: string,
  op: 'Update' = 'Update',
  subresource?: string,
  schemaName?: string,
  apiVersion?: string,
): void {
  const name = schemaName ?? RESOURCES.find((r) => (r.group ? `${r.group}/${r.version}` : r.version) === next.apiVersion && r.kind === next.kind)?.schemaName;
  const root = name ? schemas()[name] : undefined;
  const scope: FieldSetOptions = name ? scopeFor(name, subresource) : { scope: 'all' };
  const entries: ManagedFieldsEntry[] = structuredClone(old?.metadata?.managedFields ?? next.metadata?.managedFields ?? []);
  // One walk of next: the scoped set is the whole set filtered by its top-level field.
  const afterAll = fieldSet(next, root, { scope: 'all' });
  const after = inScope(afterAll, scope);
  const before = old ? fieldSet(old, root, scope) : new Set<string>();
  const changed = new Set<string>();
  for (const k of after) if (!before.has(k) || leafDiffers(old, next, k)) changed.add(k);
  const out: ManagedFieldsEntry[] = [];
  let mine: ManagedFieldsEntry | undefined;
  for (const e of entries) {
    const set = decodeFieldsV1(e.fieldsV1);
    const isMine = sameEntry(e, manager, op, subresource);
    let dropped = false;
    for (const k of [...set]) {
      if ((!afterAll.has(k) && !hasDescendant(afterAll, k)) || (!isMine && changed.has(k))) {
        set.delete(k);
        dropped = true;
      }
    }
    if (isMine) {
      let grew = false;
      for (const k of changed) if (!set.has(k)) (set.add(k), (grew = true));
      mine = { ...e, apiVersion: apiVersion ?? next.apiVersion ?? e.apiVersion, time: changed.size ? now() : e.time, fieldsV1: dropped || grew ? encodeFieldsV1(set) : e.fieldsV1 };
      if (set.size) out.push(mine);
    } else if (set.size) out.push(dropped ? { ...e, fieldsV1: encodeFieldsV1(set) } : e); // unchanged: its trie as it was
  }
  if (!mine && changed.size) {
    const e: ManagedFieldsEntry = { manager, operation: op, apiVersion: apiVersion ?? next.apiVersion ?? 'v1', time: now(), fieldsType: 'FieldsV1', fieldsV1: encodeFieldsV1(changed) };
    if (subresource) e.subresource = subresource;
    out.push(e);
  }
  next.metadata ??= {};
  if (out.length) next.metadata.managedFields = out;
  else delete next.metadata.managedFields;
}
