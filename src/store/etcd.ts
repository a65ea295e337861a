/**
 * The etcd v3 backend (the `etcd3` npm client's raw gRPC clients, not its builders, so every field is ours).
 *
 * Store revisions are etcd revisions 1:1. Compare-and-swap is an etcd transaction comparing mod_revision; a
 * failed comparison reads the key in the same transaction so the error can say what is stored. Watches are etcd
 * watches starting at afterRevision + 1 with prev_kv; a broken stream (member killed) is reopened from the last
 * delivered revision on another member, so the caller sees one gap-free stream. Leases are etcd leases whose ID
 * we choose (below 2^53) so it fits a JavaScript number.
 *
 * An optional key namespace keeps several stores (tests, or several clusters) apart in one etcd.
 */
import { Etcd3, type ICallable, type IHashKVResponse, type IKeyValue, type IWatchResponse } from 'etcd3';
import { SkiffError, gone, internal, invalid, notFound, unavailable } from '../common/errors';
import { badLeaseTtl, keyExists, keyNotFound, leaseNotFound, revisionConflict, storeClosed, watchCompacted } from './errors';
import { KEY_MAX, listRange, prefixEnd } from './keys';
import type {
  CreateOptions,
  GetOptions,
  KeyValue,
  ListOptions,
  ListResult,
  Store,
  WatchEvent,
  WatchMessage,
  WatchOptions,
} from './types';

export interface EtcdStoreOptions {
  /** Member client URLs, e.g. ['http://127.0.0.1:2379']. */
  hosts: string[];
  /** Prepended to every key (default ''). */
  namespace?: string;
  /** Deadline of each unary call (default 10 s). */
  callTimeoutMs?: number;
  /**
   * Compact history like the Kubernetes API server does against etcd: every interval, to the revision seen one
   * interval earlier (default 5 minutes; 0 disables). Idempotent across several servers.
   */
  compactIntervalMs?: number;
}

const enc = (s: string) => Buffer.from(s, 'utf8');

/** Translate an etcd/gRPC failure into the error catalogue. */
function mapError(e: unknown, what: string): SkiffError {
  if (e instanceof SkiffError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (msg.includes('required revision has been compacted')) return gone(`${what}: ${msg}`);
  if (msg.includes('future revision')) return invalid(`${what}: ${msg}`);
  if (msg.includes('requested lease not found')) return notFound(`${what}: lease not found`, { kind: 'lease' });
  if (
    /unavailable|no leader|leader changed|timed out|deadline|connect|ECONNREFUSED|closed|too many requests/i.test(msg)
  ) {
    return unavailable(`${what}: etcd is unavailable: ${msg}`, e);
  }
  return internal(`${what}: ${msg}`, e);
}

export class EtcdStore implements Store {
  private readonly client: Etcd3;
  private readonly ns: string;
  private closed = false;
  /** Stop hooks of open watch streams (close ends them all). */
  private readonly sessions = new Set<() => void>();
  /** Highest compaction this client asked for or saw (etcd has no cheap "compacted revision" query). */
  private knownCompact = 0;

  constructor(opts: EtcdStoreOptions) {
    this.ns = opts.namespace ?? '';
    const timeout = opts.callTimeoutMs ?? 10_000;
    this.client = new Etcd3({
      hosts: opts.hosts,
      // Unary calls get a deadline so a partitioned member fails over instead of hanging; streams live on.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    });
    const every = opts.compactIntervalMs ?? 5 * 60_000;
    if (every > 0) {
      let previous = 0;
      this.compactTimer = setInterval(() => {
        void (async () => {
          const now = await this.currentRevision();
          if (previous > 0 && previous > this.knownCompact) await this.compact(previous);
          previous = now;
        })().catch(() => undefined);
      }, every);
      this.compactTimer.unref();
    }
  }

  private compactTimer: NodeJS.Timeout | undefined;

  /** Connects and checks that a member answers. */
  static async connect(opts: EtcdStoreOptions): Promise<EtcdStore> {
    const s = new EtcdStore(opts);
    try {
      await s.currentRevision();
    } catch (e) {
      s.client.close();
      throw mapError(e, `Cannot reach etcd at ${opts.hosts.join(',')}`);
    }
    return s;
  }

  private k(key: string): Buffer {
    return enc(this.ns + key);
  }

  private toKv(kv: IKeyValue): KeyValue {
    const out: KeyValue = {
      key: kv.key.toString('utf8').slice(this.ns.length),
      value: kv.value.toString('utf8'),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
    };
    const lease = Number(kv.lease);
    if (lease) out.lease = lease;
    return out;
  }

  /** Byte range [key, range_end) of a prefix within the namespace. */
  private range(prefix: string, startKey?: string): { key: Buffer; range_end: Buffer } {
    const { lo, hi } = listRange(prefix, startKey);
    const end = hi === KEY_MAX ? prefixEnd(this.ns) : this.ns + hi;
    // etcd's "\0" range_end means "every key from key on".
    return { key: enc(this.ns + lo), range_end: end === undefined ? Buffer.from([0]) : enc(end) };
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw storeClosed();
    try {
      return await fn();
    } catch (e) {
      const err = mapError(e, what);
      if (err.code === 'Gone') {
        const c = await this.compactedRevision().catch(() => this.knownCompact);
        throw gone(err.message, { compactRevision: c });
      }
      throw err;
    }
  }

  async currentRevision(): Promise<number> {
    return this.call('Reading the current revision', async () => {
      const r = await this.client.kv.range({ key: enc(this.ns + '\0'), count_only: true });
      return Number(r.header.revision);
    });
  }

  async compactedRevision(): Promise<number> {
    return this.call('Reading the compacted revision', async () => {
      // HashKV reports the compact revision; it hashes the key space, which is fine for an occasional call.
      // (etcd3's maintenance.hashKV names the gRPC method wrongly; call it by its proto name.)
      const pool = (this.client as unknown as { pool: ICallable<unknown> }).pool;
      const r = await pool.exec<IHashKVResponse>('Maintenance', 'HashKV', { revision: 0 });
      this.knownCompact = Math.max(this.knownCompact, Number(r.compact_revision));
      return this.knownCompact;
    });
  }

  async get(key: string, opts?: GetOptions): Promise<KeyValue | undefined> {
    return this.call(`Reading ${key}`, async () => {
      const r = await this.client.kv.range({ key: this.k(key), revision: opts?.revision ?? 0 });
      return r.kvs.length > 0 ? this.toKv(r.kvs[0]) : undefined;
    });
  }

  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    return this.call(`Listing ${prefix}`, async () => {
      const limit = opts?.limit && opts.limit > 0 ? opts.limit : 0;
      const r = await this.client.kv.range({
        ...this.range(prefix, opts?.startKey),
        revision: opts?.revision ?? 0,
        limit,
      });
      const items = r.kvs.map((kv) => this.toKv(kv));
      // etcd's count is every key in [startKey, end) at that revision.
      const remaining = Math.max(0, Number(r.count) - items.length);
      // The header carries the current revision, not the one read at.
      return { items, revision: opts?.revision || Number(r.header.revision), more: r.more, remaining };
    });
  }

  async count(prefix: string): Promise<number> {
    return this.call(`Counting ${prefix}`, async () => {
      const r = await this.client.kv.range({ ...this.range(prefix), count_only: true });
      return Number(r.count);
    });
  }

  async create(key: string, value: string, opts?: CreateOptions): Promise<KeyValue> {
    return this.call(`Creating ${key}`, async () => {
      const k = this.k(key);
      const r = await this.client.kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value: enc(value), lease: opts?.lease ?? 0 } }],
        failure: [{ request_range: { key: k } }],
      });
      if (!r.succeeded) {
        const cur = r.responses[0]?.response_range?.kvs[0];
        throw keyExists(key, cur ? Number(cur.mod_revision) : undefined);
      }
      const rev = Number(r.header.revision);
      const kv: KeyValue = { key, value, createRevision: rev, modRevision: rev };
      if (opts?.lease) kv.lease = opts.lease;
      return kv;
    });
  }

  async update(key: string, value: string, expectedRevision: number, opts?: CreateOptions): Promise<KeyValue> {
    return this.call(`Updating ${key}`, async () => {
      const k = this.k(key);
      const r = await this.client.kv.txn({
        compare: [
          { key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision },
          // mod_revision 0 also matches an absent key; it must exist.
          { key: k, target: 'Version', result: 'Greater', version: 0 },
        ],
        success: [{ request_put: { key: k, value: enc(value), lease: opts?.lease ?? 0, prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      });
      if (!r.succeeded) throw this.casFailure(key, expectedRevision, r.responses[0]?.response_range?.kvs[0]);
      const prev = r.responses[0].response_put.prev_kv;
      const rev = Number(r.header.revision);
      const kv: KeyValue = { key, value, createRevision: Number(prev.create_revision), modRevision: rev };
      if (opts?.lease) kv.lease = opts.lease;
      return kv;
    });
  }

  private casFailure(key: string, expected: number, cur: IKeyValue | undefined): SkiffError {
    return cur ? revisionConflict(key, Number(cur.mod_revision), expected) : keyNotFound(key);
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    return this.call(`Deleting ${key}`, async () => {
      const k = this.k(key);
      const compare: NonNullable<Parameters<typeof this.client.kv.txn>[0]['compare']> = [
        { key: k, target: 'Version', result: 'Greater', version: 0 },
      ];
      if (expectedRevision) compare.push({ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision });
      const r = await this.client.kv.txn({
        compare,
        success: [{ request_delete_range: { key: k, prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      });
      if (!r.succeeded) throw this.casFailure(key, expectedRevision ?? 0, r.responses[0]?.response_range?.kvs[0]);
      const prev = r.responses[0].response_delete_range.prev_kvs[0];
      return { ...this.toKv(prev), modRevision: Number(r.header.revision) };
    });
  }

  async compact(revision: number): Promise<void> {
    return this.call(`Compacting to ${revision}`, async () => {
      try {
        // physical: wait until the compaction is applied, so Gone is observable right after.
        await this.client.kv.compact({ revision, physical: true });
      } catch (e) {
        // Compacting to an already compacted revision is a no-op, as in the SQLite store.
        if (mapError(e, '').code === 'Gone') return;
        throw e;
      }
      this.knownCompact = Math.max(this.knownCompact, revision);
    });
  }

  async grantLease(ttlSeconds: number): Promise<number> {
    if (!(ttlSeconds > 0)) throw badLeaseTtl(ttlSeconds);
    return this.call('Granting a lease', async () => {
      for (;;) {
        // Our own ID below 2^53: etcd's would not fit a JavaScript number.
        const id = 1 + Math.floor(Math.random() * (Number.MAX_SAFE_INTEGER - 1));
        try {
          const r = await this.client.leaseClient.leaseGrant({ TTL: Math.ceil(ttlSeconds), ID: id });
          if (r.error) throw new Error(r.error);
          return Number(r.ID);
        } catch (e) {
          if (!String((e as Error).message).includes('lease already exists')) throw e;
        }
      }
    });
  }

  async keepAliveLease(lease: number): Promise<void> {
    return this.call(`Renewing lease ${lease}`, async () => {
      const stream = await this.client.leaseClient.leaseKeepAlive();
      try {
        const ttl = await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('lease keepalive timed out')), 10_000);
          stream.on('data', (r) => {
            clearTimeout(timer);
            resolve(Number(r.TTL));
          });
          stream.on('error', (e) => {
            clearTimeout(timer);
            reject(e);
          });
          stream.write({ ID: lease });
        });
        // etcd answers TTL 0 for an unknown or expired lease.
        if (ttl <= 0) throw leaseNotFound(lease);
      } finally {
        stream.cancel();
      }
    });
  }

  async revokeLease(lease: number): Promise<void> {
    return this.call(`Revoking lease ${lease}`, async () => {
      await this.client.leaseClient.leaseRevoke({ ID: lease });
    });
  }

  watch(prefix: string, opts: WatchOptions): AsyncIterable<WatchMessage> {
    return { [Symbol.asyncIterator]: () => this.watchIterator(prefix, opts) };
  }

  private async *watchIterator(prefix: string, opts: WatchOptions): AsyncGenerator<WatchMessage> {
    const signal = opts.signal;
    let cursor = opts.afterRevision;
    let failures = 0;
    while (!signal?.aborted && !this.closed) {
      const session = this.openWatch(prefix, cursor, opts.progressIntervalMs, signal);
      try {
        for await (const msg of session) {
          failures = 0;
          if (msg.kind === 'events') cursor = msg.events[msg.events.length - 1].kv.modRevision;
          else if (msg.revision < cursor) continue;
          yield msg;
        }
        return; // ended by abort/close
      } catch (e) {
        const err = mapError(e, `Watching ${prefix}`);
        if (err.code === 'Gone') throw err;
        if (signal?.aborted || this.closed) return;
        // The member went away: reopen from the last delivered revision on another one.
        failures++;
        if (failures > 30) throw err;
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * failures)));
      }
    }
  }

  /** One etcd watch stream from cursor + 1 until abort (returns) or failure (throws). */
  private async *openWatch(
    prefix: string,
    cursor: number,
    progressMs: number | undefined,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<WatchMessage> {
    const stream = await this.client.watchClient.watch();
    type Item = WatchMessage | { kind: 'error'; error: unknown } | { kind: 'end' } | { kind: 'stop' };
    const queue: Item[] = [];
    let wake: (() => void) | undefined;
    const push = (m: Item) => {
      queue.push(m);
      const w = wake;
      wake = undefined;
      w?.();
    };
    const stop = () => push({ kind: 'stop' });
    this.sessions.add(stop);
    signal?.addEventListener('abort', stop);
    let lastActivity = Date.now();
    stream.on('data', (r: IWatchResponse) => {
      if (r.canceled) {
        const c = Number(r.compact_revision);
        if (c > 0) {
          this.knownCompact = Math.max(this.knownCompact, c);
          push({
            kind: 'error',
            error: watchCompacted(cursor, c),
          });
        } else push({ kind: 'error', error: new Error(`watch canceled: ${r.cancel_reason}`) });
        return;
      }
      if (r.created) return;
      lastActivity = Date.now();
      if (r.events.length > 0) {
        const events: WatchEvent[] = r.events.map((ev) => {
          const kv = this.toKv(ev.kv);
          if (ev.type === 'Delete') {
            // etcd's delete event has an empty value; ours carries the last one (from prev_kv).
            const prev = ev.prev_kv ? this.toKv(ev.prev_kv) : undefined;
            return {
              type: 'delete',
              kv: { ...kv, value: prev?.value ?? '', createRevision: prev?.createRevision ?? 0 },
              prevKv: prev,
            };
          }
          const out: WatchEvent = { type: kv.createRevision === kv.modRevision ? 'create' : 'update', kv };
          if (ev.prev_kv && out.type === 'update') out.prevKv = this.toKv(ev.prev_kv);
          return out;
        });
        push({ kind: 'events', events });
      } else {
        // A progress response: every event up to header.revision has been sent on this stream.
        push({ kind: 'progress', revision: Number(r.header.revision) });
      }
    });
    stream.on('error', (e) => push({ kind: 'error', error: e }));
    stream.on('end', () => push({ kind: 'end' }));
    stream.write({
      create_request: { ...this.range(prefix), start_revision: cursor + 1, prev_kv: true },
    });
    let ticker: NodeJS.Timeout | undefined;
    if (progressMs && progressMs > 0) {
      ticker = setInterval(() => {
        if (Date.now() - lastActivity >= progressMs) stream.write({ progress_request: {} });
      }, progressMs);
    }
    try {
      if (signal?.aborted || this.closed) return;
      for (;;) {
        if (queue.length === 0) await new Promise<void>((r) => (wake = r));
        const m = queue.shift()!;
        if (m.kind === 'stop') return;
        if (m.kind === 'error') throw m.error;
        if (m.kind === 'end') throw new Error('etcd watch stream ended');
        yield m;
      }
    } finally {
      if (ticker) clearInterval(ticker);
      signal?.removeEventListener('abort', stop);
      this.sessions.delete(stop);
      stream.cancel();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.compactTimer) clearInterval(this.compactTimer);
    for (const stop of this.sessions) stop();
    this.client.close();
  }
}
