/**
 * Strategic merge patch, applied to an object (apimachinery pkg/util/strategicpatch, "MergeParallelList" mode
 * the API server uses): merge keys and strategies come from the OpenAPI schemas (x-kubernetes-patch-merge-key /
 * x-kubernetes-patch-strategy), directives $patch (replace|delete|merge), $retainKeys, $setElementOrder/<f>,
 * $deleteFromPrimitiveList/<f>, and upstream's ordering of merged lists.
 */
import { invalid } from '../../common/errors';
import { itemSchema, propertySchema, resolveSchema, schemas, type Schema } from '../schema/index';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type JMap = Record<string, Json>;

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

const isMap = (v: unknown): v is JMap => v !== null && typeof v === 'object' && !Array.isArray(v);
const goFmt = (v: unknown) => (isMap(v) ? `map[${Object.entries(v).map(([k, x]) => `${k}:${typeof x === 'object' ? JSON.stringify(x) : x}`).join(' ')}]` : String(v));
const errNoMergeKey = (m: JMap, key: string) => invalid(`map: ${goFmt(m)} does not contain declared merge key: ${key}`);
const errBadPatchType = (t: unknown, m: JMap) => invalid(`unknown patch type: ${t} in map: ${goFmt(m)}`);

interface Meta {
  mergeKey?: string;
  strategies: string[];
}

function metaOf(prop: Schema | undefined): Meta {
  const s = prop?.['x-kubernetes-patch-strategy'];
  return { mergeKey: prop?.['x-kubernetes-patch-merge-key'], strategies: typeof s === 'string' ? s.split(',') : [] };
}
/** The strategy other than retainKeys (upstream's extractRetainKeysPatchStrategy). */
function mainStrategy(m: Meta): string {
  return m.strategies.filter((s) => s !== 'retainKeys')[0] ?? '';
}

/** Applies a strategic merge patch to obj (not modified); schemaName selects merge keys. Throws InvalidArgument. */
export function applyStrategicMergePatch<T>(obj: T, patch: unknown, schemaName: string): T {
  if (!isMap(patch)) throw invalid('json: cannot unmarshal array into Go value of type map[string]interface {}');
  const root = schemas()[schemaName];
  const out = mergeMap(structuredClone(obj as JMap), structuredClone(patch), root);
  return out as T;
}

function removeDirectives(v: Json): [Json, boolean] {
  if (v === null || v === undefined) return [v, true];
  if (Array.isArray(v)) {
    const res: Json[] = [];
    for (const x of v) {
      const [nv, keep] = removeDirectives(x);
      if (keep) res.push(nv);
    }
    return [res, true];
  }
  if (isMap(v)) {
    if (DIRECTIVE in v) return [undefined, false];
    for (const k of Object.keys(v)) {
      const [nv, keep] = removeDirectives(v[k]);
      if (!keep) delete v[k];
      else v[k] = nv;
    }
    return [v, true];
  }
  return [v, true];
}

function discardNulls(v: Json): void {
  if (Array.isArray(v)) v.forEach(discardNulls);
  else if (isMap(v))
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else discardNulls(v[k]);
    }
}

function mergeMap(original: JMap | undefined, patch: JMap, schema: Schema | undefined): JMap {
  if (DIRECTIVE in patch) {
    const d = patch[DIRECTIVE];
    if (d === 'replace') {
      delete patch[DIRECTIVE];
      return patch;
    }
    if (d === 'delete') return {};
    throw errBadPatchType(d, patch);
  }
  const orig: JMap = original ?? {};
  applyRetainKeys(orig, patch);
  mergeSetElementOrder(orig, patch, schema);
  for (const key of Object.keys(patch)) {
    const patchV = patch[key];
    let k = key;
    let isDeleteList = false;
    if (key.startsWith(DELETE_PRIMITIVE)) {
      k = key.slice(DELETE_PRIMITIVE.length);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete orig[k];
      continue;
    }
    if (!(k in orig)) {
      if (!isDeleteList) {
        discardNulls(patchV);
        const [nv, keep] = removeDirectives(patchV);
        if (keep) orig[k] = nv;
      }
      continue;
    }
    const o = orig[k];
    const sameType = Array.isArray(o) === Array.isArray(patchV) && isMap(o) === isMap(patchV) && (o === null) === (patchV === null);
    if (!sameType || (!isMap(o) && !Array.isArray(o))) {
      if (!isDeleteList) {
        discardNulls(patchV);
        const [nv, keep] = removeDirectives(patchV);
        if (keep) orig[k] = nv;
        else delete orig[k];
      }
      continue;
    }
    const prop = propertySchema(schema, k);
    const meta = metaOf(prop);
    if (isMap(o)) {
      orig[k] = mainStrategy(meta) === 'replace' ? patchV : mergeMap(o, patchV, prop);
    } else {
      orig[k] = mergeSliceHandler(o, patchV, itemSchema(prop), meta, isDeleteList);
    }
  }
  return orig;
}

function applyRetainKeys(original: JMap, patch: JMap): void {
  if (!(RETAIN_KEYS in patch)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw invalid('invalid patch: the $retainKeys directive must be a list');
  const keep = new Set(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_PRIMITIVE) || k.startsWith(SET_ORDER)) continue;
    if (!keep.has(k)) throw invalid('invalid patch: the $retainKeys directive must list every key in the patch');
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

function mergeSetElementOrder(original: JMap, patch: JMap, schema: Schema | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw invalid(`invalid type for ${key}: must be a list`);
    const field = key.slice(SET_ORDER.length);
    const foundOriginal = Array.isArray(original[field]);
    const foundPatch = Array.isArray(patch[field]);
    const prop = propertySchema(schema, field);
    const meta = metaOf(prop);
    let merged: Json[];
    if (foundOriginal && !foundPatch) merged = original[field];
    else if (!foundOriginal && foundPatch) merged = removeDirectives(patch[field])[0];
    else if (foundOriginal && foundPatch) merged = mergeSliceHandler(original[field], patch[field], itemSchema(prop), meta, false);
    else continue;
    const isMapKind = merged.some(isMap) || order.some(isMap);
    const [patchItems, serverOnly] = partition(merged, order, meta.mergeKey, isMapKind);
    original[field] = normalizeElementOrder(patchItems, serverOnly, order, foundOriginal ? original[field] : [], meta.mergeKey, isMapKind);
    delete patch[field];
  }
}

function mergeSliceHandler(original: Json[], patch: Json[], items: Schema | undefined, meta: Meta, isDeleteList: boolean): Json[] {
  if (mainStrategy(meta) === 'merge' || isDeleteList) return mergeSlice(original, patch, resolveSchema(items) ? items : undefined, meta.mergeKey, isDeleteList);
  discardNulls(patch);
  return removeDirectives(patch)[0];
}

function mergeSlice(original: Json[], patch: Json[], items: Schema | undefined, mergeKey: string | undefined, isDeleteList: boolean): Json[] {
  if (original.length === 0 && patch.length === 0) return original;
  const isMapKind = (original.length ? original : patch).some(isMap);
  let merged: Json[];
  if (!isMapKind) {
    if (isDeleteList) {
      const del = new Set(patch);
      return original.filter((v) => !del.has(v));
    }
    merged = [];
    for (const v of [...original, ...patch]) if (!merged.includes(v)) merged.push(v);
  } else {
    if (!mergeKey) throw invalid('cannot merge lists without merge key');
    let orig = original;
    const plain: JMap[] = [];
    let replace = false;
    for (const v of patch) {
      if (!isMap(v)) throw invalid(`invalid element in list: ${JSON.stringify(v)}`);
      if (!(DIRECTIVE in v)) {
        plain.push(v);
        continue;
      }
      const d = v[DIRECTIVE];
      if (d === 'delete') {
        if (!(mergeKey in v)) throw errNoMergeKey(v, mergeKey);
        orig = orig.filter((o) => !(isMap(o) && o[mergeKey] === v[mergeKey]));
      } else if (d === 'replace') replace = true;
      else if (d === 'merge') throw invalid('merging lists cannot yet be specified in the patch');
      else throw errBadPatchType(d, v);
    }
    if (replace) {
      merged = removeDirectives(plain)[0];
      patch = [];
      orig = merged;
    } else {
      merged = [...orig];
      for (const v of plain) {
        if (!(mergeKey in v)) throw errNoMergeKey(v, mergeKey);
        const i = merged.findIndex((o) => isMap(o) && o[mergeKey] === v[mergeKey]);
        if (i >= 0) merged[i] = mergeMap(merged[i], v, items);
        else merged.push(mergeMap(undefined, v, items));
      }
    }
    original = orig;
  }
  const [patchItems, serverOnly] = partition(merged, patch, mergeKey, isMapKind);
  return normalizeElementOrder(patchItems, serverOnly, patch, original, mergeKey, isMapKind);
}

function keyOf(v: Json, mergeKey: string | undefined, isMapKind: boolean): unknown {
  return isMapKind ? (isMap(v) ? v[mergeKey ?? ''] : undefined) : v;
}

function indexIn(list: Json[], v: Json, mergeKey: string | undefined, isMapKind: boolean): number {
  const k = keyOf(v, mergeKey, isMapKind);
  return list.findIndex((x) => keyOf(x, mergeKey, isMapKind) === k);
}

function partition(merged: Json[], by: Json[], mergeKey: string | undefined, isMapKind: boolean): [Json[], Json[]] {
  const inPatch: Json[] = [];
  const serverOnly: Json[] = [];
  for (const v of merged) {
    if (isMapKind && (!isMap(v) || !(mergeKey! in v))) throw errNoMergeKey(v, mergeKey ?? '');
    (indexIn(by, v, mergeKey, isMapKind) >= 0 ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}

function normalizeSliceOrder(toSort: Json[], order: Json[], mergeKey: string | undefined, isMapKind: boolean): Json[] {
  let items = toSort;
  let toDelete: Json[] = [];
  if (isMapKind) {
    toDelete = items.filter((v) => isMap(v) && v[DIRECTIVE] === 'delete');
    items = items.filter((v) => !(isMap(v) && v[DIRECTIVE] === 'delete'));
  }
  const withIdx = items.map((v, i) => ({ v, i, o: indexIn(order, v, mergeKey, isMapKind) }));
  withIdx.sort((a, b) => (a.o >= 0 && b.o >= 0 ? a.o - b.o : a.o >= 0 ? -1 : b.o >= 0 ? 1 : a.i - b.i));
  return [...withIdx.map((x) => x.v), ...toDelete];
}

function normalizeElementOrder(patchItems: Json[], serverOnly: Json[], patchOrder: Json[], serverOrder: Json[], mergeKey: string | undefined, isMapKind: boolean): Json[] {
  const p = normalizeSliceOrder(patchItems, patchOrder, mergeKey, isMapKind);
  const s = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, isMapKind);
  // upstream mergeSortedSlice: interleave server-only items into the patch order by their live positions
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < s.length || j < p.length) {
    if (i >= s.length) out.push(p[j++]);
    else if (j >= p.length) out.push(s[i++]);
    else {
      const li = indexIn(serverOrder, s[i], mergeKey, isMapKind);
      const ri = indexIn(serverOrder, p[j], mergeKey, isMapKind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(s[i++]);
      else out.push(p[j++]);
    }
  }
  return out;
}
