/**
 * The embedded DNS server for user-defined networks: UDP and TCP on each network's gateway address, port 53
 * (containers get it as their nameserver). Names skiff knows (container names,
 * aliases, short ids on the networks the asking container shares) are answered here; everything else is
 * relayed unchanged to upstream resolvers (the host's, or the container's --dns).
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import {
  buildResponse,
  parseQuery,
  RCODE_FORMERR,
  RCODE_NOERROR,
  RCODE_NXDOMAIN,
  RCODE_SERVFAIL,
  TYPE_A,
  TYPE_AAAA,
  type Query,
} from './packet';

export interface NameSource {
  /**
   * IPv4 addresses for name as seen by the client at clientIp on network; [] for a name skiff owns that does not
   * exist (NXDOMAIN, not forwarded); undefined when skiff does not own the name (forwarded upstream).
   */
  lookup(networkId: string, clientIp: string, name: string): string[] | undefined;
  /** Upstream resolvers ("ip" or "ip:port") for this client. */
  upstreams(networkId: string, clientIp: string): string[];
}

export interface DnsOptions {
  port?: number;
  /** Per-upstream wait before trying the next. */
  upstreamTimeoutMs?: number;
  ttl?: number;
}

export class EmbeddedDns {
  private listeners = new Map<string, { udp: dgram.Socket; tcp: net.Server }>();
  private readonly port: number;
  private readonly timeout: number;
  private readonly ttl: number;

  constructor(
    private readonly names: NameSource,
    opts: DnsOptions = {},
  ) {
    this.port = opts.port ?? 53;
    this.timeout = opts.upstreamTimeoutMs ?? 2000;
    this.ttl = opts.ttl ?? 600;
  }

  isListening(networkId: string): boolean {
    return this.listeners.has(networkId);
  }

  /** UDP and TCP (resolvers retry over TCP when an answer comes back truncated) on address:port. */
  async listen(networkId: string, address: string): Promise<void> {
    if (this.listeners.has(networkId)) return;
    const udp = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.port, address, () => {
        udp.removeListener('error', reject);
        resolve();
      });
    });
    udp.on('error', () => undefined);
    udp.on('message', (msg, rinfo) => {
      this.answer(networkId, rinfo.address, msg, false)
        .then((reply) => reply && udp.send(reply, rinfo.port, rinfo.address))
        .catch(() => undefined);
    });
    udp.unref();
    const tcp = net.createServer((conn) => this.serveTcp(networkId, conn));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(this.port, address, () => {
          tcp.removeListener('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    tcp.on('error', () => undefined);
    tcp.unref();
    this.listeners.set(networkId, { udp, tcp });
  }

  close(networkId: string): void {
    const l = this.listeners.get(networkId);
    if (!l) return;
    l.udp.close();
    l.tcp.close();
    this.listeners.delete(networkId);
  }

  closeAll(): void {
    for (const id of [...this.listeners.keys()]) this.close(id);
  }

  /** DNS over TCP: messages framed by a 2-byte length (RFC 1035 4.2.2). */
  private serveTcp(networkId: string, conn: net.Socket): void {
    let buf = Buffer.alloc(0);
    conn.setTimeout(10_000, () => conn.destroy());
    conn.on('error', () => undefined);
    conn.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        this.answer(networkId, conn.remoteAddress?.replace(/^::ffff:/, '') ?? '', msg, true)
          .then((reply) => {
            if (!reply || conn.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(reply.length);
            conn.write(Buffer.concat([len, reply]));
          })
          .catch(() => undefined);
      }
    });
  }

  private async answer(networkId: string, clientIp: string, msg: Buffer, overTcp: boolean): Promise<Buffer | undefined> {
    let q: Query;
    try {
      q = parseQuery(msg);
    } catch {
      return msg.length >= 12 ? buildResponse({ id: msg.readUInt16BE(0), flags: 0, questions: [] }, RCODE_FORMERR, []) : undefined;
    }
    const question = q.questions[0];
    if (question && (question.type === TYPE_A || question.type === TYPE_AAAA)) {
      const addrs = this.names.lookup(networkId, clientIp, question.name.replace(/\.$/, '').toLowerCase());
      if (addrs && addrs.length === 0) return buildResponse(q, RCODE_NXDOMAIN, []); // ours, and it does not exist
      if (addrs) {
        // Known name: A answers; AAAA gets an empty NOERROR so resolvers fall back to A without a lookup abroad.
        const answers = question.type === TYPE_A ? addrs.map((address) => ({ address, ttl: this.ttl })) : [];
        return buildResponse(q, RCODE_NOERROR, answers);
      }
    }
    const reply = await this.forward(msg, this.names.upstreams(networkId, clientIp), overTcp);
    return reply ?? buildResponse(q, RCODE_SERVFAIL, []);
  }

  private async forward(msg: Buffer, upstreams: string[], overTcp: boolean): Promise<Buffer | undefined> {
    for (const up of upstreams) {
      const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(up);
      if (!m) continue; // IPv6 upstreams are not supported by this forwarder
      const port = m[2] ? Number(m[2]) : 53;
      const reply = overTcp ? await queryTcp(msg, m[1], port, this.timeout) : await queryOnce(msg, m[1], port, this.timeout);
      if (reply) return reply;
    }
    return undefined;
  }
}

function queryTcp(msg: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const done = (v: Buffer | undefined) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(undefined));
    s.on('error', () => done(undefined));
    s.on('close', () => done(undefined));
    s.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      s.write(Buffer.concat([len, msg]));
    });
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
  });
}

function queryOnce(msg: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (v: Buffer | undefined) => {
      clearTimeout(timer);
      try {
        s.close();
      } catch {
        /* already closed */
      }
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    s.on('error', () => done(undefined));
    s.on('message', (reply) => {
      if (reply.length >= 2 && reply.readUInt16BE(0) === msg.readUInt16BE(0)) done(reply);
    });
    s.send(msg, port, host);
  });
}
