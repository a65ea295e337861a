import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { SPDY3_DICTIONARY } from './dictionary';
import { FLAG_FIN, FrameDecoder, FrameEncoder, decodeHeaderBlock, encodeHeaderBlock, type Frame } from './frames';
import { SpdySession, type SpdyStream } from './session';
import { TestClient, duplexPair } from './testing';

test('the SPDY/3 dictionary is byte-exact (length and digest of the spec constant)', () => {
  assert.equal(SPDY3_DICTIONARY.length, 1423);
  assert.equal(crypto.createHash('sha256').update(SPDY3_DICTIONARY).digest('hex'), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
});

test('header blocks: lower-case names, NUL-joined values, exact length', () => {
  const b = encodeHeaderBlock({ StreamType: ['data'], port: ['80'], multi: ['a', 'b'] });
  assert.deepEqual(decodeHeaderBlock(b), { streamtype: ['data'], port: ['80'], multi: ['a', 'b'] });
  assert.throws(() => decodeHeaderBlock(Buffer.concat([b, Buffer.from([0])])), /trailing/);
  assert.throws(() => decodeHeaderBlock(b.subarray(0, b.length - 1)), /truncated/);
});

test('every frame type survives encode → decode, split at every byte boundary, with one zlib context per direction', () => {
  const frames: Frame[] = [
    { type: 'syn_stream', streamId: 1, associatedTo: 0, priority: 3, flags: 0, headers: { streamtype: ['error'], port: ['80'], requestid: ['0'] } },
    { type: 'syn_stream', streamId: 3, associatedTo: 0, priority: 0, flags: 0, headers: { streamtype: ['data'], port: ['80'], requestid: ['0'] } },
    { type: 'syn_reply', streamId: 1, flags: 0, headers: {} },
    { type: 'headers', streamId: 3, flags: FLAG_FIN, headers: { x: ['y'] } },
    { type: 'data', streamId: 3, flags: 0, data: Buffer.from('GET / HTTP/1.0\r\n\r\n') },
    { type: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.alloc(0) },
    { type: 'rst_stream', streamId: 3, status: 5 },
    { type: 'settings', flags: 0, entries: [{ flags: 1, id: 7, value: 65536 }] },
    { type: 'ping', id: 1 },
    { type: 'goaway', lastGoodStreamId: 3, status: 0 },
    { type: 'window_update', streamId: 1, delta: 1024 },
  ];
  const enc = new FrameEncoder();
  const wire = Buffer.concat(frames.map((f) => enc.encode(f)));
  // The compressed header blocks start with a zlib header naming a preset dictionary (FDICT).
  assert.equal(wire[18 + 0] & 0x20, 0x20);
  for (const step of [1, 7, wire.length]) {
    const dec = new FrameDecoder();
    const got: Frame[] = [];
    for (let i = 0; i < wire.length; i += step) got.push(...dec.push(wire.subarray(i, i + step)));
    assert.deepEqual(got, frames);
  }
});

test('garbage in a header block is a protocol error', () => {
  const enc = new FrameEncoder();
  const good = enc.encode({ type: 'syn_stream', streamId: 1, associatedTo: 0, priority: 0, flags: 0, headers: { a: ['b'] } });
  const bad = Buffer.from(good);
  bad.fill(0x55, 18);
  assert.throws(() => new FrameDecoder().push(bad), /spdy:/);
});

test('session: streams are replied to, carry data both ways, half-close with FIN, reset with RST; pings are echoed', async () => {
  const [srvSide, cliSide] = duplexPair();
  const session = new SpdySession(srvSide);
  const streams: SpdyStream[] = [];
  session.on('stream', (s: SpdyStream) => {
    streams.push(s);
    // Echo server with a prefix; FIN after the peer's FIN.
    s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('echo:'), d])));
    s.on('end', () => s.end());
  });
  const c = new TestClient(cliSide);
  const id = c.open({ streamtype: 'data', port: '80' });
  await c.waitFor((f) => f.type === 'syn_reply' && f.streamId === id, 'SYN_REPLY');
  assert.equal(streams[0].header('streamType'), 'data');
  c.send({ type: 'data', streamId: id, flags: 0, data: Buffer.from('hello') });
  c.send({ type: 'data', streamId: id, flags: FLAG_FIN, data: Buffer.alloc(0) });
  assert.equal(await c.body(id), 'echo:hello');
  assert.equal(session.streamCount, 0);

  c.send({ type: 'ping', id: 7 });
  await c.waitFor((f) => f.type === 'ping' && f.id === 7, 'ping echo');

  const id2 = c.open({ streamtype: 'data' });
  await c.waitFor((f) => f.type === 'syn_reply' && f.streamId === id2, 'second SYN_REPLY');
  let closed = false;
  streams[1].on('close', () => (closed = true));
  c.send({ type: 'rst_stream', streamId: id2, status: 5 });
  await c.waitFor(() => closed, 'stream closed by RST').catch(() => undefined);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(closed, true);
  assert.equal(streams[1].resetByPeer, true);

  // Our own reset goes out as RST_STREAM.
  const id3 = c.open({ streamtype: 'data' });
  await c.waitFor((f) => f.type === 'syn_reply' && f.streamId === id3, 'third SYN_REPLY');
  streams[2].reset();
  await c.waitFor((f) => f.type === 'rst_stream' && f.streamId === id3, 'RST from server');

  let sessionClosed = false;
  session.on('close', () => (sessionClosed = true));
  session.close();
  await c.waitFor((f) => f.type === 'goaway', 'GOAWAY');
  assert.equal(sessionClosed, true);
});

test('session: a malformed frame gets GOAWAY PROTOCOL_ERROR and the connection is dropped', async () => {
  const [srvSide, cliSide] = duplexPair();
  const errors: string[] = [];
  const session = new SpdySession(srvSide, { onError: (e) => errors.push(e.message) });
  const closed = new Promise<void>((r) => session.on('close', () => r()));
  const c = new TestClient(cliSide);
  // Version 2 control frame.
  cliSide.write(Buffer.from([0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]));
  await closed;
  await c.waitFor((f) => f.type === 'goaway' && f.status === 1, 'GOAWAY PROTOCOL_ERROR').catch(() => undefined);
  assert.match(errors[0], /unsupported version 2/);
});
