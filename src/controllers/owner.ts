/** Adopting and releasing dependents through the API (ownerReferences patches), shared by controllers. */
import { isSkiffError } from '../common/errors';
import { KubeClient } from '../client/client';
import { Resource } from '../client/resources';
import { KObject, OwnerReference } from '../client/types';

/** Adds a controller reference; the resourceVersion makes it fail (Conflict) if the object changed meanwhile. */
export async function adopt(client: KubeClient, res: Resource, obj: KObject, ref: OwnerReference): Promise<void> {
  const refs = [...(obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== ref.uid), ref];
  try {
    await client.patch(res, obj.metadata.namespace, obj.metadata.name!, { metadata: { ownerReferences: refs, resourceVersion: obj.metadata.resourceVersion } }, 'merge');
  } catch (err) {
    if (!isSkiffError(err, 'NotFound')) throw err;
  }
}

export async function release(client: KubeClient, res: Resource, obj: KObject, ownerUid: string): Promise<void> {
  const refs = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
  try {
    await client.patch(res, obj.metadata.namespace, obj.metadata.name!, { metadata: { ownerReferences: refs.length ? refs : null, resourceVersion: obj.metadata.resourceVersion } }, 'merge');
  } catch (err) {
    if (!isSkiffError(err, 'NotFound')) throw err;
  }
}

/** Deep equality of JSON values regardless of key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}

/** Compares numeric status fields treating absent as 0 (the API server may omit zero values). */
export function countsEqual(a: object | undefined, b: object | undefined, fields: string[]): boolean {
  const ao = (a ?? {}) as Record<string, unknown>;
  const bo = (b ?? {}) as Record<string, unknown>;
  return fields.every((f) => (ao[f] ?? 0) === (bo[f] ?? 0));
}
