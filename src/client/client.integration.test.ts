/**
 * The client against a real `skiff server` (child process, temp data dir): typed errors, the four patch
 * types, subresources, paging, and an informer that follows creates, updates and deletes (and keeps its
 * indexes right) through list + watch.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isSkiffError } from '../common/errors';
import { startTestServer, eventually, TestServer } from './testing/server';
import { Informer } from './informer';
import { RESOURCES } from './resources';
import { KObject } from './types';
import { byLabel } from './cache';
import { EventRecorder } from './events';

let cl: TestServer;
before(async () => {
  cl = await startTestServer();
});
after(async () => {
  await cl?.stop();
});

const cm = (name: string, data: Record<string, string>, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data });
const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };

test('CRUD with typed errors', async () => {
  const c = cl.client;
  const created = await c.create(CONFIGMAPS, 'default', cm('a', { k: 'v' }));
  assert.ok(created.metadata.uid);
  await assert.rejects(c.create(CONFIGMAPS, 'default', cm('a', {})), (e) => isSkiffError(e, 'AlreadyExists'));
  await assert.rejects(c.get(CONFIGMAPS, 'default', 'nope'), (e) => isSkiffError(e, 'NotFound'));
  const stale = { ...created, data: { k: 'w' } };
  await c.update(CONFIGMAPS, stale);
  await assert.rejects(c.update(CONFIGMAPS, { ...created, data: { k: 'x' } }), (e) => isSkiffError(e, 'Conflict'));
  await c.delete(CONFIGMAPS, 'default', 'a');
  await assert.rejects(c.get(CONFIGMAPS, 'default', 'a'), (e) => isSkiffError(e, 'NotFound'));
});

test('merge, strategic, json and apply patches', async () => {
  const c = cl.client;
  await c.create(CONFIGMAPS, 'default', cm('p', { a: '1' }));
  let o = await c.patch(CONFIGMAPS, 'default', 'p', { data: { b: '2' } }, 'merge');
  assert.deepEqual(o.data, { a: '1', b: '2' });
  o = await c.patch(CONFIGMAPS, 'default', 'p', { data: { c: '3' } }, 'strategic');
  assert.equal(o.data.c, '3');
  o = await c.patch(CONFIGMAPS, 'default', 'p', [{ op: 'remove', path: '/data/a' }], 'json');
  assert.equal(o.data.a, undefined);
  o = await c.patch(CONFIGMAPS, 'default', 'p', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p' }, data: { d: '4' } }, 'apply', { fieldManager: 'test', force: true });
  assert.equal(o.data.d, '4');
});

test('paged list returns everything with one resourceVersion', async () => {
  const c = cl.client;
  await c.create(RESOURCES.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'paging' } });
  for (let i = 0; i < 7; i++) await c.create(CONFIGMAPS, 'paging', cm(`m${i}`, {}));
  const page = await c.listPage(CONFIGMAPS, { namespace: 'paging', limit: 3 });
  assert.equal(page.items.length, 3);
  assert.ok(page.metadata.continue);
  const all = await c.list(CONFIGMAPS, { namespace: 'paging', limit: 3 } as never);
  assert.ok(all.items.filter((x) => x.metadata.name?.startsWith('m')).length >= 7);
  assert.ok(all.metadata.resourceVersion);
});

test('informer: initial list, then watch adds/updates/deletes with label index', async () => {
  const c = cl.client;
  await c.create(RESOURCES.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'inf' } });
  await c.create(CONFIGMAPS, 'inf', cm('before', {}, { app: 'x' }));
  const inf = new Informer<KObject>(c, CONFIGMAPS, { namespace: 'inf', indexers: { label: byLabel } });
  const seen: string[] = [];
  inf.addEventHandler({
    add: (o) => seen.push(`add ${o.metadata.name}`),
    update: (_old, o) => seen.push(`update ${o.metadata.name}`),
    delete: (o) => seen.push(`delete ${o.metadata.name}`),
  });
  inf.start();
  try {
    await inf.waitForSync();
    assert.deepEqual(seen, ['add before']);
    await c.create(CONFIGMAPS, 'inf', cm('after', {}, { app: 'y' }));
    await c.patch(CONFIGMAPS, 'inf', 'before', { metadata: { labels: { app: 'y' } } }, 'merge');
    await c.delete(CONFIGMAPS, 'inf', 'after');
    await eventually(() => seen.includes('delete after') && seen.includes('update before'), 'watch events');
    assert.deepEqual(seen.filter((s) => s.startsWith('add')), ['add before', 'add after']);
    assert.equal(inf.cache.byIndex('label', 'app=y').length, 1);
    assert.equal(inf.cache.byIndex('label', 'app=x').length, 0);
    assert.equal(inf.cache.getByName('inf', 'after'), undefined);
  } finally {
    inf.stop();
  }
});

test('a watch from a too-old resourceVersion fails with Gone or resumes (never silently loses events)', async () => {
  const c = cl.client;
  try {
    const stream = await c.watch(CONFIGMAPS, { namespace: 'default', resourceVersion: '1', timeoutSeconds: 1 });
    for await (const ev of stream) assert.ok(ev.type);
  } catch (err) {
    assert.ok(isSkiffError(err, 'Gone'), String(err));
  }
});

test('the event recorder aggregates repeats into one Event with a count, like upstream', async () => {
  const c = cl.client;
  const target = await c.create(CONFIGMAPS, 'default', cm('evt', {}));
  const rec = new EventRecorder(c, { component: 'test-controller' });
  target.kind = 'ConfigMap';
  rec.event(target, 'Warning', 'Boom', 'it broke');
  rec.event(target, 'Warning', 'Boom', 'it broke');
  rec.event(target, 'Warning', 'Boom', 'it broke');
  rec.event(target, 'Normal', 'Other', 'fine');
  await rec.flush();
  const evs = (await c.list(RESOURCES.events, { namespace: 'default', fieldSelector: 'involvedObject.name=evt' })).items;
  const boom = evs.filter((e) => e.reason === 'Boom');
  assert.equal(boom.length, 1);
  assert.equal(boom[0].count, 3);
  assert.equal(boom[0].type, 'Warning');
  assert.equal(boom[0].source?.component, 'test-controller');
  assert.equal(boom[0].involvedObject.uid, target.metadata.uid);
  assert.match(boom[0].metadata.name!, /^evt\.[0-9a-f]+$/);
  assert.equal(evs.filter((e) => e.reason === 'Other').length, 1);
});
