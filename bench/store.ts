/**
 * Store benchmark: the embedded SQLite store against etcd (its peer), same workload, same process.
 *
 *   node dist/bench/store.js [--backend sqlite|etcd|both] [--ops 20000] [--clients 50] [--updates 1000000]
 *
 * Phases per backend: creates with N concurrent clients; gets with N concurrent clients; one-at-a-time writes
 * and reads (p99 latency of a single-object write/read); watch delivery latency under concurrent writes;
 * optionally (--updates U) U updates spread over 1,000 objects with compaction on, reporting the file size
 * (SQLite: database + WAL, with a second process reading throughout and counting SQLITE_BUSY errors; etcd: db
 * size after compaction + defrag).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { SqliteStore } from '../src/store/sqlite';
import { EtcdStore } from '../src/store/etcd';
import { startEtcd, type EtcdCluster } from '../src/store/etcd-process';
import type { Store } from '../src/store/types';
import { concurrent, parseFlags, pct, type Phase } from './measure';

interface Args {
  backend: 'sqlite' | 'etcd' | 'both';
  ops: number;
  clients: number;
  updates: number;
  valueBytes: number;
}

function parseArgs(): Args {
  return parseFlags<Args>({ backend: 'both', ops: 20000, clients: 50, updates: 0, valueBytes: 1024 });
}

function value(bytes: number, extra: Record<string, unknown> = {}): string {
  const head = JSON.stringify(extra);
  return JSON.stringify({ ...extra, pad: 'x'.repeat(Math.max(0, bytes - head.length - 10)) });
}

interface Result {
  backend: string;
  creates: Phase;
  gets: Phase;
  serialWrite: Phase;
  serialRead: Phase;
  watch: { p50: number; p99: number; max: number; events: number };
  sustained?: {
    updates: number;
    secs: number;
    sizeBytes: number;
    peakBytes: number;
    detail: string;
  };
}

async function watchLatency(store: Store, clients: number, total: number, bytes: number) {
  const lat: number[] = [];
  const ac = new AbortController();
  const start = await store.currentRevision();
  let received = 0;
  const done = (async () => {
    for await (const m of store.watch('/bench/watch/', { afterRevision: start, signal: ac.signal })) {
      if (m.kind !== 'events') continue;
      const now = performance.now();
      for (const ev of m.events) {
        lat.push(now - (JSON.parse(ev.kv.value) as { t: number }).t);
        received++;
      }
      if (received >= total) break;
    }
  })();
  const revs = new Map<number, number>();
  const objects = 100;
  for (let i = 0; i < objects; i++) {
    revs.set(i, (await store.create(`/bench/watch/${i}`, value(bytes, { t: performance.now() }))).modRevision);
  }
  received = 0;
  lat.length = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        // Each client owns the objects ≡ c (mod clients), so compare-and-swap never conflicts.
        const o = c + clients * (Math.floor(i / clients) % Math.ceil(objects / clients));
        const obj = o < objects ? o : c;
        const kv = await store.update(`/bench/watch/${obj}`, value(bytes, { t: performance.now() }), revs.get(obj)!);
        revs.set(obj, kv.modRevision);
      }
    }),
  );
  await Promise.race([done, new Promise((r) => setTimeout(r, 30_000))]);
  ac.abort();
  lat.sort((x, y) => x - y);
  return { p50: pct(lat, 50), p99: pct(lat, 99), max: lat[lat.length - 1], events: lat.length };
}

async function basic(store: Store, name: string, a: Args): Promise<Result> {
  const v = value(a.valueBytes);
  const creates = await concurrent(a.clients, a.ops, (i) => store.create(`/bench/obj/${i}`, v));
  const gets = await concurrent(a.clients, a.ops, (i) => store.get(`/bench/obj/${(i * 7919) % a.ops}`));
  const serialOps = Math.min(2000, a.ops);
  let rev = (await store.create('/bench/serial', v)).modRevision;
  const serialWrite = await concurrent(1, serialOps, async () => {
    rev = (await store.update('/bench/serial', v, rev)).modRevision;
  });
  const serialRead = await concurrent(1, serialOps, (i) => store.get(`/bench/obj/${i}`));
  const watch = await watchLatency(store, a.clients, Math.min(10000, a.ops), a.valueBytes);
  return { backend: name, creates, gets, serialWrite, serialRead, watch };
}

/** U updates over 1,000 objects by N clients; `tick` runs every 10,000 updates (etcd: compaction). */
async function sustained(
  store: Store,
  a: Args,
  size: () => Promise<number>,
  tick: (rev: number) => Promise<void>,
): Promise<{ secs: number; peak: number }> {
  const objects = 1000;
  const revs: number[] = [];
  const v = value(a.valueBytes);
  for (let i = 0; i < objects; i++) revs.push((await store.create(`/bench/sus/${i}`, v)).modRevision);
  let done = 0;
  let peak = 0;
  let lastTick = 0;
  const t0 = performance.now();
  let ticking: Promise<void> | undefined;
  await Promise.all(
    Array.from({ length: a.clients }, async (_, c) => {
      for (let k = 0; ; k++) {
        if (done >= a.updates) return;
        done++;
        const obj = (c + a.clients * k) % objects;
        // Objects are partitioned among clients (c, c+N, ...), so no CAS conflicts.
        const kv = await store.update(`/bench/sus/${obj}`, v, revs[obj]);
        revs[obj] = kv.modRevision;
        if (done - lastTick >= 10000 && !ticking) {
          lastTick = done;
          ticking = (async () => {
            await tick(kv.modRevision);
            peak = Math.max(peak, await size());
            if (done % 100000 < 10000) {
              const now = await size();
              process.stderr.write(`  ${done} updates, ${((performance.now() - t0) / 1000).toFixed(0)} s, size ${mb(now)}, peak ${mb(peak)}\n`);
            }
          })().finally(() => (ticking = undefined));
        }
      }
    }),
  );
  if (ticking) await ticking;
  return { secs: (performance.now() - t0) / 1000, peak };
}

const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;

/** A second process reading the SQLite file throughout; reports reads done and SQLITE_BUSY errors seen. */
function startReader(file: string): { stop: () => Promise<string> } {
  const script = `
    const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
    const db = new Database(${JSON.stringify(file)}, { readonly: true });
    db.pragma('busy_timeout = 10000');
    const get = db.prepare("SELECT * FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1");
    let reads = 0, busy = 0, other = 0, stop = false;
    process.on('SIGTERM', () => { stop = true; });
    (function loop() {
      for (let i = 0; i < 200; i++) {
        try { get.get('/bench/sus/' + (reads % 1000)); reads++; }
        catch (e) { if (String(e.code).startsWith('SQLITE_BUSY')) busy++; else other++; }
      }
      if (stop) { process.stdout.write(JSON.stringify({ reads, busy, other })); process.exit(0); }
      setTimeout(loop, 5);
    })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    stop: async () => {
      process.removeListener('exit', killOnExit);
      child.kill('SIGTERM');
      await exited;
      return out;
    },
  };
}

/** Teardown steps still to run, also on SIGINT/SIGTERM (so an interrupted run leaves no etcd or temp dir). */
const cleanups = new Set<() => Promise<void>>();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void Promise.all([...cleanups].map((c) => c().catch(() => undefined))).finally(() => process.exit(130));
  });
}

async function withCleanup<T>(setup: () => Promise<{ value: T; cleanup: () => Promise<void> }>, fn: (v: T) => Promise<Result | Result['sustained']>) {
  const { value, cleanup } = await setup();
  cleanups.add(cleanup);
  try {
    return await fn(value);
  } finally {
    cleanups.delete(cleanup);
    await cleanup();
  }
}

async function freshSqlite(): Promise<{ value: SqliteStore; cleanup: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-sqlite-'));
  const store = new SqliteStore({ file: path.join(dir, 'state.db') });
  return {
    value: store,
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freshEtcd(): Promise<{ value: { store: EtcdStore; cluster: EtcdCluster }; cleanup: () => Promise<void> }> {
  const cluster = await startEtcd();
  let store: EtcdStore | undefined;
  const cleanup = async () => {
    await store?.close();
    await cluster.stop();
  };
  try {
    store = await EtcdStore.connect({ hosts: cluster.clientUrls });
  } catch (e) {
    await cleanup();
    throw e;
  }
  return { value: { store, cluster }, cleanup };
}

async function benchSqlite(a: Args): Promise<Result> {
  const r = (await withCleanup(freshSqlite, (store) => basic(store, 'sqlite', a))) as Result;
  if (a.updates > 0) {
    // A fresh file, so the size is that of the 1,000 objects and their retained history only.
    r.sustained = (await withCleanup(freshSqlite, async (store) => {
      const reader = startReader(store.file);
      const size = async () => {
        const s = store.fileSizes();
        return s.db + s.wal;
      };
      const { secs, peak } = await sustained(store, a, size, async () => undefined);
      const readerOut = await reader.stop();
      const final = store.fileSizes();
      return {
        updates: a.updates,
        secs,
        sizeBytes: final.db + final.wal,
        peakBytes: Math.max(peak, final.db + final.wal),
        detail: `db ${mb(final.db)} + WAL ${mb(final.wal)}; compacted to ${await store.compactedRevision()} of ${await store.currentRevision()}; a 2nd process reading throughout: ${readerOut}`,
      };
    })) as Result['sustained'];
  }
  return r;
}

async function benchEtcd(a: Args): Promise<Result> {
  const r = (await withCleanup(freshEtcd, ({ store }) => basic(store, 'etcd', a))) as Result;
  if (a.updates > 0) {
    r.sustained = (await withCleanup(freshEtcd, async ({ store: s, cluster }) => {
      const status = async () => {
        const res = await fetch(`${cluster.clientUrls[0]}/v3/maintenance/status`, { method: 'POST', body: '{}' });
        return (await res.json()) as { dbSize: string };
      };
      // Like the Kubernetes API server's periodic compaction, keeping the last 10,000 revisions.
      const { secs, peak } = await sustained(
        s,
        a,
        async () => Number((await status()).dbSize),
        async (rev) => s.compact(Math.max(1, rev - 10000)),
      );
      const before = Number((await status()).dbSize);
      await s.compact((await s.currentRevision()) - 10000);
      await fetch(`${cluster.clientUrls[0]}/v3/maintenance/defragment`, { method: 'POST', body: '{}' });
      const after = Number((await status()).dbSize);
      return {
        updates: a.updates,
        secs,
        sizeBytes: after,
        peakBytes: Math.max(peak, before),
        detail: `db ${mb(before)} before defrag, ${mb(after)} after compaction + defrag`,
      };
    })) as Result['sustained'];
  }
  return r;
}

function fmt(n: number, d = 1): string {
  return Number.isFinite(n) ? n.toFixed(d) : '-';
}

function report(results: Result[], a: Args): string {
  const cols = results.map((r) => r.backend);
  const row = (label: string, f: (r: Result) => string) => `| ${label} | ${results.map(f).join(' | ')} |`;
  const lines = [
    `| ${a.clients} clients, ${a.valueBytes}-byte values | ${cols.join(' | ')} |`,
    `| --- | ${cols.map(() => '---').join(' | ')} |`,
    row(`creates/s (${a.ops})`, (r) => fmt(r.creates.opsPerSec, 0)),
    row('create latency p50 / p99 ms', (r) => `${fmt(r.creates.p50)} / ${fmt(r.creates.p99)}`),
    row(`gets/s (${a.ops})`, (r) => fmt(r.gets.opsPerSec, 0)),
    row('get latency p50 / p99 ms', (r) => `${fmt(r.gets.p50, 2)} / ${fmt(r.gets.p99, 2)}`),
    row('single write p50 / p99 ms (one at a time)', (r) => `${fmt(r.serialWrite.p50, 2)} / ${fmt(r.serialWrite.p99, 2)}`),
    row('single read p50 / p99 ms (one at a time)', (r) => `${fmt(r.serialRead.p50, 3)} / ${fmt(r.serialRead.p99, 3)}`),
    row('watch delivery p50 / p99 ms (write issued → event)', (r) => `${fmt(r.watch.p50)} / ${fmt(r.watch.p99)}`),
  ];
  if (results.some((r) => r.sustained)) {
    lines.push(
      row(`${a.updates} updates to 1,000 objects: updates/s`, (r) =>
        r.sustained ? fmt(r.sustained.updates / r.sustained.secs, 0) : '-',
      ),
      row('…final store size', (r) => (r.sustained ? mb(r.sustained.sizeBytes) : '-')),
      row('…peak size sampled during the run', (r) => (r.sustained ? mb(r.sustained.peakBytes) : '-')),
    );
    lines.push('', ...results.filter((r) => r.sustained).map((r) => `- ${r.backend}: ${r.sustained!.detail}`));
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const a = parseArgs();
  const results: Result[] = [];
  if (a.backend !== 'etcd') {
    process.stderr.write('sqlite...\n');
    results.push(await benchSqlite(a));
  }
  if (a.backend !== 'sqlite') {
    process.stderr.write('etcd...\n');
    results.push(await benchEtcd(a));
  }
  process.stdout.write(report(results, a) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
