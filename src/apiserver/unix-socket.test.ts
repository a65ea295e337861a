/**
 * The API server's unix socket for in-process clients: plain HTTP, owner-only file, the bearer token still
 * required; KubeClient with socketPath does requests and watches over it; close() removes the file.
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

  it('serves KubeClient requests and watches over plain HTTP', async () => {
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
  });

  it('removes the socket file on close', async () => {
    await server.close();
    assert.equal(fs.existsSync(sock), false);
    server = undefined as unknown as RunningApiServer;
  });
});
