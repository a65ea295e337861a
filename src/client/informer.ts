/**
 * An informer: list, then watch from the list's resourceVersion, keeping an ObjectCache current and telling
 * handlers about adds, updates and deletes. A watch that ends is resumed from the last seen resourceVersion
 * (bookmarks advance it); 410 Gone (compacted) or any other failure leads to a relist with backoff.
 */
import { isSkiffError } from '../common/errors';
import { ObjectCache, IndexFunc, Change } from './cache';
import { KubeClient } from './client';
import { Clock, realClock } from './clock';
import { Resource } from './resources';
import { KObject } from './types';

export interface EventHandler<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Record<string, IndexFunc<T>>;
  clock?: Clock;
  /** Called for errors the informer recovers from (logging). */
  onError?: (err: unknown) => void;
  /** Server-side watch timeout, so idle streams are renewed now and then (upstream: 5–10 min). */
  watchTimeoutSeconds?: number;
}

export class Informer<T extends KObject = KObject> {
  readonly cache: ObjectCache<T>;
  private handlers: EventHandler<T>[] = [];
  private abort?: AbortController;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private running = false;
  private resourceVersion = '';
  private readonly clock: Clock;

  constructor(
    private readonly client: KubeClient,
    readonly resource: Resource,
    private readonly opts: InformerOptions<T> = {},
  ) {
    this.cache = new ObjectCache<T>(opts.indexers ?? {});
    this.clock = opts.clock ?? realClock;
  }

  addEventHandler(h: EventHandler<T>): void {
    this.handlers.push(h);
    // Like client-go: a handler added late still hears about what is already cached.
    if (this.synced) for (const obj of this.cache.list()) h.add?.(obj);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    void this.run();
  }

  stop(): void {
    this.running = false;
    this.abort?.abort();
  }

  private emit(change: Change<T>): void {
    for (const h of this.handlers) {
      try {
        if (change.type === 'add') h.add?.(change.obj);
        else if (change.type === 'update') h.update?.(change.old!, change.obj);
        else h.delete?.(change.obj);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.clock.setTimeout(resolve, ms);
      this.abort?.signal.addEventListener('abort', () => {
        this.clock.clearTimeout(t);
        resolve();
      });
    });
  }

  private async relist(): Promise<void> {
    const list = await this.client.list<T>(this.resource, {
      namespace: this.opts.namespace,
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
    });
    for (const item of list.items) {
      // Lists carry kind on the list only; keep objects self-describing for handlers.
      item.kind ??= this.resource.kind;
    }
    const changes = this.cache.replace(list.items);
    this.resourceVersion = list.metadata.resourceVersion ?? '';
    for (const c of changes) this.emit(c);
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    let needList = true;
    while (this.running) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        const stream = await this.client.watch<T>(this.resource, {
          namespace: this.opts.namespace,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300),
          signal: this.abort!.signal,
        });
        failures = 0;
        for await (const ev of stream) {
          if (!this.running) break;
          const rv = ev.object?.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          if (ev.type === 'BOOKMARK') continue;
          ev.object.kind ??= this.resource.kind;
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED') {
            const old = this.cache.upsert(ev.object);
            this.emit(old ? { type: 'update', obj: ev.object, old } : { type: 'add', obj: ev.object });
          } else if (ev.type === 'DELETED') {
            const old = this.cache.remove(ev.object);
            this.emit({ type: 'delete', obj: ev.object ?? old });
          }
        }
        // The server closed the stream (timeout): resume from the last resourceVersion.
      } catch (err) {
        if (!this.running) break;
        if (isSkiffError(err, 'Gone')) {
          needList = true; // compacted: only a fresh list can tell us the current state
          continue;
        }
        this.opts.onError?.(err);
        failures++;
        needList = true;
        await this.sleep(Math.min(30_000, 200 * 2 ** Math.min(failures, 8)));
      }
    }
  }
}
