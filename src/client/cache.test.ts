import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectCache, byOwnerUid, byLabel } from './cache';
import { KObject } from './types';

const obj = (ns: string, name: string, rv: string, extra: Partial<KObject['metadata']> = {}): KObject => ({
  metadata: { namespace: ns, name, resourceVersion: rv, ...extra },
});

test('indexes by namespace, owner uid and label, and keeps them current on update/remove', () => {
  const c = new ObjectCache({ owner: byOwnerUid, label: byLabel });
  c.upsert(obj('a', 'p1', '1', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true }], labels: { app: 'web' } }));
  c.upsert(obj('a', 'p2', '2', { labels: { app: 'db' } }));
  c.upsert(obj('b', 'p1', '3', { labels: { app: 'web' } }));
  assert.deepEqual(c.byIndex('namespace', 'a').map((o) => o.metadata.name).sort(), ['p1', 'p2']);
  assert.equal(c.byIndex('owner', 'u1').length, 1);
  assert.equal(c.byIndex('label', 'app=web').length, 2);
  // orphaned by an update: leaves the owner index
  c.upsert(obj('a', 'p1', '4', { labels: { app: 'db' } }));
  assert.equal(c.byIndex('owner', 'u1').length, 0);
  assert.equal(c.byIndex('label', 'app=web').length, 1);
  c.remove(obj('b', 'p1', '5'));
  assert.equal(c.byIndex('label', 'app=web').length, 0);
  assert.equal(c.getByName('a', 'p2')?.metadata.resourceVersion, '2');
});

test('replace() reports adds, updates (by resourceVersion) and deletes like a watch would', () => {
  const c = new ObjectCache();
  c.replace([obj('a', 'x', '1'), obj('a', 'y', '1'), obj('a', 'z', '1')]);
  const changes = c.replace([obj('a', 'x', '1'), obj('a', 'y', '2'), obj('a', 'w', '1')]);
  const summary = changes.map((ch) => `${ch.type}:${ch.obj.metadata.name}`).sort();
  assert.deepEqual(summary, ['add:w', 'delete:z', 'update:y']);
  assert.equal(c.size(), 3);
});
