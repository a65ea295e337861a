/** RFC 6902 JSON patch (via fast-json-patch) and RFC 7386 JSON merge patch, pure: inputs are not modified. */
import { applyPatch, validate, type Operation } from 'fast-json-patch';
import { invalid } from '../../common/errors';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const isMap = (v: unknown): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Applies JSON patch operations; malformed operations or failed tests throw InvalidArgument. */
export function applyJsonPatch<T>(obj: T, ops: unknown): T {
  if (!Array.isArray(ops)) throw invalid('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  for (const op of ops) {
    if (!isMap(op) || typeof op.op !== 'string') throw invalid('Unexpected kind: missing op');
    if (typeof op.path !== 'string') throw invalid(`missing path in op "${op.op}"`);
  }
  const doc = structuredClone(obj);
  const err = validate(ops as Operation[], doc);
  if (err) throw invalid(describe(err, ops as Operation[]));
  try {
    return applyPatch(doc, ops as Operation[], false, true).newDocument as T;
  } catch (e) {
    throw invalid(describe(e, ops as Operation[]));
  }
}

function describe(e: unknown, ops: Operation[]): string {
  const x = e as { name?: string; index?: number; operation?: Operation; message?: string };
  const op = x.operation ?? (typeof x.index === 'number' ? ops[x.index] : undefined);
  switch (x.name) {
    case 'TEST_OPERATION_FAILED':
      return `testing value ${op?.path} failed: test failed`;
    case 'OPERATION_PATH_UNRESOLVABLE':
    case 'OPERATION_FROM_UNRESOLVABLE':
      return op?.op === 'remove' || op?.op === 'replace' ? `${op?.op} operation does not apply: doc is missing path: "${op?.path}": missing value` : `doc is missing path: "${op?.path}": missing value`;
    case 'OPERATION_OP_INVALID':
      return `Unexpected kind: ${op?.op}`;
    case 'OPERATION_VALUE_REQUIRED':
      return `missing value in op "${op?.op}"`;
    default:
      return (x.message ?? String(e)).split('\n')[0];
  }
}

/** RFC 7386: null deletes, objects merge recursively, everything else replaces. */
export function applyMergePatch<T>(obj: T, patch: unknown): T {
  return merge(structuredClone(obj), patch) as T;
}

/** applyMergePatch on an object the caller owns and drops (no copy of it first; the result shares its untouched parts). */
export function applyMergePatchOwned<T>(obj: T, patch: unknown): T {
  return merge(obj, patch) as T;
}

function merge(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isMap(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}
