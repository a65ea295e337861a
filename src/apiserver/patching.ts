/**
 * The patch operations the REST handlers need, behind one interface. The real implementations
 * (strategic merge with merge keys, server-side apply with field managers) are the kinds engineer's
 * src/apiserver/patch; `fallbackPatcher` covers JSON and merge patch on its own so the machinery works
 * without it, and approximates the other two.
 */
import { applyPatch, type Operation } from 'fast-json-patch';
import { SkiffError, invalid } from '../common/errors';
import { statusError, StatusError } from './status';
import type { KubeObject } from './resource';

export interface ApplyOptions {
  manager: string;
  force: boolean;
  schemaName: string;
  apiVersion: string;
  subresource?: string;
}

export interface Patcher {
  json(obj: KubeObject, ops: unknown): KubeObject;
  merge(obj: KubeObject, patch: unknown): KubeObject;
  /** merge for an obj the caller owns and drops: the result may share its untouched parts (optional). */
  mergeOwned?(obj: KubeObject, patch: unknown): KubeObject;
  strategic(obj: KubeObject, patch: unknown, schemaName: string): KubeObject;
  /** Server-side apply; live is undefined when the object does not exist yet. Conflicts throw SkiffError('Conflict'). */
  apply(live: KubeObject | undefined, applied: KubeObject, opts: ApplyOptions): KubeObject;
  /** Records an `Update` managedFields entry for a non-apply write (optional). */
  updateManagedFields?(old: KubeObject | undefined, next: KubeObject, manager: string, subresource?: string): void;
  /** Unknown fields of obj against its schema, as dotted paths (optional; enables fieldValidation). */
  unknownFields?(obj: KubeObject, schemaName: string): string[];
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function applyJson(obj: KubeObject, ops: unknown): KubeObject {
  if (!Array.isArray(ops)) throw invalid('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  try {
    return applyPatch(JSON.parse(JSON.stringify(obj)), ops as Operation[], true, false).newDocument;
  } catch (e) {
    if (e instanceof SkiffError || e instanceof StatusError) throw e;
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    // Upstream answers failed JSON patches with 422 (kubectl: "the server rejected our request...").
    throw statusError(422, 'Invalid', msg);
  }
}

/** Strips strategic-merge directives so a plain merge can approximate it. */
function stripDirectives(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(stripDirectives);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k.startsWith('$')) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

export const fallbackPatcher: Patcher = {
  json: applyJson,
  merge: (obj, patch) => mergePatch(obj, patch) as KubeObject,
  strategic: (obj, patch) => mergePatch(obj, stripDirectives(patch)) as KubeObject,
  apply: (live, applied) => (live ? (mergePatch(live, applied) as KubeObject) : applied),
};
