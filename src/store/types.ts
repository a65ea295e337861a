/**
 * The control plane's storage seam (the shape of etcd v3 as Kubernetes uses it, à la kine).
 *
 * Implementations: the embedded SQLite store (default) and etcd v3. One conformance suite
 * (store/conformance.ts) runs against both. The API server is the only user; it stores one JSON
 * document per object under keys like `/registry/<resource>/<namespace>/<name>`.
 *
 * Revisions are a single store-wide, strictly increasing counter (etcd's revision): every write gets
 * the next one. An object's `modRevision` is its Kubernetes resourceVersion.
 */

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the write that created this key (since its last delete). */
  createRevision: number;
  /** Revision of the last write to this key. */
  modRevision: number;
  /** Lease the key is attached to (absent or 0 = none): the key is deleted when the lease expires. */
  lease?: number;
}

export interface GetOptions {
  /** Read as of this revision (must not be compacted); default: latest. */
  revision?: number;
}

export interface ListOptions {
  /** Read as of this revision (must not be compacted); default: latest. Paging keeps the first page's revision. */
  revision?: number;
  /** Maximum number of items (0 or absent = all). */
  limit?: number;
  /**
   * Start listing at this key (inclusive), for paging: pass the key after the last one returned, i.e.
   * `lastKey + '\0'`, together with `revision` = the first page's `revision`.
   */
  startKey?: string;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at. */
  revision: number;
  /** True when more keys under the prefix follow the last item. */
  more: boolean;
  /** Number of keys under the prefix remaining after this page (like etcd's count minus returned); 0 when !more. */
  remaining?: number;
}

export type WatchEventType = 'create' | 'update' | 'delete';

export interface WatchEvent {
  type: WatchEventType;
  /** For delete: the key with the tombstone's modRevision and the last value. */
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface WatchOptions {
  /**
   * Deliver every event with modRevision > afterRevision. Throws Gone (from the iterator's next()) if afterRevision
   * is below the compacted revision; afterRevision == compactedRevision() is still fine.
   */
  afterRevision: number;
  signal?: AbortSignal;
  /**
   * Receive progress notifications (bookmarks) while idle: `{ kind: 'progress', revision: R }` promises that every
   * event up to R matching this watch has already been delivered (R may exceed the last event's revision).
   */
  progressIntervalMs?: number;
}

export type WatchMessage =
  | { kind: 'events'; events: WatchEvent[] }
  | { kind: 'progress'; revision: number };

export interface CreateOptions {
  /** Attach to a lease (see grantLease) so the key disappears when it expires. */
  lease?: number;
}

export interface Store {
  /** Latest revision of the whole store. */
  currentRevision(): Promise<number>;

  get(key: string, opts?: GetOptions): Promise<KeyValue | undefined>;

  /**
   * Keys with the given prefix in lexical (byte) order. A plain string prefix: '/registry/pods/a' also matches
   * '/registry/pods/ab', so end prefixes with '/'. Reads at a revision fail with Gone (details.compactRevision)
   * below the compacted revision and InvalidArgument above the current one.
   */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;

  /** Number of keys under a prefix, at the latest revision. */
  count(prefix: string): Promise<number>;

  /** Fails with AlreadyExists if the key exists; fails with NotFound if opts.lease does not exist. */
  create(key: string, value: string, opts?: CreateOptions): Promise<KeyValue>;

  /**
   * Compare-and-swap: succeeds only if the key's modRevision equals expectedRevision.
   * Fails with NotFound if absent, Conflict (details.currentRevision) if stale. As in etcd, an update without
   * opts.lease detaches the key from its lease: pass the lease again to keep it.
   */
  update(key: string, value: string, expectedRevision: number, opts?: CreateOptions): Promise<KeyValue>;

  /**
   * Deletes the key, optionally only at expectedRevision (undefined or 0 = unconditional). Returns the deleted
   * key-value (last value, createRevision) with the delete's revision as modRevision. Fails with NotFound /
   * Conflict like update.
   */
  delete(key: string, expectedRevision?: number): Promise<KeyValue>;

  /**
   * Ordered, gap-free stream of changes under a prefix (same prefix rule as list). Ends when the signal aborts
   * or the store closes. Throws SkiffError('Gone', details.compactRevision) if afterRevision < the compacted
   * revision. Every event carries prevKv except creates; a delete's kv holds the deleted value.
   */
  watch(prefix: string, opts: WatchOptions): AsyncIterable<WatchMessage>;

  /** Drop history at or below revision (superseded values and tombstones). */
  compact(revision: number): Promise<void>;

  /** Lowest revision a read or watch can still start from. */
  compactedRevision(): Promise<number>;

  grantLease(ttlSeconds: number): Promise<number>;
  keepAliveLease(lease: number): Promise<void>;
  revokeLease(lease: number): Promise<void>;

  close(): Promise<void>;
}
