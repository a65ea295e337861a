/**
 * Field sets as structured-merge-diff has them: an object's fields as paths of elements `f:<field>`,
 * `k:<json of list-map keys>`, `v:<json value>` (sets) and `i:<index>` (atomic-less lists), computed with the
 * schema's list types; encoded as the trie managedFields[].fieldsV1 carries (`.` marks a node that is itself
 * a member and has children).
 */
import { itemSchema, propertySchema, resolveSchema, type Schema } from '../schema/index';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Path = string[];

const SEP = '\u0000';
export const pathKey = (p: Path) => p.join(SEP);
export const keyPath = (k: string): Path => (k === '' ? [] : k.split(SEP));

const isMap = (v: unknown): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Top-level fields that are never owned (SMD's stripped/reset fields). */
const IGNORED_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generateName']);

export interface FieldSetOptions {
  /** Drop `status` (main resource of a kind with a status subresource) or everything but status (status subresource). */
  scope?: 'main' | 'status' | 'all';
}

/** Sorted-key JSON for k: elements, with list-map key defaults filled as upstream's schema defaults do. */
function keyElement(item: Record<string, Json>, keys: string[]): string {
  const o: Record<string, Json> = {};
  for (const k of [...keys].sort()) {
    let v = item[k];
    if (v === undefined && k === 'protocol') v = 'TCP';
    if (v !== undefined) o[k] = v;
  }
  return `k:${JSON.stringify(o)}`;
}

export function listItemElement(prop: Schema | undefined, item: Json, index: number): string {
  const type = prop?.['x-kubernetes-list-type'];
  if (type === 'map' && isMap(item)) return keyElement(item, prop!['x-kubernetes-list-map-keys'] ?? []);
  if (type === 'set') return `v:${JSON.stringify(item)}`;
  return `i:${index}`;
}

function isAtomic(prop: Schema | undefined): boolean {
  const r = resolveSchema(prop);
  return prop?.['x-kubernetes-map-type'] === 'atomic' || r?.['x-kubernetes-map-type'] === 'atomic' || !!r?.['x-kubernetes-preserve-unknown-fields'];
}

/** The set of field paths of obj (as pathKey strings). */
export function fieldSet(obj: Json, root: Schema | undefined, opts: FieldSetOptions = {}): Set<string> {
  const out = new Set<string>();
  if (!isMap(obj)) return out;
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || v === undefined) continue;
    if (opts.scope === 'main' && k === 'status') continue;
    if (opts.scope === 'status' && k !== 'status') continue;
    const prop = propertySchema(root, k);
    if (k === 'metadata' && isMap(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (IGNORED_META.has(mk) || mv === undefined) continue;
        walk(mv, propertySchema(prop, mk), ['f:metadata', `f:${mk}`], out);
      }
      continue;
    }
    walk(v, prop, [`f:${k}`], out);
  }
  return out;
}

function walk(v: Json, prop: Schema | undefined, path: Path, out: Set<string>): void {
  if (v === null || v === undefined || typeof v !== 'object' || isAtomic(prop)) {
    out.add(pathKey(path));
    return;
  }
  if (Array.isArray(v)) {
    const type = prop?.['x-kubernetes-list-type'];
    if (type !== 'map' && type !== 'set') {
      out.add(pathKey(path)); // atomic list
      return;
    }
    const items = itemSchema(prop);
    v.forEach((item, i) => {
      const p = [...path, listItemElement(prop, item, i)];
      out.add(pathKey(p));
      if (type === 'map' && isMap(item)) for (const [k, x] of Object.entries(item)) walk(x, propertySchema(items, k), [...p, `f:${k}`], out);
    });
    return;
  }
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  if (entries.length === 0) {
    out.add(pathKey(path));
    return;
  }
  for (const [k, x] of entries) walk(x, propertySchema(prop, k), [...path, `f:${k}`], out);
}

/** Set -> fieldsV1 trie. */
export function encodeFieldsV1(set: Set<string>): Record<string, Json> {
  const root: Record<string, Json> = {};
  const members = new Set<Record<string, Json>>();
  for (const key of [...set].sort()) {
    let node = root;
    for (const el of keyPath(key)) node = node[el] ??= {};
    members.add(node);
  }
  const finish = (node: Record<string, Json>): void => {
    const kids = Object.keys(node);
    if (kids.length > 0 && members.has(node)) node['.'] = {};
    for (const k of kids) finish(node[k]);
  };
  for (const k of Object.keys(root)) finish(root[k]);
  return sortKeys(root);
}

function sortKeys(n: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const k of Object.keys(n).sort((a, b) => (a === '.' ? -1 : b === '.' ? 1 : a < b ? -1 : a > b ? 1 : 0))) out[k] = sortKeys(n[k]);
  return out;
}

/** fieldsV1 trie -> set. */
export function decodeFieldsV1(f: unknown): Set<string> {
  const out = new Set<string>();
  const rec = (node: Record<string, Json>, path: Path) => {
    for (const [k, child] of Object.entries(node)) {
      if (k === '.') continue;
      const p = [...path, k];
      const kids = isMap(child) ? Object.keys(child) : [];
      if (kids.length === 0 || kids.includes('.')) out.add(pathKey(p));
      if (isMap(child)) rec(child, p);
    }
  };
  if (isMap(f)) rec(f, []);
  return out;
}

/** Value at a path in obj (undefined if absent). */
export function valueAt(obj: Json, path: Path): Json {
  let cur = obj;
  for (const el of path) {
    if (cur === undefined || cur === null) return undefined;
    const tag = el.slice(0, 2);
    const rest = el.slice(2);
    if (tag === 'f:') cur = isMap(cur) ? cur[rest] : undefined;
    else if (tag === 'i:') cur = Array.isArray(cur) ? cur[Number(rest)] : undefined;
    else if (tag === 'k:') {
      const keys = JSON.parse(rest) as Record<string, Json>;
      cur = Array.isArray(cur) ? cur.find((x) => isMap(x) && Object.entries(keys).every(([k, v]) => (x[k] ?? (k === 'protocol' ? 'TCP' : undefined)) === v)) : undefined;
    } else if (tag === 'v:') {
      const want = rest;
      cur = Array.isArray(cur) ? cur.find((x) => JSON.stringify(x) === want) : undefined;
    } else return undefined;
  }
  return cur;
}

/** Removes the value at path from obj in place (a field, a list-map item, a set value). */
export function removeAt(obj: Json, path: Path): void {
  if (path.length === 0) return;
  const parent = valueAt(obj, path.slice(0, -1));
  const el = path[path.length - 1];
  const tag = el.slice(0, 2);
  const rest = el.slice(2);
  if (tag === 'f:' && isMap(parent)) delete parent[rest];
  else if (Array.isArray(parent)) {
    const target = valueAt(obj, path);
    const i = parent.indexOf(target);
    if (i >= 0 && target !== undefined) parent.splice(i, 1);
  }
}

/** SMD's human path: .spec.template.spec.containers[name="nginx"].image */
export function pathString(key: string): string {
  return keyPath(key)
    .map((el) => {
      const rest = el.slice(2);
      switch (el.slice(0, 2)) {
        case 'f:':
          return `.${rest}`;
        case 'i:':
          return `[${rest}]`;
        case 'v:':
          return `[=${rest}]`;
        case 'k:':
          return `[${Object.entries(JSON.parse(rest) as Record<string, Json>)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(',')}]`;
      }
      return el;
    })
    .join('');
}
