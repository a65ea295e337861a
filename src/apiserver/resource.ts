/**
 * The contract between the API server's generic REST machinery (handlers, storage, watch, discovery,
 * tables, garbage collection) and per-kind knowledge (schemas, defaulting, validation, table columns,
 * patch merge keys, OpenAPI).
 *
 * The machinery never switches on a kind: everything kind-specific is reached through a ResourceInfo.
 * The catalogue of all served kinds is exported from src/apiserver/resources/index.ts as RESOURCES.
 */
import type { FieldCause } from '../common/errors';

/** A Kubernetes object as JSON (apiVersion, kind, metadata, spec, status...). */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
};

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

export interface TableColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string; // "" or "name" (the NAME column) or "date"
  description: string;
  /** 0 = shown by default; 1 = only with -o wide. */
  priority: number;
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceInfo {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  /** URL segment: "deployments". */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: Verb[];
  /**
   * Subresources served under /<plural>/<name>/<sub>: 'status' (status-only updates, spec ignored),
   * 'scale' (autoscaling/v1 Scale), and the streaming/action ones: 'log', 'exec', 'attach', 'portforward',
   * 'binding', 'eviction', 'proxy'.
   */
  subresources: string[];
  /**
   * True when the kind has a status subresource: writes to the main resource keep the stored status,
   * writes to /status keep the stored spec (and metadata other than labels/annotations/finalizers).
   */
  hasStatus: boolean;
  /** True when metadata.generation increments on spec changes (most kinds with spec). */
  tracksGeneration: boolean;
  /** Fills defaults in place, as upstream's defaulting functions do. Must be idempotent. */
  defaults(obj: KubeObject): void;
  /** Upstream's validation. `old` is the stored object on update. Empty array = valid. */
  validate(obj: KubeObject, old?: KubeObject): FieldCause[];
  /** Server-side table for `kubectl get` (columns after NAME and before AGE are the kind's own). */
  table: {
    columns: TableColumnDefinition[];
    /** Cells in the same order as columns. */
    cells(obj: KubeObject): unknown[];
    /**
     * True when `columns`/`cells` are the complete row, NAME and AGE included at upstream's positions
     * (pods -o wide put AGE before IP, nodes put VERSION after AGE, events have no leading NAME): the
     * machinery then adds nothing.
     */
    complete?: boolean;
  };
  /** OpenAPI definition name of the kind, e.g. "io.k8s.api.apps.v1.Deployment". */
  schemaName: string;
  /**
   * Set on a second served version of a kind stored in another version (autoscaling/v1 HPAs are stored as
   * autoscaling/v2, under the same group/plural keys): the machinery converts with toStorage before writing
   * and fromStorage after reading (gets, lists, watch events), so both versions see one object.
   */
  conversion?: {
    storageVersion: string;
    toStorage(obj: KubeObject): KubeObject;
    fromStorage(obj: KubeObject): KubeObject;
  };
  /**
   * Graceful deletion (pods): the default grace period in seconds for deleting obj, or 0/undefined for
   * immediate deletion. When > 0, DELETE only sets deletionTimestamp (now + grace) and
   * deletionGracePeriodSeconds; the node agent deletes again with gracePeriodSeconds=0 once the workload is
   * stopped. A DeleteOptions.gracePeriodSeconds given by the client overrides the default.
   */
  gracefulDeletion?(obj: KubeObject): number | undefined;
  /**
   * Objects expire this many seconds after their last write (events: 3600, upstream's --event-ttl), through
   * store leases. Absent = kept until deleted.
   */
  ttlSeconds?: number;
  /** Field selectors supported beyond metadata.name / metadata.namespace: field path -> getter. */
  fieldSelectors?: Record<string, (obj: KubeObject) => string | undefined>;
}

export function groupVersion(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}
