/**
 * The API server's unix socket for in-process clients: plain HTTP, owner-only file, the bearer token still
 * required; KubeClient with socketPath does requests and watches over it; close() removes the file.
 * A KubeClient in the server's own process skips the socket (src/common/loopback.ts) with the same answers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../store/sqlite';
import { KubeClient } from '../client/client';
import { RESOURCES as CLIENT_RESOURCES } from '../client/resources';
import { RESOURCES } from './resources';
import { startApiServer, type RunningApiServer } from './server';
import { loopbackFor } from '../common/loopback';

const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };

/** Runs fn with in-process loopback off (SKIFF_API_LOOPBACK=0), so the client really dials the socket. */
async function overSocket<T>(fn: () => Promise<T>): Promise<T> {
  const was = process.env.SKIFF_API_LOOPBACK;
  process.env.SKIFF_API_LOOPBACK = '0';
  try {
    return await fn();
  } finally {
    if (was === undefined) delete process.env.SKIFF_API_LOOPBACK;
    else process.env.SKIFF_API_LOOPBACK = was;
  }
}

describe('API server on a unix socket', () => {
  let dir: string;
  let store: SqliteStore;
  let server: RunningApiServer;
  let sock: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-apisock-'));
    sock = path.join(dir, 'run', 'apiserver.sock');
    store = new SqliteStore({ file: path.join(dir, 'state.db') });
    server = await startApiServer({ store, resources: RESOURCES, tokens: () => ['secret-token'], unixSocket: sock });
  });
  after(async () => {
    await server?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is owner-only and still asks for the token', async () => {
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ socketPath: sock, path: '/api/v1/namespaces' }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject);
    });
    assert.equal(status, 401);
  });

  it('serves KubeClient requests and watches over plain HTTP', () =>
    overSocket(async () => {
    // The URL is never dialled when socketPath is set (nothing listens on port 1).
    const client = new KubeClient({ server: 'https://127.0.0.1:1', token: 'secret-token', socketPath: sock });
    try {
      const list = await client.list(CLIENT_RESOURCES.services, { namespace: 'default' });
      const ac = new AbortController();
      const stream = await client.watch(CLIENT_RESOURCES.services, { namespace: 'default', resourceVersion: list.metadata.resourceVersion, signal: ac.signal });
      await client.create(CLIENT_RESOURCES.services, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'over-socket' }, spec: { ports: [{ port: 80 }] } });
      for await (const ev of stream) {
        if (ev.type === 'BOOKMARK') continue;
        assert.equal(ev.type, 'ADDED');
        assert.equal(ev.object.metadata.name, 'over-socket');
        break;
      }
      ac.abort();
      const got = await client.get(CLIENT_RESOURCES.services, 'default', 'over-socket');
      assert.equal((got as { spec?: { ports?: Array<{ port: number }> } }).spec?.ports?.[0]?.port, 80);
    } finally {
      client.close();
    }
    }));

  it('answers clients in its own process without the socket, with the same results', async () => {
    assert.ok(loopbackFor(sock), 'the server registered its listener for the socket path');
    // A socket path nothing listens on: only the in-process listener can answer.
    const bad = new KubeClient({ server: 'https://127.0.0.1:1', token: 'wrong-token', socketPath: sock });
    const client = new KubeClient({ server: 'https://127.0.0.1:1', token: 'secret-token', socketPath: sock });
    try {
      await assert.rejects(bad.list(CLIENT_RESOURCES.services, { namespace: 'default' }), (e: Error & { code?: string }) => e.code === 'Unauthorized');
      const list = await client.list(CONFIGMAPS, { namespace: 'default' });
      const ac = new AbortController();
      const stream = await client.watch(CONFIGMAPS, { namespace: 'default', resourceVersion: list.metadata.resourceVersion, signal: ac.signal });
      const created = await client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'loop' }, data: { a: '1' } });
      assert.equal(created.metadata.name, 'loop');
      await assert.rejects(
        client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'loop' } }),
        (e: Error & { code?: string }) => e.code === 'AlreadyExists',
      );
      await assert.rejects(client.get(CONFIGMAPS, 'default', 'nope'), (e: Error & { code?: string }) => e.code === 'NotFound');
      const patched = await client.patch(CONFIGMAPS, 'default', 'loop', { data: { a: '2' } }, 'merge');
      assert.equal((patched as { data?: Record<string, string> }).data?.a, '2');
      const seen: string[] = [];
      for await (const ev of stream) {
        if (ev.type === 'BOOKMARK') continue;
        seen.push(`${ev.type} ${(ev.object as { data?: Record<string, string> }).data?.a}`);
        if (seen.length === 2) break;
      }
      assert.deepEqual(seen, ['ADDED 1', 'MODIFIED 2']);
      // An aborted watch ends its stream.
      const ac2 = new AbortController();
      const s2 = await client.watch(CONFIGMAPS, { namespace: 'default', signal: ac2.signal });
      const it2 = s2[Symbol.asyncIterator]();
      assert.equal((await it2.next()).value?.type, 'ADDED'); // the initial state of "loop"
      const pending = it2.next();
      ac2.abort();
      assert.equal((await pending).done, true);
      ac.abort();
      await client.delete(CONFIGMAPS, 'default', 'loop');
      await assert.rejects(client.get(CONFIGMAPS, 'default', 'loop'), (e: Error & { code?: string }) => e.code === 'NotFound');
    } finally {
      client.close();
      bad.close();
    }
  });

  it('removes the socket file on close, and ends in-process watches as it ends connections', async () => {
    const client = new KubeClient({ server: 'https://127.0.0.1:1', token: 'secret-token', socketPath: sock });
    const stream = await client.watch(CONFIGMAPS, { namespace: 'default' });
    const ended = (async () => {
      try {
        for await (const _ of stream) {
          /* until the server goes */
        }
        return 'ended';
      } catch (e) {
        return (e as Error & { code?: string }).code;
      }
    })();
    await server.close();
    assert.ok(['ended', 'Unavailable'].includes(String(await ended)));
    client.close();
    assert.equal(fs.existsSync(sock), false);
    assert.equal(loopbackFor(sock), undefined);
    server = undefined as unknown as RunningApiServer;
  });
});
