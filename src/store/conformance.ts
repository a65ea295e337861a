/**
 * The one conformance suite every Store backend must pass (run from sqlite.test.ts and etcd.test.ts).
 *
 * The factory returns a fresh, empty-looking store: backends may share a revision counter with other tests (etcd
 * with a per-test key namespace), so no test assumes absolute revision numbers, only order and equality with
 * what writes returned.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSkiffError } from '../common/errors';
import type { KeyValue, Store, WatchEvent, WatchMessage } from './types';

export interface StoreHandle {
  store: Store;
  /** Called after the test (after store.close()). */
  cleanup?: () => Promise<void>;
}

export type StoreFactory = () => Promise<StoreHandle>;

async function withStore(factory: StoreFactory, fn: (s: Store) => Promise<void>): Promise<void> {
  const h = await factory();
  try {
    await fn(h.store);
  } finally {
    await h.store.close();
    await h.cleanup?.();
  }
}

async function rejectsWith(p: Promise<unknown>, code: string, check?: (e: any) => void): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isSkiffError(e), `expected SkiffError ${code}, got ${String(e)}`);
    assert.equal((e as { code: string }).code, code, String(e));
    check?.(e);
    return true;
  });
}

/** Reads watch messages until `done` says so (or the timeout passes), then stops the watch. */
export async function collectWatch(
  store: Store,
  prefix: string,
  afterRevision: number,
  done: (events: WatchEvent[], progress: number[]) => boolean,
  opts: { timeoutMs?: number; progressIntervalMs?: number; started?: () => void } = {},
): Promise<{ events: WatchEvent[]; progress: number[] }> {
  const ac = new AbortController();
  const events: WatchEvent[] = [];
  const progress: number[] = [];
  const timer = setTimeout(() => ac.abort(), opts.timeoutMs ?? 30_000);
  try {
    const it = store
      .watch(prefix, { afterRevision, signal: ac.signal, progressIntervalMs: opts.progressIntervalMs })
      [Symbol.asyncIterator]();
    // Ask for the first message before reporting "started", so the watch is registered.
    let next: Promise<IteratorResult<WatchMessage>> = it.next();
    opts.started?.();
    for (;;) {
      const r = await next;
      if (r.done) break;
      if (r.value.kind === 'events') events.push(...r.value.events);
      else progress.push(r.value.revision);
      if (done(events, progress)) {
        ac.abort();
        await it.return?.();
        break;
      }
      next = it.next();
    }
  } finally {
    clearTimeout(timer);
  }
  return { events, progress };
}

async function pollUntil(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

export function storeConformance(name: string, factory: StoreFactory): void {
  describe(`Store conformance: ${name}`, () => {
    test('create, get, AlreadyExists, missing keys', () =>
      withStore(factory, async (s) => {
        const before = await s.currentRevision();
        const a = await s.create('/registry/pods/default/a', '{"n":1}');
        assert.equal(a.key, '/registry/pods/default/a');
        assert.equal(a.value, '{"n":1}');
        assert.ok(a.modRevision > before);
        assert.equal(a.createRevision, a.modRevision);
        assert.equal(await s.currentRevision(), a.modRevision);
        assert.deepEqual(await s.get(a.key), a);
        assert.equal(await s.get('/registry/pods/default/missing'), undefined);
        await rejectsWith(s.create(a.key, 'x'), 'AlreadyExists');
        const b = await s.create('/registry/pods/default/b', 'b');
        assert.ok(b.modRevision > a.modRevision);
        // A refused write does not consume a revision.
        assert.equal(await s.currentRevision(), b.modRevision);
      }));

    test('update is compare-and-swap on modRevision', () =>
      withStore(factory, async (s) => {
        const a = await s.create('/k/a', 'v1');
        const a2 = await s.update('/k/a', 'v2', a.modRevision);
        assert.equal(a2.value, 'v2');
        assert.equal(a2.createRevision, a.createRevision);
        assert.ok(a2.modRevision > a.modRevision);
        await rejectsWith(s.update('/k/a', 'v3', a.modRevision), 'Conflict', (e) =>
          assert.equal(e.details?.currentRevision, a2.modRevision),
        );
        assert.equal((await s.get('/k/a'))?.value, 'v2');
        await rejectsWith(s.update('/k/missing', 'x', 1), 'NotFound');
        // Concurrent CAS on one key: exactly one wins.
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => s.update('/k/a', `c${i}`, a2.modRevision)),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) if (r.status === 'rejected') assert.ok(isSkiffError(r.reason, 'Conflict'));
      }));

    test('delete returns the last value at the delete revision; expected revision; recreate', () =>
      withStore(factory, async (s) => {
        const a = await s.create('/k/a', 'v1');
        const a2 = await s.update('/k/a', 'v2', a.modRevision);
        await rejectsWith(s.delete('/k/a', a.modRevision), 'Conflict', (e) =>
          assert.equal(e.details?.currentRevision, a2.modRevision),
        );
        const d = await s.delete('/k/a', a2.modRevision);
        assert.equal(d.key, '/k/a');
        assert.equal(d.value, 'v2');
        assert.equal(d.createRevision, a.createRevision);
        assert.ok(d.modRevision > a2.modRevision);
        assert.equal(await s.currentRevision(), d.modRevision);
        assert.equal(await s.get('/k/a'), undefined);
        await rejectsWith(s.delete('/k/a'), 'NotFound');
        await rejectsWith(s.update('/k/a', 'x', d.modRevision), 'NotFound');
        const again = await s.create('/k/a', 'v3');
        assert.equal(again.createRevision, again.modRevision);
        assert.ok(again.modRevision > d.modRevision);
        const d2 = await s.delete('/k/a');
        assert.equal(d2.value, 'v3');
      }));

    test('get and list at an older revision', () =>
      withStore(factory, async (s) => {
        const a = await s.create('/r/a', '1');
        const b = await s.create('/r/b', '1');
        const rev1 = await s.currentRevision();
        await s.update('/r/a', '2', a.modRevision);
        await s.delete('/r/b');
        await s.create('/r/c', '1');
        assert.equal((await s.get('/r/a', { revision: rev1 }))?.value, '1');
        assert.equal((await s.get('/r/b', { revision: rev1 }))?.value, '1');
        assert.equal(await s.get('/r/c', { revision: rev1 }), undefined);
        assert.equal(await s.get('/r/a', { revision: a.modRevision - 1 }), undefined);
        const old = await s.list('/r/', { revision: rev1 });
        assert.equal(old.revision, rev1);
        assert.deepEqual(
          old.items.map((i) => [i.key, i.value]),
          [
            ['/r/a', '1'],
            ['/r/b', '1'],
          ],
        );
        assert.equal(old.items[1].modRevision, b.modRevision);
        const now = await s.list('/r/');
        assert.equal(now.revision, await s.currentRevision());
        assert.deepEqual(
          now.items.map((i) => [i.key, i.value]),
          [
            ['/r/a', '2'],
            ['/r/c', '1'],
          ],
        );
        assert.equal(now.more, false);
        await rejectsWith(s.get('/r/a', { revision: (await s.currentRevision()) + 1000 }), 'InvalidArgument');
      }));

    test('list: prefix boundaries, paging at a fixed revision, remaining, count', () =>
      withStore(factory, async (s) => {
        for (let i = 0; i < 10; i++) await s.create(`/p/ns/k${i}`, `v${i}`);
        // Neighbours that must not match the prefix "/p/ns/".
        await s.create('/p/ns', 'x');
        await s.create('/p/ns0', 'x');
        await s.create('/p/nt/a', 'x');
        await s.create('/p/nr/a', 'x');
        assert.equal(await s.count('/p/ns/'), 10);
        const all = await s.list('/p/ns/');
        assert.deepEqual(
          all.items.map((i) => i.key),
          Array.from({ length: 10 }, (_, i) => `/p/ns/k${i}`),
        );
        const p1 = await s.list('/p/ns/', { limit: 4 });
        assert.equal(p1.items.length, 4);
        assert.equal(p1.more, true);
        assert.equal(p1.remaining, 6);
        // Writes between pages must not show in later pages.
        const k5 = await s.get('/p/ns/k5');
        await s.update('/p/ns/k5', 'changed', k5!.modRevision);
        await s.delete('/p/ns/k6');
        await s.create('/p/ns/k45', 'new');
        const startKey = p1.items[3].key + '\0';
        const p2 = await s.list('/p/ns/', { limit: 4, startKey, revision: p1.revision });
        assert.equal(p2.revision, p1.revision);
        assert.deepEqual(
          p2.items.map((i) => [i.key, i.value]),
          [
            ['/p/ns/k4', 'v4'],
            ['/p/ns/k5', 'v5'],
            ['/p/ns/k6', 'v6'],
            ['/p/ns/k7', 'v7'],
          ],
        );
        assert.equal(p2.more, true);
        assert.equal(p2.remaining, 2);
        const p3 = await s.list('/p/ns/', { limit: 4, startKey: p2.items[3].key + '\0', revision: p1.revision });
        assert.deepEqual(
          p3.items.map((i) => i.key),
          ['/p/ns/k8', '/p/ns/k9'],
        );
        assert.equal(p3.more, false);
        assert.equal(p3.remaining ?? 0, 0);
        assert.equal(await s.count('/p/ns/'), 10);
        const latest = await s.list('/p/ns/');
        assert.ok(latest.items.some((i) => i.key === '/p/ns/k45'));
        assert.ok(!latest.items.some((i) => i.key === '/p/ns/k6'));
        assert.equal((await s.list('/p/none/')).items.length, 0);
      }));

    test('watch: ordered, gap-free under concurrent writes, with prevKv', () =>
      withStore(factory, async (s) => {
        const start = await s.currentRevision();
        const writers = 20;
        const perWriter = 15;
        const written: number[] = [];
        let started!: () => void;
        const ready = new Promise<void>((r) => (started = r));
        const watching = collectWatch(s, '/w/', start, (evs) => evs.length >= writers * perWriter * 2, {
          started,
        });
        await ready;
        await s.create('/x/outside', 'not watched');
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            for (let i = 0; i < perWriter; i++) {
              const kv = await s.create(`/w/${w}/${i}`, `${i}`);
              written.push(kv.modRevision);
              const up = await s.update(kv.key, `${i}+`, kv.modRevision);
              written.push(up.modRevision);
            }
          }),
        );
        const { events } = await watching;
        const revs = events.map((e) => e.kv.modRevision);
        for (let i = 1; i < revs.length; i++) assert.ok(revs[i] > revs[i - 1], 'events in revision order');
        assert.deepEqual(
          revs,
          [...written].sort((x, y) => x - y),
        );
        for (const e of events) {
          assert.ok(e.kv.key.startsWith('/w/'));
          if (e.type === 'update') {
            assert.equal(e.prevKv?.value, e.kv.value.slice(0, -1));
            assert.equal(e.kv.createRevision, e.prevKv?.modRevision);
          } else assert.equal(e.type, 'create');
        }
      }));

    test('watch from an old revision replays history, then continues live', () =>
      withStore(factory, async (s) => {
        const start = await s.currentRevision();
        const a = await s.create('/h/a', '1');
        const a2 = await s.update('/h/a', '2', a.modRevision);
        const d = await s.delete('/h/a');
        const b = await s.create('/h/b', '1');
        let later: KeyValue | undefined;
        let started!: () => void;
        const ready = new Promise<void>((r) => (started = r));
        const w = collectWatch(s, '/h/', start, (evs) => evs.length >= 5, { started });
        await ready;
        later = await s.update('/h/b', '2', b.modRevision);
        const { events } = await w;
        assert.deepEqual(
          events.map((e) => [e.type, e.kv.key, e.kv.value, e.kv.modRevision]),
          [
            ['create', '/h/a', '1', a.modRevision],
            ['update', '/h/a', '2', a2.modRevision],
            ['delete', '/h/a', '2', d.modRevision],
            ['create', '/h/b', '1', b.modRevision],
            ['update', '/h/b', '2', later.modRevision],
          ],
        );
        assert.equal(events[1].prevKv?.value, '1');
        assert.equal(events[2].prevKv?.value, '2');
        assert.equal(events[2].prevKv?.modRevision, a2.modRevision);
        // From the middle of history.
        const mid = await collectWatch(s, '/h/', a2.modRevision, (evs) => evs.length >= 3);
        assert.deepEqual(
          mid.events.map((e) => e.kv.modRevision),
          [d.modRevision, b.modRevision, later.modRevision],
        );
      }));

    test('compaction keeps current values; older reads and watches are Gone', () =>
      withStore(factory, async (s) => {
        const a = await s.create('/c/a', '1');
        let cur = a;
        for (let i = 2; i <= 20; i++) cur = await s.update('/c/a', String(i), cur.modRevision);
        const b = await s.create('/c/b', 'b');
        await s.delete('/c/b');
        const keep = await s.create('/c/keep', 'k');
        const mid = await s.currentRevision();
        const after = await s.update('/c/keep', 'k2', keep.modRevision);
        await s.compact(mid);
        assert.ok((await s.compactedRevision()) >= mid);
        assert.equal((await s.get('/c/a'))?.value, '20');
        assert.equal((await s.get('/c/a'))?.modRevision, cur.modRevision);
        assert.equal(await s.get('/c/b'), undefined);
        assert.equal((await s.get('/c/keep', { revision: mid }))?.value, 'k');
        assert.deepEqual(
          (await s.list('/c/')).items.map((i) => [i.key, i.value]),
          [
            ['/c/a', '20'],
            ['/c/keep', 'k2'],
          ],
        );
        assert.deepEqual(
          (await s.list('/c/', { revision: mid })).items.map((i) => [i.key, i.value]),
          [
            ['/c/a', '20'],
            ['/c/keep', 'k'],
          ],
        );
        await rejectsWith(s.get('/c/a', { revision: b.modRevision - 1 }), 'Gone', (e) =>
          assert.ok(e.details?.compactRevision >= mid),
        );
        await rejectsWith(s.list('/c/', { revision: a.modRevision }), 'Gone');
        await rejectsWith(
          collectWatch(s, '/c/', a.modRevision, () => true, { timeoutMs: 10_000 }),
          'Gone',
          (e) => assert.ok(e.details?.compactRevision >= mid),
        );
        // Watching from the compacted revision itself still works.
        const w = await collectWatch(s, '/c/', mid, (evs) => evs.length >= 1);
        assert.equal(w.events[0].kv.modRevision, after.modRevision);
        // Compacting to an older revision again is harmless; updates keep working.
        await s.compact(mid - 1).catch(() => undefined);
        await s.update('/c/a', '21', cur.modRevision);
      }));

    test('leases: expiry and revoke delete attached keys with delete events', () =>
      withStore(factory, async (s) => {
        const start = await s.currentRevision();
        const short = await s.grantLease(2);
        const long = await s.grantLease(60);
        await s.create('/l/short', 's', { lease: short });
        const lk = await s.create('/l/long', 'l', { lease: long });
        assert.equal(lk.lease, long);
        await s.create('/l/plain', 'p');
        await rejectsWith(s.create('/l/bad', 'x', { lease: 987654321 }), 'NotFound');
        await s.keepAliveLease(long);
        await pollUntil('the short lease to expire', async () => (await s.get('/l/short')) === undefined);
        assert.ok(await s.get('/l/long'));
        await s.revokeLease(long);
        assert.equal(await s.get('/l/long'), undefined);
        assert.ok(await s.get('/l/plain'));
        await rejectsWith(s.keepAliveLease(long), 'NotFound');
        const { events } = await collectWatch(s, '/l/', start, (evs) => evs.filter((e) => e.type === 'delete').length >= 2);
        const deletes = events.filter((e) => e.type === 'delete').map((e) => [e.kv.key, e.kv.value]);
        assert.deepEqual(deletes, [
          ['/l/short', 's'],
          ['/l/long', 'l'],
        ]);
      }));

    test('watch: progress bookmarks while idle; abort ends the stream', () =>
      withStore(factory, async (s) => {
        await s.create('/b/x', '1');
        const other = await s.create('/elsewhere/y', '1');
        const { progress, events } = await collectWatch(
          s,
          '/b/',
          await s.currentRevision(),
          (_e, p) => p.length >= 2,
          { progressIntervalMs: 200, timeoutMs: 60_000 },
        );
        assert.equal(events.length, 0);
        assert.ok(progress.length >= 2);
        for (const p of progress) assert.ok(p >= other.modRevision, `bookmark ${p} >= ${other.modRevision}`);
        // An aborted watch finishes its iteration.
        const ac = new AbortController();
        const it = s.watch('/b/', { afterRevision: await s.currentRevision(), signal: ac.signal })[Symbol.asyncIterator]();
        const next = it.next();
        setTimeout(() => ac.abort(), 100);
        const r = await next;
        assert.equal(r.done, true);
      }));
  });
}
