/**
 * The in-memory object cache behind an informer: objects by namespace/name key, with named indexers
 * (by namespace, by owner uid, by label, or any function), and a replace() that reports what changed so
 * a relist after a broken watch produces the same add/update/delete notifications a watch would have.
 */
import { KObject, keyOf } from './types';

export type IndexFunc<T> = (obj: T) => string[];

export const byNamespace = <T extends KObject>(obj: T): string[] => [obj.metadata.namespace ?? ''];
export const byOwnerUid = <T extends KObject>(obj: T): string[] => (obj.metadata.ownerReferences ?? []).map((r) => r.uid);
export const byLabel = <T extends KObject>(obj: T): string[] => Object.entries(obj.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`);

export interface Change<T> {
  type: 'add' | 'update' | 'delete';
  obj: T;
  old?: T;
}

export class ObjectCache<T extends KObject = KObject> {
  private items = new Map<string, T>();
  private indexers = new Map<string, IndexFunc<T>>();
  /** index name → index value → keys */
  private indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.addIndexer('namespace', byNamespace);
    for (const [name, fn] of Object.entries(indexers)) this.addIndexer(name, fn);
  }

  addIndexer(name: string, fn: IndexFunc<T>): void {
    this.indexers.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indices.set(name, idx);
    for (const [key, obj] of this.items) for (const v of fn(obj)) addTo(idx, v, key);
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  size(): number {
    return this.items.size;
  }

  byIndex(indexName: string, value: string): T[] {
    const idx = this.indices.get(indexName);
    if (!idx) throw new Error(`no indexer named "${indexName}"`);
    return [...(idx.get(value) ?? [])].map((k) => this.items.get(k)!).filter(Boolean);
  }

  /** Inserts or replaces; returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = keyOf(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) for (const v of fn(obj)) addTo(this.indices.get(name)!, v, key);
    return old;
  }

  remove(obj: T): T | undefined {
    const key = keyOf(obj);
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  /** Replaces the whole content (after a list); returns the changes relative to what was cached. */
  replace(objs: T[]): Change<T>[] {
    const changes: Change<T>[] = [];
    const seen = new Set<string>();
    for (const obj of objs) {
      const key = keyOf(obj);
      seen.add(key);
      const old = this.upsert(obj);
      if (!old) changes.push({ type: 'add', obj });
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) changes.push({ type: 'update', obj, old });
    }
    for (const [key, obj] of [...this.items]) {
      if (!seen.has(key)) {
        this.remove(obj);
        changes.push({ type: 'delete', obj });
      }
    }
    return changes;
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) {
        const set = idx.get(v);
        set?.delete(key);
        if (set && set.size === 0) idx.delete(v);
      }
    }
  }
}

function addTo(idx: Map<string, Set<string>>, value: string, key: string): void {
  let set = idx.get(value);
  if (!set) idx.set(value, (set = new Set()));
  set.add(key);
}
