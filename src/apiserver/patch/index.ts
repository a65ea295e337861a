/** Patch operations for the REST machinery: JSON, merge, strategic merge patch, server-side apply. */
import type { KubeObject } from '../resource';
import { unknownFields } from '../schema/index';
import { applyJsonPatch, applyMergePatch, applyMergePatchOwned } from './json';
import { applyStrategicMergePatch } from './strategic';
import { serverSideApply, updateManagedFields, computeApply, type ApplyOptions } from './apply';

export { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, serverSideApply, updateManagedFields, computeApply, type ApplyOptions };
/** The brief's name for updateManagedFields: records a PUT/PATCH/POST by `manager` as an Update entry on `updated`. */
export function recordUpdate(live: KubeObject | undefined, updated: KubeObject, manager: string, subresource?: string): void {
  updateManagedFields(live, updated, manager, 'Update', subresource);
}
export { fieldSet, encodeFieldsV1, decodeFieldsV1, pathString } from './fieldpath';

/** Everything in the shape of src/apiserver/patching.ts's Patcher (structurally typed, no import of the machinery). */
export const kindsPatcher = {
  json: (obj: KubeObject, ops: unknown) => applyJsonPatch(obj, ops),
  merge: (obj: KubeObject, patch: unknown) => applyMergePatch(obj, patch),
  mergeOwned: (obj: KubeObject, patch: unknown) => applyMergePatchOwned(obj, patch),
  strategic: (obj: KubeObject, patch: unknown, schemaName: string) => applyStrategicMergePatch(obj, patch, schemaName),
  apply: (live: KubeObject | undefined, applied: KubeObject, opts: ApplyOptions) => serverSideApply(live, applied, opts),
  updateManagedFields: (old: KubeObject | undefined, next: KubeObject, manager: string, subresource?: string) =>
    updateManagedFields(old, next, manager, 'Update', subresource),
  unknownFields: (obj: KubeObject, schemaName: string) => unknownFields(obj, schemaName),
};
