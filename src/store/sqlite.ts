/**
 * The embedded store: SQLite (better-sqlite3) in WAL mode, one file, kine's design.
 *
 * One append-only table `kv`: every write is an INSERT whose id is the store revision; a key's current value is its
 * newest row; a delete inserts a tombstone row (carrying the last value, so delete events and prevKv need no
 * extra lookup). Compare-and-swap checks the newest row's id inside a write transaction; this process is the only
 * writer in practice, and BEGIN IMMEDIATE + busy_timeout keep a second process safe anyway.
 *
 * Writes are group-committed: every write requested during one turn of the event loop runs in one transaction
 * with one fsync (synchronous=FULL by default), so acknowledged writes survive kill -9 and power loss while 50
 * concurrent clients cost one fsync per batch, not one each. A write's promise resolves only after COMMIT.
 *
 * Watchers are fed in-process, synchronously after each commit (no polling); a watcher starting from an older
 * revision first replays history from the table, then joins the live fan-out in the same synchronous step, so
 * nothing is missed or repeated. Writes by another process are picked up by a slow poll of the revision counter.
 *
 * Compaction removes superseded rows and tombstones at or below a revision, walking the rows above the previous
 * compaction point in small transactions (each deletes its rows' predecessors by primary key), so it never holds
 * the event loop long and can stop anywhere: the compacted revision is advanced with each batch.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SkiffError, gone, internal, invalid, notFound, alreadyExists, conflict } from '../common/errors';
import { keyAfter, listRange } from './keys';
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
}

interface Row {
  id: number;
  name: string;
  create_revision: number;
  prev_revision: number;
  deleted: number;
  lease: number;
  value: string;
}

/** A history row joined with its predecessor (for prevKv). */
interface HistoryRow extends Row {
  p_id: number | null;
  p_create_revision: number | null;
  p_lease: number | null;
  p_value: string | null;
}

interface PendingWrite {
  run: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Committed {
  row: Row;
  prev?: Row;
}

const REPLAY_BATCH = 1000;
/** The WAL is truncated to this size whenever it restarts. */
const WAL_LIMIT_BYTES = 16 * 1048576;
/** Events a live watcher may have queued before it is switched back to reading history from the table. */
const MAX_WATCH_QUEUE = 10_000;

/** SQLite failures in the error catalogue: lock contention is worth retrying, anything else is internal. */
function sqliteError(what: string, e: unknown): SkiffError {
  const code = String((e as { code?: unknown }).code ?? '');
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new SkiffError('Unavailable', `${what}: the database is locked by another process (${code})`, { cause: e });
  }
  return internal(`${what}: ${String(e)}`, e);
}

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

export class SqliteStore implements Store {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly opts: Required<Omit<SqliteStoreOptions, 'file'>>;
  private readonly stmt: ReturnType<SqliteStore['prepare']>;
  private pending: PendingWrite[] = [];
  private flushScheduled = false;
  /** Revision counter while a write transaction runs. */
  private txnRev = 0;
  /** Rows written by the running transaction, published after COMMIT. */
  private txnRows: Committed[] = [];
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
      this.init();
    }
    this.stmt = this.prepare();
    this.lastDispatched = this.readRevision();
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.pollIntervalMs, () => {
      if (this.watchers.size > 0) this.catchUp(this.readRevision());
    });
    if (this.opts.readOnly) return;
    // etcd resets lease deadlines when a new leader takes over; do the same on open so downtime does not
    // delete every leased key at once.
    this.db.prepare('UPDATE lease SET expires_at = ? + ttl * 1000').run(Date.now());
    every(this.opts.leaseCheckIntervalMs, () => this.expireLeases());
    if (this.opts.retainRevisions > 0) every(this.opts.compactIntervalMs, () => void this.autoCompact());
  }

  private init(): void {
    const db = this.db;
    // busy_timeout first: a second process opening the file must wait, never fail with SQLITE_BUSY.
    db.pragma('busy_timeout = 10000');
    // auto_vacuum must be chosen before the first table exists; INCREMENTAL lets us hand freed pages back.
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${this.opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    // After each checkpoint that resets the WAL, truncate it to this size so it cannot stay large.
    db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
    db.pragma('wal_autocheckpoint = 1000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS kv (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        create_revision INTEGER NOT NULL,
        prev_revision INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        lease INTEGER NOT NULL,
        value TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
      CREATE INDEX IF NOT EXISTS kv_lease ON kv (lease) WHERE lease != 0;
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
      -- AUTOINCREMENT: a revoked lease ID is never handed out again (a stale keep-alive must not renew a new lease).
      CREATE TABLE IF NOT EXISTS lease (id INTEGER PRIMARY KEY AUTOINCREMENT, ttl INTEGER NOT NULL, expires_at INTEGER NOT NULL);
      INSERT OR IGNORE INTO meta (k, v) VALUES ('compact_rev', 0);
    `);
    // Like etcd, an empty store is at revision 1 and the first write gets revision 2 (a resourceVersion of "0"
    // means "any" to Kubernetes, so no object may carry it).
    db.prepare(
      `INSERT INTO sqlite_sequence (name, seq) SELECT 'kv', 1 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'kv')`,
    ).run();
  }

  private prepare() {
    const db = this.db;
    return {
      revision: db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'kv'`).pluck(),
      compactRev: db.prepare(`SELECT v FROM meta WHERE k = 'compact_rev'`).pluck(),
      setCompactRev: db.prepare(`UPDATE meta SET v = ? WHERE k = 'compact_rev'`),
      latest: db.prepare(`SELECT * FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1`),
      atRev: db.prepare(`SELECT * FROM kv WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1`),
      insert: db.prepare(
        `INSERT INTO kv (id, name, create_revision, prev_revision, deleted, lease, value) VALUES (@id, @name, @create_revision, @prev_revision, @deleted, @lease, @value)`,
      ),
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
      leaseGet: db.prepare(`SELECT * FROM lease WHERE id = ?`),
      leaseInsert: db.prepare(`INSERT INTO lease (ttl, expires_at) VALUES (?, ?)`),
      leaseTouch: db.prepare(`UPDATE lease SET expires_at = ? + ttl * 1000 WHERE id = ?`),
      leaseDelete: db.prepare(`DELETE FROM lease WHERE id = ?`),
      leaseExpired: db.prepare(`SELECT id FROM lease WHERE expires_at <= ?`).pluck(),
      leaseKeys: db.prepare(
        `SELECT k.* FROM kv k WHERE k.lease = ? AND k.lease != 0 AND k.deleted = 0
           AND k.id = (SELECT MAX(id) FROM kv WHERE name = k.name)`,
      ),
      compactPrev: db.prepare(
        `DELETE FROM kv WHERE id IN (SELECT prev_revision FROM kv WHERE id > ? AND id <= ? AND prev_revision > 0)`,
      ),
      compactTombstones: db.prepare(`DELETE FROM kv WHERE id > ? AND id <= ? AND deleted = 1`),
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
    const rev = this.readRevisionFor(opts?.revision);
    const row = (opts?.revision ? this.stmt.atRev.get(key, rev) : this.stmt.latest.get(key)) as Row | undefined;
    return row && !row.deleted ? toKv(row) : undefined;
  }

  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    this.checkOpen();
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
    if (this.closed) throw new SkiffError('Unavailable', `Store ${this.file} is closed`);
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.opts.readOnly) throw new SkiffError('Unavailable', `Store ${this.file} is open read-only`);
  }

  private enqueue<T>(run: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new SkiffError('Unavailable', `Store ${this.file} is closed`));
    if (this.opts.readOnly) return Promise.reject(new SkiffError('Unavailable', `Store ${this.file} is open read-only`));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const outcomes: Array<{ ok: true; v: unknown } | { ok: false; e: unknown }> = [];
    this.txnRows = [];
    try {
      this.db
        .transaction(() => {
          this.txnRev = this.readRevision();
          for (const w of batch) {
            try {
              outcomes.push({ ok: true, v: w.run() });
            } catch (e) {
              // A refused write (conflict, not found...) wrote nothing; the others in the batch still commit.
              if (e instanceof SkiffError) outcomes.push({ ok: false, e });
              else throw e;
            }
          }
        })
        .immediate();
    } catch (e) {
      this.txnRows = [];
      const err = e instanceof SkiffError ? e : sqliteError(`Writing to ${this.file}`, e);
      for (const w of batch) w.reject(err);
      return;
    }
    const rows = this.txnRows;
    this.txnRows = [];
    this.writesSinceCompact += rows.length;
    if (rows.length > 0) {
      this.noteRevisionTime(rows[rows.length - 1].row.id);
      this.publish(rows);
    }
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (o.ok) w.resolve(o.v);
      else w.reject(o.e);
    });
    if (this.opts.retainRevisions > 0 && this.writesSinceCompact >= this.opts.compactEveryWrites) void this.autoCompact();
  }

  /** Inside a write transaction: append one row and remember it for the fan-out. */
  private append(
    name: string,
    fields: Omit<Row, 'id' | 'name' | 'create_revision'> & { create_revision?: number },
    prev?: Row,
  ): Row {
    const id = ++this.txnRev;
    const row: Row = { ...fields, id, name, create_revision: fields.create_revision ?? id };
    this.stmt.insert.run(row);
    this.txnRows.push({ row, prev });
    return row;
  }

  private checkLease(lease: number | undefined): number {
    if (!lease) return 0;
    if (!this.stmt.leaseGet.get(lease)) throw notFound(`Lease ${lease} not found`, { kind: 'lease', name: String(lease) });
    return lease;
  }

  create(key: string, value: string, opts?: CreateOptions): Promise<KeyValue> {
    return this.enqueue(() => {
      const cur = this.stmt.latest.get(key) as Row | undefined;
      if (cur && !cur.deleted) throw alreadyExists(`Key ${key} already exists`, { name: key, currentRevision: cur.id });
      const lease = this.checkLease(opts?.lease);
      return toKv(this.append(key, { prev_revision: cur?.id ?? 0, deleted: 0, lease, value }));
    });
  }

  update(key: string, value: string, expectedRevision: number, opts?: CreateOptions): Promise<KeyValue> {
    return this.enqueue(() => {
      const cur = this.stmt.latest.get(key) as Row | undefined;
      if (!cur || cur.deleted) throw notFound(`Key ${key} not found`, { name: key });
      if (cur.id !== expectedRevision) {
        throw conflict(`Key ${key} is at revision ${cur.id}, not ${expectedRevision}`, {
          name: key,
          currentRevision: cur.id,
        });
      }
      const lease = this.checkLease(opts?.lease);
      return toKv(
        this.append(
          key,
          { create_revision: cur.create_revision, prev_revision: cur.id, deleted: 0, lease, value },
          cur,
        ),
      );
    });
  }

  delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    return this.enqueue(() => this.deleteNow(key, expectedRevision));
  }

  private deleteNow(key: string, expectedRevision?: number): KeyValue {
    const cur = this.stmt.latest.get(key) as Row | undefined;
    if (!cur || cur.deleted) throw notFound(`Key ${key} not found`, { name: key });
    if (expectedRevision !== undefined && expectedRevision !== 0 && cur.id !== expectedRevision) {
      throw conflict(`Key ${key} is at revision ${cur.id}, not ${expectedRevision}`, {
        name: key,
        currentRevision: cur.id,
      });
    }
    // The tombstone keeps the last value so delete events carry the deleted object.
    const row = this.append(
      key,
      { create_revision: cur.create_revision, prev_revision: cur.id, deleted: 1, lease: cur.lease, value: cur.value },
      cur,
    );
    return toKv(row);
  }

  // ---- leases ----

  async grantLease(ttlSeconds: number): Promise<number> {
    this.checkWritable();
    if (!(ttlSeconds > 0)) throw invalid(`Lease TTL must be positive, got ${ttlSeconds}`);
    const ttl = Math.ceil(ttlSeconds);
    return Number(this.stmt.leaseInsert.run(ttl, Date.now() + ttl * 1000).lastInsertRowid);
  }

  async keepAliveLease(lease: number): Promise<void> {
    this.checkWritable();
    if (this.stmt.leaseTouch.run(Date.now(), lease).changes === 0) {
      throw notFound(`Lease ${lease} not found`, { kind: 'lease', name: String(lease) });
    }
  }

  revokeLease(lease: number): Promise<void> {
    return this.enqueue(() => {
      if (this.stmt.leaseDelete.run(lease).changes === 0) {
        throw notFound(`Lease ${lease} not found`, { kind: 'lease', name: String(lease) });
      }
      for (const row of this.stmt.leaseKeys.all(lease) as Row[]) this.deleteNow(row.name);
    });
  }

  private expireLeases(): void {
    if (this.closed) return;
    const ids = this.stmt.leaseExpired.all(Date.now()) as number[];
    for (const id of ids) {
      this.revokeLease(id).catch(() => {
        /* revoked meanwhile */
      });
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
          const compacted = this.readCompactRev();
          if (cursor < compacted) {
            throw gone(`Watch from revision ${cursor} is no longer possible: compacted revision is ${compacted}`, {
              compactRevision: compacted,
            });
          }
          const rows = this.stmt.history.all({
            after: cursor,
            upto: Number.MAX_SAFE_INTEGER,
            lo,
            hi,
            limit: REPLAY_BATCH,
          }) as HistoryRow[];
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
    while (this.compacting) await this.compacting;
    this.compacting = this.compactInBatches(revision);
    try {
      await this.compacting;
    } finally {
      this.compacting = undefined;
    }
  }

  private async compactInBatches(target: number): Promise<void> {
    let from = this.readCompactRev();
    if (target <= from) return;
    const step = this.opts.compactBatch;
    const batch = this.db.transaction((lo: number, hi: number) => {
      // Every row in (lo, hi] supersedes its predecessor, which is therefore dropped; tombstones in the range
      // are dropped too (the key is absent at hi either way).
      this.stmt.compactPrev.run(lo, hi);
      this.stmt.compactTombstones.run(lo, hi);
      this.stmt.setCompactRev.run(hi);
    });
    while (from < target && !this.closed) {
      const to = Math.min(target, from + step);
      batch.immediate(from, to);
      from = to;
      // Let requests and writes in between batches.
      if (from < target) await new Promise((r) => setImmediate(r));
    }
    if (this.closed) return;
    this.writesSinceCompact = 0;
    await this.reclaimSpace();
  }

  /**
   * After a compaction: keep the WAL and the file bounded without stalling the event loop.
   *
   * The WAL is normally kept small by SQLite itself (PASSIVE auto-checkpoints every 1000 pages, and
   * journal_size_limit truncating it when it restarts); only if a reader in another process pinned it and it grew
   * do we force a TRUNCATE checkpoint (busy_timeout 0: never wait for that reader). Free pages left by compaction
   * are reused by the next writes, so giving them back and growing the file again would be churn (measured: 15-100
   * ms pauses per compaction); they are returned only when most of the file is free (the store shrank), in slices.
   */
  private async reclaimSpace(): Promise<void> {
    const walBytes = this.fileSizes().wal;
    if (walBytes > 2 * WAL_LIMIT_BYTES) {
      try {
        this.db.pragma('busy_timeout = 0');
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        /* a reader holds the WAL: next time */
      } finally {
        this.db.pragma('busy_timeout = 10000');
      }
    }
    let vacuumed = false;
    for (;;) {
      if (this.closed) return;
      const free = this.db.pragma('freelist_count', { simple: true }) as number;
      const pages = this.db.pragma('page_count', { simple: true }) as number;
      // Keep 256 free pages (1 MB) for the next writes.
      if (free < 1024 || free < pages / 2) break;
      this.db.pragma(`incremental_vacuum(${Math.min(1024, free - 256)})`);
      vacuumed = true;
      await new Promise((r) => setImmediate(r));
    }
    // In WAL mode the file itself only shrinks when a checkpoint copies the truncation in.
    if (vacuumed && !this.closed) this.db.pragma('wal_checkpoint(PASSIVE)');
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
    if (this.pending.length > 0) this.flush();
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const w of this.watchers) {
      w.closed = true;
      w.notify();
    }
    this.watchers.clear();
    if (this.compacting) await this.compacting.catch(() => undefined);
    this.db.close();
  }
}
