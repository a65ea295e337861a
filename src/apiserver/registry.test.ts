/**
 * The generic REST semantics over the real SQLite store: metadata, CAS, finalizers, paging and continue
 * tokens (410 after compaction), watch from a revision with selector transitions and 410, garbage
 * collection (background, foreground, orphan) and namespace deletion.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../store/sqlite';
import { RESOURCES } from './resources';
import { Registry, type WatchEventOut } from './registry';
import { NamespaceController } from './namespaces';
import { GarbageCollector } from './gc';
import { StatusError } from './status';
import type { KubeObject, ResourceInfo } from './resource';
import { pollUntil } from './testutil';

const res = (plural: string): ResourceInfo => RESOURCES.find((r) => r.plural === plural)!;
const cm = (name: string, labels?: Record<string, string>, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels },
  data: { k: name },
  ...extra,
});

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof StatusError) return e.status.code;
    throw e;
  }
}

describe('registry over SQLite', () => {
  let dir: string;
  let store: SqliteStore;
  let reg: Registry;
  let nsc: NamespaceController;
  let gc: GarbageCollector;
  const CM = res('configmaps');
  const NS = res('namespaces');
  const DEP = res('deployments');
  const RS = res('replicasets');

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-registry-'));
    store = new SqliteStore({ file: path.join(dir, 'state.db'), retainRevisions: 0 });
    reg = new Registry(store, RESOURCES);
    nsc = new NamespaceController(reg);
    await nsc.start();
    gc = new GarbageCollector(reg, { debounceMs: 20 });
    gc.start();
  });
  after(async () => {
    gc.stop();
    nsc.stop();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fills system metadata, bumps generation on spec change only, rejects stale updates', async () => {
    const created = await reg.create(DEP, 'default', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'gen' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
    });
    const m = created.metadata!;
    assert.match(m.uid!, /^[0-9a-f-]{36}$/);
    assert.match(m.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(m.generation, 1);
    const rv1 = m.resourceVersion!;
    const labelled = await reg.update(DEP, 'default', 'gen', { ...created, metadata: { ...m, labels: { x: 'y' } } });
    assert.equal(labelled.metadata!.generation, 1);
    const scaled = await reg.update(DEP, 'default', 'gen', { ...labelled, spec: { ...(labelled.spec as object), replicas: 5 } });
    assert.equal(scaled.metadata!.generation, 2);
    assert.equal(scaled.metadata!.uid, m.uid);
    // Stale resourceVersion → 409, store unchanged.
    assert.equal(await statusOf(reg.update(DEP, 'default', 'gen', { ...created, metadata: { ...m, resourceVersion: rv1 } })), 409);
    assert.equal((await reg.get(DEP, 'default', 'gen')).metadata!.resourceVersion, scaled.metadata!.resourceVersion);
    // Status writes through the main resource are ignored; through /status they keep the spec.
    const withStatus = await reg.guaranteedUpdate(DEP, 'default', 'gen', (o) => ((o.status = { replicas: 9 }), (o.spec = {}), o), { subresource: 'status' });
    assert.deepEqual(withStatus.status, { replicas: 9 });
    assert.equal((withStatus.spec as { replicas: number }).replicas, 5);
    const mainWrite = await reg.update(DEP, 'default', 'gen', { ...withStatus, status: { replicas: 1 } });
    assert.deepEqual(mainWrite.status, { replicas: 9 });
  });

  it('generateName, AlreadyExists, invalid names, unknown namespace', async () => {
    const g = await reg.create(CM, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } });
    assert.match(g.metadata!.name!, /^gen-[a-z0-9]{5}$/);
    await reg.create(CM, 'default', cm('dup'));
    assert.equal(await statusOf(reg.create(CM, 'default', cm('dup'))), 409);
    assert.equal(await statusOf(reg.create(CM, 'default', cm('Bad_Name'))), 422);
    assert.equal(await statusOf(reg.create(CM, 'nowhere', cm('x'))), 404);
  });

  it('pages with limit/continue and answers 410 once the token revision is compacted', async () => {
    await reg.create(NS, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'paging' } });
    for (let i = 0; i < 7; i++) await reg.create(CM, 'paging', cm(`p${i}`, { idx: String(i % 2) }));
    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await reg.list(CM, 'paging', { limit: 3, continue: cont });
      names.push(...page.items.map((o) => o.metadata!.name!));
      cont = page.continue;
      if (cont) assert.ok(page.remainingItemCount! > 0);
      pages++;
    } while (cont);
    assert.equal(pages, 3);
    assert.deepEqual(names, ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    const odd = await reg.list(CM, 'paging', { limit: 2, labelSelector: 'idx=1' });
    assert.deepEqual(odd.items.map((o) => o.metadata!.name), ['p1', 'p3']);
    const rest = await reg.list(CM, 'paging', { limit: 2, labelSelector: 'idx=1', continue: odd.continue });
    assert.deepEqual(rest.items.map((o) => o.metadata!.name), ['p5']);
    assert.equal(rest.continue, undefined);
    // resourceVersionMatch=Exact reads the past; a future resourceVersion is refused.
    const at = await reg.list(CM, 'paging', {});
    await reg.create(CM, 'paging', cm('later'));
    const past = await reg.list(CM, 'paging', { resourceVersion: at.resourceVersion, resourceVersionMatch: 'Exact' });
    assert.equal(past.items.length, 7);
    assert.equal(past.resourceVersion, at.resourceVersion);
    assert.equal((await reg.list(CM, 'paging', { resourceVersion: at.resourceVersion })).items.length, 8);
    assert.equal(await statusOf(reg.list(CM, 'paging', { resourceVersion: String(Number(at.resourceVersion) + 1000) })), 504);
    const first = await reg.list(CM, 'paging', { limit: 2 });
    await reg.update(CM, 'paging', 'p6', { ...cm('p6'), data: { k: 'changed' } });
    await store.compact(await store.currentRevision());
    assert.equal(await statusOf(reg.list(CM, 'paging', { limit: 2, continue: first.continue })), 410);
  });

  it('watches from a revision with selector transitions, and 410 ERROR after compaction', async () => {
    await reg.create(NS, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'watching' } });
    const start = (await reg.list(CM, 'watching')).resourceVersion;
    const ac = new AbortController();
    const events: WatchEventOut[] = [];
    const done = (async () => {
      for await (const ev of reg.watch(CM, 'watching', { resourceVersion: start, labelSelector: 'sel=yes', signal: ac.signal })) events.push(ev);
    })();
    await reg.create(CM, 'watching', cm('w1', { sel: 'yes' }));
    await reg.create(CM, 'watching', cm('w2', { sel: 'no' }));
    await reg.update(CM, 'watching', 'w2', cm('w2', { sel: 'yes' }));
    await reg.update(CM, 'watching', 'w1', cm('w1', { sel: 'no' }));
    await reg.delete(CM, 'watching', 'w2');
    await pollUntil(async () => events.length >= 4, 'watch events');
    ac.abort();
    await done;
    assert.deepEqual(
      events.map((e) => `${e.type} ${(e.object as KubeObject).metadata!.name}`),
      ['ADDED w1', 'ADDED w2', 'DELETED w1', 'DELETED w2'],
    );
    // Each event carries its own revision; the sequence is increasing.
    const rvs = events.map((e) => Number((e.object as KubeObject).metadata!.resourceVersion));
    assert.deepEqual([...rvs].sort((a, b) => a - b), rvs);

    await store.compact(await store.currentRevision());
    const gone: WatchEventOut[] = [];
    for await (const ev of reg.watch(CM, 'watching', { resourceVersion: start })) {
      gone.push(ev);
      break;
    }
    assert.equal(gone[0].type, 'ERROR');
    assert.equal((gone[0].object as { code: number }).code, 410);
  });

  it('live watchers of one prefix share one decoded object per event (parsed once), with the right types', async () => {
    await reg.create(NS, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fanout' } });
    const start = (await reg.list(CM, 'fanout')).resourceVersion;
    const ac = new AbortController();
    const seen: WatchEventOut[][] = [[], [], []];
    const opts = [{}, {}, { labelSelector: 'sel=yes' }];
    const done = opts.map((o, i) =>
      (async () => {
        for await (const ev of reg.watch(CM, 'fanout', { resourceVersion: start, signal: ac.signal, ...o })) seen[i].push(ev);
      })(),
    );
    // Let the three join the live fan-out before writing (history replays are per watcher).
    await new Promise((r) => setTimeout(r, 100));
    await reg.create(CM, 'fanout', cm('a', { sel: 'no' }));
    await reg.update(CM, 'fanout', 'a', cm('a', { sel: 'yes' }));
    await pollUntil(async () => seen[0].length >= 2 && seen[1].length >= 2 && seen[2].length >= 1, 'watch events');
    ac.abort();
    await Promise.all(done);
    assert.deepEqual(seen.map((evs) => evs.map((e) => e.type)), [['ADDED', 'MODIFIED'], ['ADDED', 'MODIFIED'], ['ADDED']]);
    assert.equal(seen[0][1].object, seen[1][1].object, 'one object for both unfiltered watchers');
    assert.equal(seen[2][0].object, seen[0][1].object, 'the filtered one (entering the selection: ADDED) shares it too');
    assert.equal((seen[0][1].object as KubeObject).metadata!.labels!.sel, 'yes');
  });

  it('finalizers: delete marks, removing the last finalizer deletes', async () => {
    await reg.create(CM, 'default', cm('fin', undefined, { metadata: { name: 'fin', finalizers: ['example.com/x'] } }));
    const r = await reg.delete(CM, 'default', 'fin');
    assert.equal(r.deleted, false);
    assert.ok(r.object.metadata!.deletionTimestamp);
    assert.equal(await statusOf(reg.guaranteedUpdate(CM, 'default', 'fin', (o) => ((o.metadata!.finalizers = ['a', 'b']), o))), 422);
    await reg.guaranteedUpdate(CM, 'default', 'fin', (o) => ((o.metadata!.finalizers = []), o));
    assert.equal(await reg.tryGet(CM, 'default', 'fin'), undefined);
  });

  it('graceful deletion: marks with a grace period, a second delete with 0 removes', async () => {
    const graceful = RESOURCES.map((r) => (r.plural === 'configmaps' ? { ...r, gracefulDeletion: () => 30 } : r));
    const greg = new Registry(store, graceful);
    const GCM = graceful.find((r) => r.plural === 'configmaps')!;
    await greg.create(GCM, 'default', cm('slow'));
    const first = await greg.delete(GCM, 'default', 'slow');
    assert.equal(first.deleted, false);
    assert.equal(first.object.metadata!.deletionGracePeriodSeconds, 30);
    assert.ok(Date.parse(first.object.metadata!.deletionTimestamp!) > Date.now() + 20_000);
    // Other writes (the agent's status updates) do not delete it.
    await greg.guaranteedUpdate(GCM, 'default', 'slow', (o) => ((o.data = { k: 'stopping' }), o));
    assert.ok(await greg.tryGet(GCM, 'default', 'slow'));
    const shorter = await greg.delete(GCM, 'default', 'slow', { gracePeriodSeconds: 5 });
    assert.equal(shorter.object.metadata!.deletionGracePeriodSeconds, 5);
    const last = await greg.delete(GCM, 'default', 'slow', { gracePeriodSeconds: 0 });
    assert.equal(last.deleted, true);
    assert.equal(await greg.tryGet(GCM, 'default', 'slow'), undefined);
  });

  it('expires objects with a TTL through shared store leases', async () => {
    const ttl = RESOURCES.map((r) => (r.plural === 'configmaps' ? { ...r, ttlSeconds: 1 } : r));
    const treg = new Registry(store, ttl, undefined, { leaseWindowMs: 1000 });
    const TCM = ttl.find((r) => r.plural === 'configmaps')!;
    await treg.create(TCM, 'default', cm('short-lived-1'));
    await treg.create(TCM, 'default', cm('short-lived-2'));
    const a = await store.get(treg.key(TCM, 'default', 'short-lived-1'));
    const b = await store.get(treg.key(TCM, 'default', 'short-lived-2'));
    assert.ok(a!.lease && a!.lease === b!.lease, 'one lease for writes in the same window');
    // Objects without a TTL keep no lease across updates.
    await reg.update(CM, 'default', 'dup', cm('dup'));
    assert.ok(!(await store.get(reg.key(CM, 'default', 'dup')))!.lease);
    await pollUntil(async () => !(await treg.tryGet(TCM, 'default', 'short-lived-1')), 'TTL expiry', 20_000);
  });

  const owned = (name: string, owner: KubeObject): KubeObject =>
    cm(name, undefined, {
      metadata: {
        name,
        ownerReferences: [{ apiVersion: owner.apiVersion!, kind: owner.kind!, name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
      },
    });

  it('garbage-collects dependents in the background, in the foreground, and orphans them', async () => {
    const ownerCm = await reg.create(CM, 'default', cm('owner-bg'));
    await reg.create(CM, 'default', owned('dep-bg', ownerCm));
    await reg.delete(CM, 'default', 'owner-bg', { propagationPolicy: 'Background' });
    await pollUntil(async () => !(await reg.tryGet(CM, 'default', 'dep-bg')), 'background dependent collected');

    const fg = await reg.create(CM, 'default', cm('owner-fg'));
    const mid = await reg.create(CM, 'default', owned('dep-fg', fg));
    await reg.create(CM, 'default', owned('dep-fg-2', mid));
    const marked = await reg.delete(CM, 'default', 'owner-fg', { propagationPolicy: 'Foreground' });
    assert.equal(marked.deleted, false);
    assert.ok(marked.object.metadata!.finalizers!.includes('foregroundDeletion'));
    await pollUntil(async () => !(await reg.tryGet(CM, 'default', 'owner-fg')), 'foreground owner gone after its dependents');
    assert.equal(await reg.tryGet(CM, 'default', 'dep-fg'), undefined);
    assert.equal(await reg.tryGet(CM, 'default', 'dep-fg-2'), undefined);

    const or = await reg.create(CM, 'default', cm('owner-or'));
    await reg.create(CM, 'default', owned('dep-or', or));
    await reg.delete(CM, 'default', 'owner-or', { propagationPolicy: 'Orphan' });
    await pollUntil(async () => !(await reg.tryGet(CM, 'default', 'owner-or')), 'orphaning owner gone');
    const orphan = await reg.get(CM, 'default', 'dep-or');
    assert.equal(orphan.metadata!.ownerReferences, undefined);

    // Cross-kind: a ReplicaSet owned by a Deployment goes with it.
    const d = await reg.create(DEP, 'default', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'gc-dep' },
      spec: { selector: { matchLabels: { a: 'gc' } }, template: { metadata: { labels: { a: 'gc' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
    });
    await reg.create(RS, 'default', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'gc-dep-1', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'gc-dep', uid: d.metadata!.uid!, controller: true }] },
      spec: { selector: { matchLabels: { a: 'gc' } }, template: { metadata: { labels: { a: 'gc' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
    });
    await reg.delete(DEP, 'default', 'gc-dep');
    await pollUntil(async () => !(await reg.tryGet(RS, 'default', 'gc-dep-1')), 'replicaset collected');
  });

  it('deletes a namespace: Terminating, emptied, then gone; no creates meanwhile', async () => {
    await reg.create(NS, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await pollUntil(async () => reg.tryGet(res('serviceaccounts'), 'doomed', 'default'), 'default serviceaccount');
    await reg.create(CM, 'doomed', cm('held', undefined, { metadata: { name: 'held', finalizers: ['example.com/hold'] } }));
    await reg.create(CM, 'doomed', cm('plain'));
    const marked = await reg.delete(NS, '', 'doomed');
    assert.equal(marked.deleted, false);
    assert.equal((marked.object.status as { phase: string }).phase, 'Terminating');
    assert.equal(await statusOf(reg.create(CM, 'doomed', cm('late'))), 403);
    await pollUntil(async () => !(await reg.tryGet(CM, 'doomed', 'plain')), 'namespace contents deleted');
    assert.ok(await reg.tryGet(NS, '', 'doomed'), 'namespace waits for finalizers of its contents');
    await reg.guaranteedUpdate(CM, 'doomed', 'held', (o) => ((o.metadata!.finalizers = []), o));
    await pollUntil(async () => !(await reg.tryGet(NS, '', 'doomed')), 'namespace removed');
  });
});
