import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { EmbeddedDns } from './server';
import { buildQuery, buildResponse, parseAnswersA, parseQuery, TYPE_AAAA } from './packet';

/** A fake upstream on loopback answering every name with 192.0.2.77 over UDP and TCP. */
function upstreamAnswer(msg: Buffer): Buffer {
  return buildResponse(parseQuery(msg), 0, [{ address: '192.0.2.77', ttl: 5 }]);
}

function udpAsk(port: number, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => (s.close(), reject(new Error('timeout'))), 5000);
    s.on('message', (m) => (clearTimeout(t), s.close(), resolve(m)));
    s.send(msg, port, '127.0.0.1');
  });
}

function tcpAsk(port: number, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
    s.on('error', reject);
    s.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      // Split the frame in two writes: the server must reassemble.
      s.write(Buffer.concat([len, msg.subarray(0, 3)]));
      setTimeout(() => s.write(msg.subarray(3)), 20);
    });
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        s.end();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
  });
}

describe('EmbeddedDns', () => {
  let upUdp: dgram.Socket;
  let upTcp: net.Server;
  let upPort = 0;
  let dns: EmbeddedDns;
  let port = 0;

  before(async () => {
    // Same port number for the fake upstream's UDP and TCP.
    upTcp = net.createServer((c) => {
      let b = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        b = Buffer.concat([b, d]);
        if (b.length >= 2 + b.readUInt16BE(0)) {
          const r = upstreamAnswer(b.subarray(2, 2 + b.readUInt16BE(0)));
          const len = Buffer.alloc(2);
          len.writeUInt16BE(r.length);
          c.end(Buffer.concat([len, r]));
        }
      });
    });
    await new Promise<void>((r) => upTcp.listen(0, '127.0.0.1', () => r()));
    upPort = (upTcp.address() as net.AddressInfo).port;
    upUdp = dgram.createSocket('udp4');
    upUdp.on('message', (m, r) => upUdp.send(upstreamAnswer(m), r.port, r.address));
    await new Promise<void>((r) => upUdp.bind(upPort, '127.0.0.1', () => r()));

    for (let attempt = 0; ; attempt++) {
      port = 20000 + Math.floor(Math.random() * 20000);
      dns = new EmbeddedDns(
        {
          lookup: (net, client, name) =>
            name === 'web' ? ['10.0.0.2'] : name === 'multi' ? ['10.0.0.3', '10.0.1.3'] : name.endsWith('.cluster.local') ? [] : undefined,
          upstreams: () => ['127.0.0.1:1', `127.0.0.1:${upPort}`], // the first one is dead: the next is tried
        },
        { port, upstreamTimeoutMs: 500 },
      );
      try {
        await dns.listen('n1', '127.0.0.1');
        break;
      } catch (err) {
        if (attempt > 10) throw err;
      }
    }
  });

  after(() => {
    dns?.closeAll();
    upUdp?.close();
    upTcp?.close();
  });

  it('answers known names over UDP, AAAA empty', async () => {
    assert.deepEqual(parseAnswersA(await udpAsk(port, buildQuery(1, 'WEB.'))), { rcode: 0, addresses: ['10.0.0.2'] });
    assert.deepEqual(parseAnswersA(await udpAsk(port, buildQuery(2, 'multi'))).addresses, ['10.0.0.3', '10.0.1.3']);
    assert.deepEqual(parseAnswersA(await udpAsk(port, buildQuery(3, 'web', TYPE_AAAA))), { rcode: 0, addresses: [] });
  });

  it('answers NXDOMAIN for names it owns that do not exist (never forwarded)', async () => {
    assert.deepEqual(parseAnswersA(await udpAsk(port, buildQuery(9, 'nope.default.svc.cluster.local'))), { rcode: 3, addresses: [] });
  });

  it('forwards other names upstream, skipping a dead upstream', async () => {
    const r = await udpAsk(port, buildQuery(0x4242, 'elsewhere.example'));
    assert.equal(r.readUInt16BE(0), 0x4242);
    assert.deepEqual(parseAnswersA(r).addresses, ['192.0.2.77']);
  });

  it('serves TCP, locally and forwarded', async () => {
    assert.deepEqual(parseAnswersA(await tcpAsk(port, buildQuery(5, 'web'))).addresses, ['10.0.0.2']);
    assert.deepEqual(parseAnswersA(await tcpAsk(port, buildQuery(6, 'elsewhere.example'))).addresses, ['192.0.2.77']);
  });
});
