/**
 * The portforward.k8s.io stream protocol without kubectl: a minimal SPDY client opens error+data stream
 * pairs against servePortForward, which dials a loopback echo server (the "pod").
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { FLAG_FIN } from '../common/spdy/frames';
import { SpdySession } from '../common/spdy/session';
import { TestClient, duplexPair } from '../common/spdy/testing';
import { servePortForward } from './portforward';

let echo: net.Server;
let echoPort = 0;
let closedPort = 0;

before(async () => {
  echo = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as net.AddressInfo).port;
  // A port that was just free: connecting to it is refused.
  const tmp = net.createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', () => r()));
  closedPort = (tmp.address() as net.AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));
});

after(() => echo.close());

function setup() {
  const [srv, cli] = duplexPair();
  const session = new SpdySession(srv);
  servePortForward(session, { name: 'p', namespace: 'ns', uid: 'uid-1', podIP: '127.0.0.1' }, { dial: (port) => net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }) });
  return { session, c: new TestClient(cli) };
}

/** One forwarded connection as client-go does it: error stream, half-closed at once, then data stream. */
function request(c: TestClient, port: number, rid: string, payload: string): { errId: number; dataId: number } {
  const errId = c.open({ streamtype: 'error', port: String(port), requestid: rid });
  c.send({ type: 'data', streamId: errId, flags: FLAG_FIN, data: Buffer.alloc(0) });
  const dataId = c.open({ streamtype: 'data', port: String(port), requestid: rid });
  c.send({ type: 'data', streamId: dataId, flags: 0, data: Buffer.from(payload) });
  c.send({ type: 'data', streamId: dataId, flags: FLAG_FIN, data: Buffer.alloc(0) });
  return { errId, dataId };
}

test('a pair of streams forwards bytes both ways, FIN half-closes, the error stream ends empty', async () => {
  const { c, session } = setup();
  const r = request(c, echoPort, '0', 'hello pod');
  assert.equal(await c.body(r.dataId), 'hello pod');
  assert.equal(await c.body(r.errId), '');
  session.close();
});

test('a refused port writes the upstream-style error on the error stream and the session keeps serving', async () => {
  const { c, session } = setup();
  const bad = request(c, closedPort, '0', 'x');
  assert.match(await c.body(bad.errId), new RegExp(`^error forwarding port ${closedPort} to pod uid-1, uid : dial tcp4 127.0.0.1:${closedPort}: connect: connection refused$`));
  await c.body(bad.dataId);
  const good = request(c, echoPort, '1', 'still here');
  assert.equal(await c.body(good.dataId), 'still here');
  assert.equal(await c.body(good.errId), '');
  session.close();
});

test('invalid port, unknown stream type, and clients without requestID (paired by stream id)', async () => {
  const { c, session } = setup();
  const bad = request(c, 0, '0', '');
  assert.match(await c.body(bad.errId), /invalid port "0"/);
  const odd = c.open({ streamtype: 'weird' });
  await c.waitFor((f) => f.type === 'rst_stream' && f.streamId === odd, 'RST of an unknown stream type');
  // No requestID: the data stream's partner is the error stream opened just before it.
  const errId = c.open({ streamtype: 'error', port: String(echoPort) });
  const dataId = c.open({ streamtype: 'data', port: String(echoPort) });
  c.send({ type: 'data', streamId: dataId, flags: FLAG_FIN, data: Buffer.from('legacy') });
  assert.equal(await c.body(dataId), 'legacy');
  assert.equal(await c.body(errId), '');
  session.close();
});

test('a client reset of the data stream drops the pod connection', async () => {
  const { c, session } = setup();
  const errId = c.open({ streamtype: 'error', port: String(echoPort), requestid: '0' });
  const dataId = c.open({ streamtype: 'data', port: String(echoPort), requestid: '0' });
  c.send({ type: 'data', streamId: dataId, flags: 0, data: Buffer.from('a') });
  await c.waitFor((f) => f.type === 'data' && f.streamId === dataId && f.data.length > 0, 'echo');
  const before = await new Promise<number>((r) => echo.getConnections((_e, n) => r(n)));
  c.send({ type: 'rst_stream', streamId: dataId, status: 5 });
  assert.equal(await c.body(errId), '');
  await new Promise((r) => setTimeout(r, 100));
  const afterCount = await new Promise<number>((r) => echo.getConnections((_e, n) => r(n)));
  assert.ok(afterCount < before, `pod connections ${before} → ${afterCount}`);
  session.close();
});

test('a server bound to 127.0.0.1 only is reached inside the network namespace when the pod IP refuses', { skip: process.getuid?.() !== 0 }, async () => {
  const [srv, cli] = duplexPair();
  const session = new SpdySession(srv);
  // The "pod IP" 127.0.0.2 refuses (the echo server listens on 127.0.0.1 only); our own netns stands in for the pod's.
  servePortForward(session, { name: 'p', namespace: 'ns', uid: 'uid-1', podIP: '127.0.0.2', netnsPid: () => process.pid });
  const c = new TestClient(cli);
  const ok = request(c, echoPort, '0', 'through the netns');
  assert.equal(await c.body(ok.dataId), 'through the netns');
  assert.equal(await c.body(ok.errId), '');
  const bad = request(c, closedPort, '1', 'x');
  assert.equal(await c.body(bad.errId), `error forwarding port ${closedPort} to pod uid-1, uid : dial tcp4 127.0.0.1:${closedPort}: connect: connection refused`);
  session.close();
});
