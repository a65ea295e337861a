/**
 * The embedded store: SQLite (better-sqlite3) in WAL mode, one file, kine's design.
 *
 * One append-only table `kv`: every write is an INSERT whose id is the store revision; a key's current value is its
 * newest row; a delete inserts a tombstone row (carrying the last value, so delete events and prevKv need no
 * extra lookup). Compare-and-swap checks the newest row's id inside a write transaction; this process is the only
 * writer in practice, and BEGIN IMMEDIATE + busy_timeout keep a second process safe anyway.
 *
 * Writes go to the writer (sqlite-writer.ts), by default on a worker thread with its own connection, and are
 * group-committed: the writes requested while the previous batch commits run in one transaction with one fsync
 * (synchronous=FULL by default), so acknowledged writes survive kill -9 and power loss, 50 concurrent clients
 * cost one fsync per batch, and the event loop never waits for the disk. A write's promise resolves after COMMIT.
 *
 * This side keeps a connection for reads and feeds watchers in-process, as soon as a batch is reported committed
 * (no polling); a watcher starting from an older revision first replays history from the table, then joins the
 * live fan-out in the same synchronous step, so nothing is missed or repeated. Writes by another process are
 * picked up by a slow poll of the revision counter.
 *
 * Compaction removes superseded rows and tombstones at or below a revision, walking the rows above the previous
 * compaction point in small transactions (each deletes its rows' predecessors by primary key), so it can stop
 * anywhere: the compacted revision is advanced with each batch.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SkiffError, gone, invalid } from '../common/errors';
import { badLeaseTtl, storeClosed, watchCompacted } from './errors';
import { keyAfter, listRange } from './keys';
import {
  SqliteWriter,
  WRITER_THREAD,
  configureConnection,
  fromWire,
  initSchema,
  type BatchResult,
  type Committed,
  type FromWriter,
  type Row,
  type ToWriter,
  type WriteOp,
  type WriterOptions,
} from './sqlite-writer';
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

export interface SqliteStoreOptions {
  /** Path of the database file (its directory is created). */
  file: string;
  /** 'full' (default) fsyncs every commit; 'normal' survives a process kill but may lose the last commits on power loss. */
  synchronous?: 'full' | 'normal';
  /** Automatic compaction keeps at least this many recent revisions (default 10000). 0 disables it. */
  retainRevisions?: number;
  /** ...and never drops revisions younger than this (default 0: revisions alone decide). */
  retainMs?: number;
  /** Run automatic compaction this often (default 30 s)... */
  compactIntervalMs?: number;
  /** ...and after this many writes (default retainRevisions / 2). */
  compactEveryWrites?: number;
  /** How often lease expiry is checked (default 500 ms). */
  leaseCheckIntervalMs?: number;
  /** How often the revision counter is polled for writes by other processes while watchers exist (default 1000 ms). */
  pollIntervalMs?: number;
  /** Revisions per compaction transaction (default 2000). */
  compactBatch?: number;
  /**
   * Open an existing database for reading only (a second process: debugging, backups, benchmarks): no schema
   * changes, no lease expiry, no compaction; writes fail with Unavailable. Watches see other processes' writes
   * through the revision poll.
   */
  readOnly?: boolean;
  /** Run the writer on a worker thread (default true); false commits on the caller's thread. */
  writerThread?: boolean;
}

/** A history row joined with its predecessor (for prevKv). */
interface HistoryRow extends Row {
  p_id: number | null;
  p_create_revision: number | null;
  p_lease: number | null;
  p_value: string | null;
}

interface PendingWrite {
  op: WriteOp;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

const REPLAY_BATCH = 1000;
/** Events a live watcher may have queued before it is switched back to reading history from the table. */
const MAX_WATCH_QUEUE = 10_000;

function toKv(row: Row): KeyValue {
  const kv: KeyValue = { key: row.name, value: row.value, createRevision: row.create_revision, modRevision: row.id };
  if (row.lease) kv.lease = row.lease;
  return kv;
}

function toEvent(row: Row, prev?: Row): WatchEvent {
  const type = row.deleted ? 'delete' : row.create_revision === row.id ? 'create' : 'update';
  const ev: WatchEvent = { type, kv: toKv(row) };
  if (prev && type !== 'create') ev.prevKv = toKv(prev);
  return ev;
}

function historyToEvent(h: HistoryRow): WatchEvent {
  const prev: Row | undefined =
    h.p_id !== null
      ? {
          id: h.p_id,
          name: h.name,
          create_revision: h.p_create_revision!,
          prev_revision: 0,
          deleted: 0,
          lease: h.p_lease ?? 0,
          value: h.p_value ?? '',
        }
      : undefined;
  return toEvent(h, prev);
}

/** One live watcher: a filtered queue the fan-out appends to. */
class Watcher {
  queue: WatchEvent[] = [];
  wake: (() => void) | undefined;
  closed = false;
  constructor(
    readonly prefix: string,
    /** Highest revision already handed to this watcher (events at or below are skipped). */
    public cursor: number,
  ) {}

  /** Set when the consumer fell too far behind: it stops queuing and re-reads from the table (like etcd's unsynced watchers). */
  overflowed = false;

  offer(ev: WatchEvent): void {
    if (this.overflowed || ev.kv.modRevision <= this.cursor || !ev.kv.key.startsWith(this.prefix)) return;
    if (this.queue.length >= MAX_WATCH_QUEUE) {
      this.overflowed = true;
      return;
    }
    this.cursor = ev.kv.modRevision;
    this.queue.push(ev);
  }

  notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/** How the store reaches its writer: directly, or by messages to the worker thread. */
interface WriterChannel {
  batch(ops: WriteOp[]): Promise<BatchResult>;
  compact(target: number): Promise<void>;
  close(): Promise<void>;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

function inlineChannel(opts: WriterOptions): WriterChannel {
  const writer = new SqliteWriter(opts);
  return {
    batch: async (ops) => writer.runBatch(ops),
    compact: (target) => writer.compact(target),
    close: async () => writer.close(),
  };
}

function workerChannel(opts: WriterOptions, workerFile: string): WriterChannel {
  const worker = new Worker(workerFile, { workerData: { [WRITER_THREAD]: opts } });
  const waiting = new Map<number, { resolve: (m: FromWriter) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  let broken: SkiffError | undefined;
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  // Keep the process alive only while a reply is awaited, so a forgotten close() cannot hang a CLI.
  worker.unref();
  const failAll = (err: SkiffError) => {
    broken ??= err;
    readyResolve();
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('message', (m: FromWriter) => {
    if (m.type === 'ready') return readyResolve();
    if (m.type === 'failed') return failAll(fromWire(m.error));
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    w.resolve(m);
  });
  worker.on('error', (e) => failAll(new SkiffError('Unavailable', `SQLite writer for ${opts.file} failed: ${e}`)));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      failAll(new SkiffError('Unavailable', `SQLite writer for ${opts.file} has stopped`));
      resolve();
    }),
  );
  let outstanding = 0;
  const call = async (msg: WithoutId<ToWriter>): Promise<FromWriter> => {
    if (outstanding++ === 0) worker.ref();
    try {
      await ready;
      if (broken) throw broken;
      const id = nextId++;
      return await new Promise<FromWriter>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ ...msg, id } as ToWriter);
      });
    } finally {
      if (--outstanding === 0) worker.unref();
    }
  };
  return {
    async batch(ops) {
      const m = await call({ type: 'batch', ops });
      return (m as Extract<FromWriter, { type: 'batch' }>).result;
    },
    async compact(target) {
      const m = (await call({ type: 'compact', target })) as Extract<FromWriter, { type: 'done' }>;
      if (m.error) throw fromWire(m.error);
    },
    async close() {
      // The writer closes its connection (a clean WAL checkpoint) and its thread ends by itself.
      if (!broken) await call({ type: 'close' }).catch(() => undefined);
      worker.ref(); // until the thread has ended
      await exited;
    },
  };
}

export class SqliteStore implements Store {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly opts: Required<Omit<SqliteStoreOptions, 'file'>>;
  private readonly stmt: ReturnType<SqliteStore['prepare']>;
  /** Runs a function inside one read transaction (BEGIN DEFERRED: a snapshot from its first read). */
  private readonly readTxn: (fn: () => unknown) => unknown;
  private readonly writer: WriterChannel | undefined;
  private pending: PendingWrite[] = [];
  private flushScheduled = false;
  private inFlight: Promise<void> | undefined;
  /** Highest revision fanned out to watchers. */
  private lastDispatched: number;
  private readonly watchers = new Set<Watcher>();
  private readonly timers: NodeJS.Timeout[] = [];
  private writesSinceCompact = 0;
  private compacting: Promise<void> | undefined;
  /** Wall-clock time of recent revisions, for retainMs (sampled, oldest first). */
  private readonly revTimes: Array<{ rev: number; at: number }> = [];
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    this.file = options.file;
    const retain = options.retainRevisions ?? 10000;
    this.opts = {
      readOnly: options.readOnly ?? false,
      writerThread: options.writerThread ?? true,
      synchronous: options.synchronous ?? 'full',
      retainRevisions: retain,
      retainMs: options.retainMs ?? 0,
      compactIntervalMs: options.compactIntervalMs ?? 30_000,
      compactEveryWrites: options.compactEveryWrites ?? Math.max(1000, Math.floor(retain / 2)),
      leaseCheckIntervalMs: options.leaseCheckIntervalMs ?? 500,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      compactBatch: options.compactBatch ?? 2000,
    };
    if (this.opts.readOnly) {
      this.db = new Database(this.file, { readonly: true, fileMustExist: true });
      this.db.pragma('busy_timeout = 10000');
    } else {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.db = new Database(this.file);
      configureConnection(this.db, this.opts.synchronous);
      // The schema must exist before this connection prepares its reads; the writer repeats this harmlessly.
      initSchema(this.db);
      const wopts: WriterOptions = {
        file: this.file,
        synchronous: this.opts.synchronous,
        compactBatch: this.opts.compactBatch,
      };
      // The worker runs the compiled sqlite-writer.js next to this file; without it (a bundler, ts-node) commit inline.
      const workerFile = path.join(__dirname, 'sqlite-writer.js');
      this.writer =
        this.opts.writerThread && fs.existsSync(workerFile) ? workerChannel(wopts, workerFile) : inlineChannel(wopts);
    }
    this.stmt = this.prepare();
    this.readTxn = this.db.transaction((fn: () => unknown) => fn());
    this.lastDispatched = this.readRevision();
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.pollIntervalMs, () => {
      if (this.watchers.size > 0 && !this.closed) this.catchUp(this.readRevision());
    });
    if (this.opts.readOnly) return;
    every(this.opts.leaseCheckIntervalMs, () => this.expireLeases());
    if (this.opts.retainRevisions > 0) every(this.opts.compactIntervalMs, () => void this.autoCompact());
  }

  private prepare() {
    const db = this.db;
    return {
      revision: db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'kv'`).pluck(),
      compactRev: db.prepare(`SELECT v FROM meta WHERE k = 'compact_rev'`).pluck(),
      latest: db.prepare(`SELECT * FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1`),
      atRev: db.prepare(`SELECT * FROM kv WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1`),
      // Walks kv_name_id in key order and keeps each key's newest row at @rev, so LIMIT stops the walk early
      // (a GROUP BY subquery would visit and sort the whole range first: 5x slower for a 500-item page).
      list: db.prepare(
        `SELECT k.* FROM kv k WHERE k.name >= @lo AND k.name < @hi AND k.id <= @rev
           AND k.id = (SELECT MAX(id) FROM kv m WHERE m.name = k.name AND m.id <= @rev) AND k.deleted = 0
         ORDER BY k.name LIMIT @limit`,
      ),
      count: db
        .prepare(
          `SELECT COUNT(*) FROM (SELECT name, MAX(id) AS mid FROM kv WHERE name >= @lo AND name < @hi AND id <= @rev GROUP BY name) g
           JOIN kv k ON k.id = g.mid WHERE k.deleted = 0`,
        )
        .pluck(),
      history: db.prepare(
        `SELECT k.*, p.id AS p_id, p.create_revision AS p_create_revision, p.lease AS p_lease, p.value AS p_value
         FROM kv k LEFT JOIN kv p ON p.id = k.prev_revision
         WHERE k.id > @after AND k.id <= @upto AND k.name >= @lo AND k.name < @hi ORDER BY k.id LIMIT @limit`,
      ),
      leaseExpired: db.prepare(`SELECT id FROM lease WHERE expires_at <= ?`).pluck(),
    };
  }

  // ---- reads ----

  private readRevision(): number {
    return this.stmt.revision.get() as number;
  }

  private readCompactRev(): number {
    return this.stmt.compactRev.get() as number;
  }

  /** The revision a read at `revision` uses, after checking it is neither compacted nor in the future. */
  private readRevisionFor(revision: number | undefined): number {
    const current = this.readRevision();
    if (revision === undefined || revision === 0) return current;
    const compacted = this.readCompactRev();
    if (revision < compacted) {
      throw gone(`Revision ${revision} has been compacted (compacted revision ${compacted})`, {
        compactRevision: compacted,
      });
    }
    if (revision > current) {
      throw invalid(`Revision ${revision} is in the future (current revision ${current})`, {
        currentRevision: current,
      });
    }
    return revision;
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.readRevision();
  }

  async compactedRevision(): Promise<number> {
    this.checkOpen();
    return this.readCompactRev();
  }

  async get(key: string, opts?: GetOptions): Promise<KeyValue | undefined> {
    this.checkOpen();
    if (!opts?.revision) {
      const row = this.stmt.latest.get(key) as Row | undefined;
      return row && !row.deleted ? toKv(row) : undefined;
    }
    return this.snapshot(() => {
      const rev = this.readRevisionFor(opts.revision);
      const row = this.stmt.atRev.get(key, rev) as Row | undefined;
      return row && !row.deleted ? toKv(row) : undefined;
    });
  }

  /**
   * Run reads in one read transaction: the compaction check and the rows come from the same snapshot, so a
   * compaction committed meanwhile by the writer thread cannot remove rows between the two.
   */
  private snapshot<T>(fn: () => T): T {
    return this.readTxn(fn) as T;
  }

  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    this.checkOpen();
    return this.snapshot(() => this.listNow(prefix, opts));
  }

  private listNow(prefix: string, opts?: ListOptions): ListResult {
    const rev = this.readRevisionFor(opts?.revision);
    const { lo, hi } = listRange(prefix, opts?.startKey);
    const limit = opts?.limit && opts.limit > 0 ? opts.limit : 0;
    // One extra row tells whether more follow without a second query.
    const rows = this.stmt.list.all({ lo, hi, rev, limit: limit ? limit + 1 : -1 }) as Row[];
    const more = limit > 0 && rows.length > limit;
    if (more) rows.length = limit;
    let remaining = 0;
    if (more) {
      remaining = this.stmt.count.get({ lo: keyAfter(rows[rows.length - 1].name), hi, rev }) as number;
    }
    return { items: rows.map(toKv), revision: rev, more, remaining };
  }

  async count(prefix: string): Promise<number> {
    this.checkOpen();
    const { lo, hi } = listRange(prefix);
    return this.stmt.count.get({ lo, hi, rev: this.readRevision() }) as number;
  }

  // ---- writes (group-committed) ----

  private checkOpen(): void {
    if (this.closed) throw storeClosed(this.file);
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.opts.readOnly) throw new SkiffError('Unavailable', `Store ${this.file} is open read-only`);
  }

  private enqueue<T>(op: WriteOp): Promise<T> {
    if (this.closed) return Promise.reject(storeClosed(this.file));
    if (!this.writer) return Promise.reject(new SkiffError('Unavailable', `Store ${this.file} is open read-only`));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ op, resolve: resolve as (v: unknown) => void, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Send everything pending as one batch; while it commits, new writes gather for the next one. */
  private flush(): void {
    if (this.inFlight || this.pending.length === 0 || !this.writer) return;
    const batch = this.pending;
    this.pending = [];
    this.inFlight = this.writer
      .batch(batch.map((w) => w.op))
      .then(
        (res) => {
          if (res.rows.length > 0) {
            this.writesSinceCompact += res.rows.length;
            this.noteRevisionTime(res.rows[res.rows.length - 1].row.id);
            // Watchers first, then callers: an acknowledged write is already in every live watcher's queue.
            this.publish(res.rows);
          }
          batch.forEach((w, i) => {
            const r = res.results[i];
            if (r.ok) w.resolve(r.value);
            else w.reject(fromWire(r.error));
          });
        },
        (e) => {
          for (const w of batch) w.reject(e);
        },
      )
      .finally(() => {
        this.inFlight = undefined;
        if (this.pending.length > 0) this.flush();
        if (this.opts.retainRevisions > 0 && this.writesSinceCompact >= this.opts.compactEveryWrites) {
          void this.autoCompact();
        }
      });
  }

  async create(key: string, value: string, opts?: CreateOptions): Promise<KeyValue> {
    return toKv(await this.enqueue<Row>({ op: 'create', key, value, lease: opts?.lease }));
  }

  async update(key: string, value: string, expectedRevision: number, opts?: CreateOptions): Promise<KeyValue> {
    return toKv(await this.enqueue<Row>({ op: 'update', key, value, expected: expectedRevision, lease: opts?.lease }));
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    return toKv(await this.enqueue<Row>({ op: 'delete', key, expected: expectedRevision }));
  }

  // ---- leases ----

  async grantLease(ttlSeconds: number): Promise<number> {
    if (!(ttlSeconds > 0)) throw badLeaseTtl(ttlSeconds);
    return this.enqueue<number>({ op: 'grant', ttl: Math.ceil(ttlSeconds) });
  }

  async keepAliveLease(lease: number): Promise<void> {
    await this.enqueue({ op: 'keepalive', lease });
  }

  async revokeLease(lease: number): Promise<void> {
    await this.enqueue({ op: 'revoke', lease });
  }

  private expiring = new Set<number>();

  private expireLeases(): void {
    if (this.closed) return;
    for (const id of this.stmt.leaseExpired.all(Date.now()) as number[]) {
      if (this.expiring.has(id)) continue;
      this.expiring.add(id);
      this.revokeLease(id)
        .catch(() => {
          /* revoked or renewed meanwhile */
        })
        .finally(() => this.expiring.delete(id));
    }
  }

  // ---- watch ----

  /** Fan committed rows out to live watchers, first filling any gap left by another process's writes. */
  private publish(rows: Committed[]): void {
    const first = rows[0].row.id;
    if (first > this.lastDispatched + 1) this.catchUp(first - 1);
    const events = rows.map((c) => toEvent(c.row, c.prev));
    this.lastDispatched = Math.max(this.lastDispatched, rows[rows.length - 1].row.id);
    this.fanOut(events);
  }

  /** Read rows (lastDispatched, upto] from the table and fan them out (writes made by other processes). */
  private catchUp(upto: number): void {
    while (this.lastDispatched < upto) {
      const rows = this.stmt.history.all({
        after: this.lastDispatched,
        upto,
        lo: '',
        hi: '\u{10FFFF}',
        limit: REPLAY_BATCH,
      }) as HistoryRow[];
      if (rows.length === 0) {
        this.lastDispatched = upto;
        break;
      }
      this.lastDispatched = rows[rows.length - 1].id;
      this.fanOut(rows.map(historyToEvent));
    }
  }

  private fanOut(events: WatchEvent[]): void {
    if (this.watchers.size === 0) return;
    for (const w of this.watchers) {
      const before = w.queue.length;
      for (const ev of events) w.offer(ev);
      if (w.queue.length > before) w.notify();
    }
  }

  watch(prefix: string, opts: WatchOptions): AsyncIterable<WatchMessage> {
    return { [Symbol.asyncIterator]: () => this.watchIterator(prefix, opts) };
  }

  private async *watchIterator(prefix: string, opts: WatchOptions): AsyncGenerator<WatchMessage> {
    this.checkOpen();
    const signal = opts.signal;
    if (signal?.aborted) return;
    const { lo, hi } = listRange(prefix);
    let cursor = opts.afterRevision;
    let watcher: Watcher | undefined;
    const onAbort = () => watcher?.notify();
    signal?.addEventListener('abort', onAbort);
    const stopped = () => signal?.aborted || this.closed;
    try {
      while (!stopped()) {
        // Replay history in batches; the batch that comes back short is the end of the table, and joining the
        // live fan-out in that same synchronous step guarantees no write slips between replay and live.
        for (;;) {
          const from = cursor;
          const rows = this.snapshot(() => {
            const compacted = this.readCompactRev();
            if (from < compacted) {
              throw watchCompacted(from, compacted);
            }
            return this.stmt.history.all({
              after: from,
              upto: Number.MAX_SAFE_INTEGER,
              lo,
              hi,
              limit: REPLAY_BATCH,
            }) as HistoryRow[];
          });
          if (rows.length > 0) cursor = rows[rows.length - 1].id;
          if (rows.length < REPLAY_BATCH) {
            watcher = new Watcher(prefix, cursor);
            this.watchers.add(watcher);
            if (rows.length > 0) yield { kind: 'events', events: rows.map(historyToEvent) };
            break;
          }
          yield { kind: 'events', events: rows.map(historyToEvent) };
          if (stopped()) return;
        }
        yield* this.live(watcher, opts.progressIntervalMs, stopped);
        // Back here only if the consumer fell behind: leave the fan-out and catch up from the table.
        this.watchers.delete(watcher);
        cursor = watcher.cursor;
        watcher = undefined;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (watcher) {
        watcher.closed = true;
        this.watchers.delete(watcher);
      }
    }
  }

  /** Deliver a live watcher's queue (and bookmarks when idle) until stopped or overflowed. */
  private async *live(w: Watcher, progressMs: number | undefined, stopped: () => boolean): AsyncGenerator<WatchMessage> {
    while (!stopped() && !w.closed) {
      if (w.queue.length > 0) {
        const events = w.queue;
        w.queue = [];
        yield { kind: 'events', events };
        continue;
      }
      if (w.overflowed) return;
      let timer: NodeJS.Timeout | undefined;
      const woke = await new Promise<boolean>((resolve) => {
        w.wake = () => resolve(true);
        if (progressMs && progressMs > 0) timer = setTimeout(() => resolve(false), progressMs);
      });
      if (timer) clearTimeout(timer);
      w.wake = undefined;
      if (!woke && w.queue.length === 0 && !w.overflowed && !stopped()) {
        // Every event up to lastDispatched matching this prefix is already delivered: a safe bookmark.
        yield { kind: 'progress', revision: Math.max(this.lastDispatched, w.cursor) };
      }
    }
  }

  // ---- compaction ----

  async compact(revision: number): Promise<void> {
    this.checkWritable();
    const current = this.readRevision();
    if (revision > current) {
      throw invalid(`Cannot compact to revision ${revision}: current revision is ${current}`, {
        currentRevision: current,
      });
    }
    // One compaction at a time; a second request waits for the first, then continues from where it got.
    while (this.compacting) await this.compacting.catch(() => undefined);
    if (revision <= this.readCompactRev()) return;
    this.compacting = this.writer!.compact(revision);
    try {
      await this.compacting;
      this.writesSinceCompact = 0;
    } finally {
      this.compacting = undefined;
    }
  }

  /** The revision automatic compaction would compact to now (undefined: nothing to do). */
  private autoCompactTarget(): number | undefined {
    const current = this.readRevision();
    let target = current - this.opts.retainRevisions;
    if (this.opts.retainMs > 0) {
      const cutoff = Date.now() - this.opts.retainMs;
      let timed = 0;
      for (const s of this.revTimes) if (s.at <= cutoff) timed = s.rev;
      target = Math.min(target, timed);
    }
    return target > this.readCompactRev() ? target : undefined;
  }

  private noteRevisionTime(rev: number): void {
    const now = Date.now();
    const last = this.revTimes[this.revTimes.length - 1];
    if (!last || now - last.at >= 1000) this.revTimes.push({ rev, at: now });
    const cutoff = now - Math.max(this.opts.retainMs, 1000) * 2;
    while (this.revTimes.length > 2 && this.revTimes[1].at < cutoff) this.revTimes.shift();
  }

  private async autoCompact(): Promise<void> {
    if (this.closed || this.compacting) return;
    const target = this.autoCompactTarget();
    this.writesSinceCompact = 0;
    if (target === undefined) return;
    try {
      await this.compact(target);
    } catch {
      /* closed meanwhile or disk trouble; the next interval retries */
    }
  }

  /** File sizes (database + WAL) in bytes, for benchmarks and health. */
  fileSizes(): { db: number; wal: number } {
    const size = (f: string) => {
      try {
        return fs.statSync(f).size;
      } catch {
        return 0;
      }
    };
    return { db: size(this.file), wal: size(this.file + '-wal') };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Commit what is queued before closing.
    while (this.inFlight || this.pending.length > 0) {
      this.flush();
      await this.inFlight;
    }
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const w of this.watchers) {
      w.closed = true;
      w.notify();
    }
    this.watchers.clear();
    if (this.compacting) await this.compacting.catch(() => undefined);
    await this.writer?.close();
    this.db.close();
  }
}
