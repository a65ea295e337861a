/**
 * SQLite-specific behaviour beyond the conformance suite: the file stays bounded under sustained writes with
 * automatic compaction, a second connection (as another process would) reads and watches without SQLITE_BUSY,
 * and state survives reopening.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isSkiffError } from '../common/errors';
import { collectWatch } from './conformance';
import { SqliteStore } from './sqlite';

function tempFile(): { file: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-sqlite-'));
  return { file: path.join(dir, 'state.db'), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

async function pollUntil(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('automatic compaction keeps the file bounded under sustained updates', async () => {
  const { file, cleanup } = tempFile();
  const store = new SqliteStore({ file, retainRevisions: 500, compactEveryWrites: 500, compactIntervalMs: 1000 });
  try {
    const value = 'v'.repeat(2000);
    const revs: number[] = [];
    for (let i = 0; i < 100; i++) revs.push((await store.create(`/s/${i}`, value)).modRevision);
    // 20,000 updates x 2 KB would be ~40 MB of history without compaction.
    for (let round = 0; round < 200; round++) {
      await Promise.all(
        revs.map(async (rev, i) => {
          revs[i] = (await store.update(`/s/${i}`, value, rev)).modRevision;
        }),
      );
    }
    const current = await store.currentRevision();
    await pollUntil('automatic compaction to catch up', async () => (await store.compactedRevision()) >= current - 1000);
    const { db, wal } = store.fileSizes();
    assert.ok(db + wal < 12 * 1048576, `db ${db} + wal ${wal} bytes stays bounded`);
    assert.equal(await store.count('/s/'), 100);
    for (let i = 0; i < 100; i++) assert.equal((await store.get(`/s/${i}`))?.modRevision, revs[i]);
  } finally {
    await store.close();
    cleanup();
  }
});

test('a second, read-only connection reads and watches while the writer writes', async () => {
  const { file, cleanup } = tempFile();
  const writer = new SqliteStore({ file });
  const reader = new SqliteStore({ file, readOnly: true, pollIntervalMs: 50 });
  try {
    const start = await writer.currentRevision();
    let started!: () => void;
    const ready = new Promise<void>((r) => (started = r));
    const watching = collectWatch(reader, '/ro/', start, (evs) => evs.length >= 500, { started, timeoutMs: 60_000 });
    await ready;
    const reads: Promise<unknown>[] = [];
    const written: number[] = [];
    for (let i = 0; i < 50; i++) {
      const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => writer.create(`/ro/${i}/${j}`, 'x')));
      written.push(...batch.map((kv) => kv.modRevision));
      reads.push(reader.get(`/ro/${i}/0`), reader.list('/ro/'));
    }
    await Promise.all(reads); // no SQLITE_BUSY
    const { events } = await watching;
    assert.deepEqual(
      events.map((e) => e.kv.modRevision),
      written,
    );
    assert.equal(await reader.count('/ro/'), 500);
    await assert.rejects(reader.create('/ro/x', 'y'), (e) => isSkiffError(e, 'Unavailable'));
  } finally {
    await reader.close();
    await writer.close();
    cleanup();
  }
});

test('state survives reopening: values, revisions, compaction point, leases', async () => {
  const { file, cleanup } = tempFile();
  try {
    let s = new SqliteStore({ file });
    const a = await s.create('/re/a', '1');
    const a2 = await s.update('/re/a', '2', a.modRevision);
    const lease = await s.grantLease(3600);
    await s.create('/re/leased', 'l', { lease });
    await s.compact(a2.modRevision);
    const rev = await s.currentRevision();
    await s.close();
    s = new SqliteStore({ file });
    try {
      assert.equal(await s.currentRevision(), rev);
      assert.equal(await s.compactedRevision(), a2.modRevision);
      assert.equal((await s.get('/re/a'))?.value, '2');
      assert.equal((await s.get('/re/leased'))?.lease, lease);
      await s.keepAliveLease(lease);
      const b = await s.create('/re/b', 'b');
      assert.equal(b.modRevision, rev + 1);
      await s.revokeLease(lease);
      assert.equal(await s.get('/re/leased'), undefined);
    } finally {
      await s.close();
    }
  } finally {
    cleanup();
  }
});

test('a watcher that falls far behind catches up from the table without gaps', async () => {
  const { file, cleanup } = tempFile();
  // No automatic compaction: it would (rightly) make a watcher this far behind Gone.
  const store = new SqliteStore({ file, retainRevisions: 0 });
  const ac = new AbortController();
  try {
    const start = await store.currentRevision();
    const it = store.watch('/slow/', { afterRevision: start, signal: ac.signal })[Symbol.asyncIterator]();
    const first = it.next(); // registers the watcher, then nobody reads for a while
    const written: number[] = [];
    for (let round = 0; round < 250; round++) {
      const batch = await Promise.all(Array.from({ length: 100 }, (_, j) => store.create(`/slow/${round}/${j}`, 'x')));
      written.push(...batch.map((kv) => kv.modRevision));
    }
    const seen: number[] = [];
    let r = await first;
    while (!r.done) {
      if (r.value.kind === 'events') seen.push(...r.value.events.map((e) => e.kv.modRevision));
      if (seen.length >= written.length) break;
      r = await it.next();
    }
    assert.deepEqual(seen, written);
  } finally {
    ac.abort();
    await store.close();
    cleanup();
  }
});

test('space is handed back when the store shrinks', async () => {
  const { file, cleanup } = tempFile();
  const store = new SqliteStore({ file, retainRevisions: 0 });
  try {
    const value = 'v'.repeat(2000);
    for (let round = 0; round < 50; round++) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => store.create(`/big/${round}/${j}`, value)));
    }
    const size = () => store.fileSizes().db + store.fileSizes().wal;
    const grown = size();
    assert.ok(grown > 8 * 1048576, `grew to ${grown}`);
    for (let round = 0; round < 50; round++) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => store.delete(`/big/${round}/${j}`)));
    }
    await store.compact(await store.currentRevision());
    const shrunk = store.fileSizes().db;
    assert.ok(shrunk < grown / 2, `shrank from ${grown} to ${shrunk} (+ WAL ${store.fileSizes().wal})`);
    assert.equal(await store.count('/big/'), 0);
  } finally {
    await store.close();
    cleanup();
  }
});

test('two writers on one file (as two processes would): revisions interleave, watches see both gap-free', async () => {
  const { file, cleanup } = tempFile();
  const a = new SqliteStore({ file, pollIntervalMs: 50 });
  const b = new SqliteStore({ file, pollIntervalMs: 50 });
  try {
    const start = await a.currentRevision();
    let started!: () => void;
    const ready = new Promise<void>((r) => (started = r));
    const total = 400;
    const watching = collectWatch(a, '/two/', start, (evs) => evs.length >= total, { started, timeoutMs: 60_000 });
    await ready;
    const written: number[] = [];
    await Promise.all(
      [a, b].map(async (s, w) => {
        for (let i = 0; i < total / 20; i++) {
          const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => s.create(`/two/${w}/${i}/${j}`, 'x')));
          written.push(...batch.map((kv) => kv.modRevision));
        }
      }),
    );
    // Compare-and-swap holds across the two writers.
    const k = await a.create('/two/cas', '0');
    const results = await Promise.allSettled([a.update(k.key, 'a', k.modRevision), b.update(k.key, 'b', k.modRevision)]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const { events } = await watching;
    const revs = events.map((e) => e.kv.modRevision).slice(0, total);
    assert.deepEqual(
      revs,
      [...written].sort((x, y) => x - y),
    );
    assert.equal(new Set(written).size, total);
  } finally {
    await a.close();
    await b.close();
    cleanup();
  }
});
