/**
 * The client's wire handling against a small in-test HTTP server on a unix socket: versioned paths, JSON and
 * raw error bodies, connect errors, and hijacked connections (101 with bytes in the same packet as the head,
 * stdcopy frames, stdin half-close, the exec-start JSON body). The real engine is exercised in compat.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { PassThrough } from 'node:stream';
import { ConnectError, DaemonError, EngineClient, buildQuery, parseHost } from './client';
import { encodeFrame } from './stdcopy';
import { pumpHijacked } from './streams';

let dir: string;
let server: http.Server;
let client: EngineClient;
const seen: string[] = [];

function upgradeHead(socket: Duplex, extra: Buffer): void {
  socket.write(
    Buffer.concat([
      Buffer.from('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'),
      extra,
    ]),
  );
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-client-'));
  server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === '/v1.50/json-error') {
      res.writeHead(409, { 'Content-Type': 'application/json' });
      return void res.end('{"message":"Conflict. The container name \\"/web\\" is already in use"}');
    }
    if (req.url === '/v1.50/text-error') {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      return void res.end('boom\n');
    }
    if (req.url === '/v1.50/echo') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ body: JSON.parse(body), type: req.headers['content-type'] }));
      });
      return;
    }
    if (req.url === '/v1.50/empty') {
      res.writeHead(204);
      return void res.end();
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"message":"page not found"}');
  });
  server.on('upgrade', (req, socket, head) => {
    seen.push(`UPGRADE ${req.method} ${req.url} ${req.headers.upgrade}`);
    if (req.url?.startsWith('/v1.50/containers/x/attach')) {
      // The first frame rides in the same write as the 101 head.
      upgradeHead(socket, encodeFrame(1, 'hello\n'));
      let input = '';
      socket.on('data', (d: Buffer) => (input += d.toString()));
      socket.on('end', () => {
        socket.write(encodeFrame(2, `got:${input}`));
        socket.end(encodeFrame(1, 'bye\n'));
      });
      return;
    }
    if (req.url === '/v1.50/exec/e1/start') {
      // The JSON body follows the head: some of it may already be in `head`.
      const len = Number(req.headers['content-length']);
      let body = head;
      const done = () => {
        upgradeHead(socket, encodeFrame(1, `body:${body.subarray(0, len).toString()}`));
        socket.end();
      };
      if (body.length >= len) return done();
      socket.on('data', (d: Buffer) => {
        body = Buffer.concat([body, d]);
        if (body.length >= len) done();
      });
      return;
    }
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 34\r\nConnection: close\r\n\r\n{"message":"No such container: y"}');
  });
  await new Promise<void>((r) => server.listen(path.join(dir, 's.sock'), r));
  client = new EngineClient(`unix://${path.join(dir, 's.sock')}`);
});

after(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('hosts and queries', () => {
  assert.deepEqual(parseHost('unix:///run/skiff/docker.sock'), { socketPath: '/run/skiff/docker.sock' });
  assert.deepEqual(parseHost('tcp://127.0.0.1:2375'), { host: '127.0.0.1', port: 2375 });
  assert.deepEqual(parseHost('tcp://[::1]:1'), { host: '::1', port: 1 });
  assert.throws(() => parseHost('ssh://x'), /unable to parse docker host/);
  assert.equal(buildQuery({ a: true, b: false, c: undefined, names: ['x', 'y z'], t: 3 }), '?a=1&b=0&names=x&names=y%20z&t=3');
});

test('JSON requests, versioned paths and docker-format errors', async () => {
  assert.deepEqual(await client.json('POST', '/echo', { body: { Image: 'busybox' } }), { body: { Image: 'busybox' }, type: 'application/json' });
  assert.equal(await client.json('POST', '/empty'), undefined);
  await assert.rejects(client.json('GET', '/json-error'), (e: DaemonError) => e instanceof DaemonError && e.status === 409 && e.message === 'Conflict. The container name "/web" is already in use');
  await assert.rejects(client.json('GET', '/text-error'), (e: DaemonError) => e.status === 500 && e.message === 'boom');
  assert.ok(seen.includes('POST /v1.50/echo'));
  const missing = new EngineClient(`unix://${path.join(dir, 'nope.sock')}`);
  await assert.rejects(missing.json('GET', '/_ping'), (e: Error) => e instanceof ConnectError && /Cannot connect to the skiff engine at unix:\/\/.*nope\.sock/.test(e.message));
  missing.close();
});

test('hijack: 101, head bytes, frames, stdin half-close', async () => {
  const conn = await client.hijack('POST', '/containers/x/attach', { query: { stream: true, stdin: true, stdout: true, stderr: true } });
  assert.equal(conn.contentType, 'application/vnd.docker.multiplexed-stream');
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const pump = pumpHijacked({ socket: conn.socket, head: conn.head, tty: false, stdin, stdout, stderr });
  stdin.end('input-data');
  await pump;
  assert.equal(out, 'hello\nbye\n');
  assert.equal(err, 'got:input-data');
  assert.ok(seen.includes('UPGRADE POST /v1.50/containers/x/attach?stream=1&stdin=1&stdout=1&stderr=1 tcp'));
});

test('hijack: exec start carries its JSON body; non-101 answers are daemon errors', async () => {
  const conn = await client.hijack('POST', '/exec/e1/start', { body: { Detach: false, Tty: false } });
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d) => (out += d));
  await pumpHijacked({ socket: conn.socket, head: conn.head, tty: false, stdin: null, stdout, stderr: new PassThrough() });
  assert.equal(out, 'body:{"Detach":false,"Tty":false}');
  await assert.rejects(client.hijack('POST', '/containers/y/attach'), (e: DaemonError) => e instanceof DaemonError && e.status === 404 && e.message === 'No such container: y');
});
