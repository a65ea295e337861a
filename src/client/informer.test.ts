/**
 * The informer's recovery paths against a scripted HTTP server (no cluster needed): a watch that ends is
 * resumed from the last resourceVersion; a 410 Gone (compacted) leads to a relist whose differences reach the
 * handlers as adds, updates and deletes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { KubeClient } from './client';
import { Informer } from './informer';
import { KObject } from './types';

const CM = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
const obj = (name: string, rv: string): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv } });

test('watch end → resume from last RV; 410 Gone → relist with a diff', async () => {
  const requests: string[] = [];
  let lists = 0;
  let watches = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push(`${url.searchParams.get('watch') ? 'watch' : 'list'} rv=${url.searchParams.get('resourceVersion') ?? ''}`);
    res.setHeader('Content-Type', 'application/json');
    if (!url.searchParams.get('watch')) {
      lists++;
      const items = lists === 1 ? [obj('a', '5'), obj('b', '5')] : [obj('a', '9'), obj('c', '9')];
      res.end(JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: lists === 1 ? '5' : '9' }, items }));
      return;
    }
    watches++;
    if (watches === 1) {
      // one event, then the server ends the stream (like a watch timeout)
      res.end(JSON.stringify({ type: 'ADDED', object: obj('x', '6') }) + '\n');
    } else if (watches === 2) {
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version' } }) + '\n');
    } else {
      res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: 'ConfigMap', metadata: { resourceVersion: '10' } } }) + '\n');
      // keep open until the client goes away
      req.on('close', () => res.end());
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new KubeClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  const inf = new Informer<KObject>(client, CM, { namespace: 'ns' });
  const seen: string[] = [];
  inf.addEventHandler({
    add: (o) => seen.push(`add ${o.metadata.name}`),
    update: (_o, n) => seen.push(`update ${n.metadata.name}`),
    delete: (o) => seen.push(`delete ${o.metadata.name}`),
  });
  inf.start();
  try {
    const deadline = Date.now() + 10_000;
    while (watches < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(requests.slice(0, 5), ['list rv=', 'watch rv=5', 'watch rv=6', 'list rv=', 'watch rv=9']);
    assert.deepEqual(seen, ['add a', 'add b', 'add x', 'update a', 'add c', 'delete b', 'delete x']);
    assert.deepEqual(inf.cache.keys().sort(), ['ns/a', 'ns/c']);
  } finally {
    inf.stop();
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
