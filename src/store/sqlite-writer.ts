/**
 * The SQLite store's write side: schema, compare-and-swap writes in group-committed transactions, leases,
 * compaction and space reclaim. It owns the one write connection.
 *
 * By default it runs in a worker thread (this file is also the worker's entry point), so COMMIT's fsync, WAL
 * checkpoints and compaction never block the server's event loop; the main thread keeps its own connection for
 * reads and watch fan-out. Requests arriving while a batch commits form the next batch, so under load each fsync
 * covers more writes. `inline` mode runs the same code on the caller's thread (read-only tools, tests).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { SkiffError, internal, type ErrorCode, type ErrorDetails } from '../common/errors';
import { keyExists, keyNotFound, leaseNotFound, revisionConflict } from './errors';

export interface Row {
  id: number;
  name: string;
  create_revision: number;
  prev_revision: number;
  deleted: number;
  lease: number;
  value: string;
}

/** A committed row and the row it superseded (for prevKv). */
export interface Committed {
  row: Row;
  prev?: Row;
}

export type WriteOp =
  | { op: 'create'; key: string; value: string; lease?: number }
  | { op: 'update'; key: string; value: string; expected: number; lease?: number }
  | { op: 'delete'; key: string; expected?: number }
  | { op: 'grant'; ttl: number }
  | { op: 'keepalive'; lease: number }
  | { op: 'revoke'; lease: number };

export interface WireError {
  code: ErrorCode;
  message: string;
  details?: ErrorDetails;
}

export type OpResult = { ok: true; value: unknown } | { ok: false; error: WireError };

export interface BatchResult {
  results: OpResult[];
  /** Rows committed by the batch, in revision order. */
  rows: Committed[];
}

export interface WriterOptions {
  file: string;
  synchronous: 'full' | 'normal';
  compactBatch: number;
}

/** The WAL is truncated to this size whenever it restarts. */
export const WAL_LIMIT_BYTES = 16 * 1048576;

export function toWire(e: SkiffError): WireError {
  return { code: e.code, message: e.message, details: e.details };
}

export function fromWire(w: WireError): SkiffError {
  return new SkiffError(w.code, w.message, { details: w.details });
}

/** SQLite failures in the error catalogue: lock contention is worth retrying, anything else is internal. */
export function sqliteError(what: string, e: unknown): SkiffError {
  if (e instanceof SkiffError) return e;
  const code = String((e as { code?: unknown }).code ?? '');
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new SkiffError('Unavailable', `${what}: the database is locked by another process (${code})`, { cause: e });
  }
  return internal(`${what}: ${String(e)}`, e);
}

/** Per-connection settings every connection to the file uses. */
export function configureConnection(db: Database.Database, synchronous: 'full' | 'normal'): void {
  // busy_timeout first: a second process must wait for a lock, never fail with SQLITE_BUSY.
  db.pragma('busy_timeout = 10000');
  db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  // After each checkpoint that resets the WAL, truncate it to this size so it cannot stay large.
  db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
  db.pragma('wal_autocheckpoint = 1000');
}

/** Create the schema if missing (idempotent). */
export function initSchema(db: Database.Database): void {
  // auto_vacuum must be chosen before the first table exists; INCREMENTAL lets us hand freed pages back.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
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

export class SqliteWriter {
  private readonly db: Database.Database;
  private readonly st;
  private txnRev = 0;
  private txnRows: Committed[] = [];
  private closed = false;

  constructor(private readonly opts: WriterOptions) {
    this.db = new Database(opts.file);
    configureConnection(this.db, opts.synchronous);
    initSchema(this.db);
    const db = this.db;
    this.st = {
      revision: db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'kv'`).pluck(),
      compactRev: db.prepare(`SELECT v FROM meta WHERE k = 'compact_rev'`).pluck(),
      setCompactRev: db.prepare(`UPDATE meta SET v = ? WHERE k = 'compact_rev'`),
      latest: db.prepare(`SELECT * FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1`),
      insert: db.prepare(
        `INSERT INTO kv (id, name, create_revision, prev_revision, deleted, lease, value) VALUES (@id, @name, @create_revision, @prev_revision, @deleted, @lease, @value)`,
      ),
      leaseGet: db.prepare(`SELECT 1 FROM lease WHERE id = ?`),
      leaseInsert: db.prepare(`INSERT INTO lease (ttl, expires_at) VALUES (?, ?)`),
      leaseTouch: db.prepare(`UPDATE lease SET expires_at = ? + ttl * 1000 WHERE id = ?`),
      leaseTouchAll: db.prepare(`UPDATE lease SET expires_at = ? + ttl * 1000`),
      leaseDelete: db.prepare(`DELETE FROM lease WHERE id = ?`),
      leaseKeys: db.prepare(
        `SELECT k.* FROM kv k WHERE k.lease = ? AND k.lease != 0 AND k.deleted = 0
           AND k.id = (SELECT MAX(id) FROM kv WHERE name = k.name)`,
      ),
      // Every row in (lo, hi] supersedes its predecessor, which is therefore dropped; tombstones in the range are
      // dropped too (the key is absent at hi either way).
      compactPrev: db.prepare(
        `DELETE FROM kv WHERE id IN (SELECT prev_revision FROM kv WHERE id > ? AND id <= ? AND prev_revision > 0)`,
      ),
      compactTombstones: db.prepare(`DELETE FROM kv WHERE id > ? AND id <= ? AND deleted = 1`),
    };
    // etcd resets lease deadlines when a new leader takes over; do the same on open so downtime does not delete
    // every leased key at once.
    this.st.leaseTouchAll.run(Date.now());
  }

  /** Run the ops in one transaction; a refused op (conflict...) writes nothing and the others still commit. */
  runBatch(ops: WriteOp[]): BatchResult {
    const results: OpResult[] = [];
    this.txnRows = [];
    try {
      this.db
        .transaction(() => {
          this.txnRev = this.st.revision.get() as number;
          for (const op of ops) {
            try {
              results.push({ ok: true, value: this.apply(op) });
            } catch (e) {
              if (e instanceof SkiffError) results.push({ ok: false, error: toWire(e) });
              else throw e;
            }
          }
        })
        .immediate();
    } catch (e) {
      this.txnRows = [];
      const err = toWire(sqliteError(`Writing to ${this.opts.file}`, e));
      return { results: ops.map(() => ({ ok: false, error: err })), rows: [] };
    }
    const rows = this.txnRows;
    this.txnRows = [];
    return { results, rows };
  }

  private apply(op: WriteOp): unknown {
    switch (op.op) {
      case 'create': {
        const cur = this.st.latest.get(op.key) as Row | undefined;
        if (cur && !cur.deleted) {
          throw keyExists(op.key, cur.id);
        }
        const lease = this.checkLease(op.lease);
        return this.append(op.key, { prev_revision: cur?.id ?? 0, deleted: 0, lease, value: op.value });
      }
      case 'update': {
        const cur = this.current(op.key, op.expected);
        const lease = this.checkLease(op.lease);
        return this.append(
          op.key,
          { create_revision: cur.create_revision, prev_revision: cur.id, deleted: 0, lease, value: op.value },
          cur,
        );
      }
      case 'delete':
        return this.deleteKey(op.key, op.expected);
      case 'grant':
        return Number(this.st.leaseInsert.run(op.ttl, Date.now() + op.ttl * 1000).lastInsertRowid);
      case 'keepalive':
        if (this.st.leaseTouch.run(Date.now(), op.lease).changes === 0) throw leaseNotFound(op.lease);
        return undefined;
      case 'revoke':
        if (this.st.leaseDelete.run(op.lease).changes === 0) throw leaseNotFound(op.lease);
        for (const row of this.st.leaseKeys.all(op.lease) as Row[]) this.deleteKey(row.name);
        return undefined;
    }
  }

  /** The key's newest live row, checked against the expected revision (undefined/0: any). */
  private current(key: string, expected: number | undefined): Row {
    const cur = this.st.latest.get(key) as Row | undefined;
    if (!cur || cur.deleted) throw keyNotFound(key);
    if (expected !== undefined && expected !== 0 && cur.id !== expected) throw revisionConflict(key, cur.id, expected);
    return cur;
  }

  private deleteKey(key: string, expected?: number): Row {
    const cur = this.current(key, expected);
    // The tombstone keeps the last value so delete events carry the deleted object.
    return this.append(
      key,
      { create_revision: cur.create_revision, prev_revision: cur.id, deleted: 1, lease: cur.lease, value: cur.value },
      cur,
    );
  }

  private checkLease(lease: number | undefined): number {
    if (!lease) return 0;
    if (!this.st.leaseGet.get(lease)) throw leaseNotFound(lease);
    return lease;
  }

  private append(
    name: string,
    fields: Omit<Row, 'id' | 'name' | 'create_revision'> & { create_revision?: number },
    prev?: Row,
  ): Row {
    const id = ++this.txnRev;
    const row: Row = { ...fields, id, name, create_revision: fields.create_revision ?? id };
    this.st.insert.run(row);
    this.txnRows.push({ row, prev });
    return row;
  }

  /**
   * Drop history at or below target, in small transactions with a turn of the event loop between them (so
   * write batches interleave); the compacted revision advances with each, so an interruption loses nothing.
   */
  async compact(target: number): Promise<void> {
    let from = this.st.compactRev.get() as number;
    if (target <= from) return;
    const batch = this.db.transaction((lo: number, hi: number) => {
      this.st.compactPrev.run(lo, hi);
      this.st.compactTombstones.run(lo, hi);
      this.st.setCompactRev.run(hi);
    });
    while (from < target && !this.closed) {
      const to = Math.min(target, from + this.opts.compactBatch);
      batch.immediate(from, to);
      from = to;
      if (from < target) await new Promise((r) => setImmediate(r));
    }
    if (!this.closed) await this.reclaimSpace();
  }

  /**
   * After a compaction: keep the WAL and the file bounded without long pauses.
   *
   * The WAL is normally kept small by SQLite itself (PASSIVE auto-checkpoints every 1000 pages, and
   * journal_size_limit truncating it when it restarts); only if a reader in another process pinned it and it grew
   * do we force a TRUNCATE checkpoint (busy_timeout 0: never wait for that reader). Free pages left by compaction
   * are reused by the next writes, so giving them back and growing the file again would be churn (measured: 15-100
   * ms pauses per compaction); they are returned only when most of the file is free (the store shrank), in slices.
   */
  private async reclaimSpace(): Promise<void> {
    let wal = 0;
    try {
      wal = fs.statSync(this.opts.file + '-wal').size;
    } catch {
      /* no WAL file */
    }
    if (wal > 2 * WAL_LIMIT_BYTES) {
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
    while (!this.closed) {
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}


// ---- worker protocol ----

export type ToWriter =
  | { type: 'batch'; id: number; ops: WriteOp[] }
  | { type: 'compact'; id: number; target: number }
  | { type: 'close'; id: number };

export type FromWriter =
  | { type: 'ready' }
  | { type: 'failed'; error: WireError }
  | { type: 'batch'; id: number; result: BatchResult }
  | { type: 'done'; id: number; error?: WireError };

/** Marker in workerData that makes this module run as the writer thread. */
export const WRITER_THREAD = 'skiffSqliteWriter';

function runWorker(opts: WriterOptions): void {
  const port = parentPort!;
  let writer: SqliteWriter;
  try {
    writer = new SqliteWriter(opts);
  } catch (e) {
    port.postMessage({ type: 'failed', error: toWire(sqliteError(`Opening ${opts.file}`, e)) } satisfies FromWriter);
    return;
  }
  port.postMessage({ type: 'ready' } satisfies FromWriter);
  port.on('message', (m: ToWriter) => {
    switch (m.type) {
      case 'batch':
        port.postMessage({ type: 'batch', id: m.id, result: writer.runBatch(m.ops) } satisfies FromWriter);
        break;
      case 'compact':
        writer.compact(m.target).then(
          () => port.postMessage({ type: 'done', id: m.id } satisfies FromWriter),
          (e) =>
            port.postMessage({
              type: 'done',
              id: m.id,
              error: toWire(sqliteError(`Compacting ${opts.file}`, e)),
            } satisfies FromWriter),
        );
        break;
      case 'close':
        writer.close();
        port.postMessage({ type: 'done', id: m.id } satisfies FromWriter);
        port.close();
        break;
    }
  });
}

if (!isMainThread && workerData?.[WRITER_THREAD]) runWorker(workerData[WRITER_THREAD] as WriterOptions);
