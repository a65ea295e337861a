/**
 * The embedded DNS server for user-defined networks. One UDP socket per network, bound to the network's
 * gateway address port 53 (containers get it as their nameserver). Names skiff knows (container names,
 * aliases, short ids on the networks the asking container shares) are answered here; everything else is
 * relayed unchanged to upstream resolvers (the host's, or the container's --dns).
 */
import * as dgram from 'node:dgram';
import {
  buildResponse,
  parseQuery,
  RCODE_FORMERR,
  RCODE_NOERROR,
  RCODE_SERVFAIL,
  TYPE_A,
  TYPE_AAAA,
  type Query,
} from './packet';

export interface NameSource {
  /** IPv4 addresses for name as seen by the client at clientIp on network; undefined when skiff does not own the name. */
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
  private sockets = new Map<string, dgram.Socket>();
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
    return this.sockets.has(networkId);
  }

  async listen(networkId: string, address: string): Promise<void> {
    if (this.sockets.has(networkId)) return;
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.port, address, () => {
        sock.removeListener('error', reject);
        resolve();
      });
    });
    sock.on('error', () => undefined);
    sock.on('message', (msg, rinfo) => {
      this.handle(sock, networkId, msg, rinfo).catch(() => undefined);
    });
    sock.unref();
    this.sockets.set(networkId, sock);
  }

  close(networkId: string): void {
    this.sockets.get(networkId)?.close();
    this.sockets.delete(networkId);
  }

  closeAll(): void {
    for (const id of [...this.sockets.keys()]) this.close(id);
  }

  private async handle(sock: dgram.Socket, networkId: string, msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    let q: Query;
    try {
      q = parseQuery(msg);
    } catch {
      if (msg.length >= 12) {
        sock.send(buildResponse({ id: msg.readUInt16BE(0), flags: 0, questions: [] }, RCODE_FORMERR, []), rinfo.port, rinfo.address);
      }
      return;
    }
    const question = q.questions[0];
    if (question && (question.type === TYPE_A || question.type === TYPE_AAAA)) {
      const addrs = this.names.lookup(networkId, rinfo.address, question.name.replace(/\.$/, '').toLowerCase());
      if (addrs) {
        // Known name: A answers; AAAA gets an empty NOERROR so resolvers fall back to A without a lookup abroad.
        const answers = question.type === TYPE_A ? addrs.map((address) => ({ address, ttl: this.ttl })) : [];
        sock.send(buildResponse(q, RCODE_NOERROR, answers), rinfo.port, rinfo.address);
        return;
      }
    }
    const reply = await this.forward(msg, this.names.upstreams(networkId, rinfo.address));
    sock.send(reply ?? buildResponse(q, RCODE_SERVFAIL, []), rinfo.port, rinfo.address);
  }

  private async forward(msg: Buffer, upstreams: string[]): Promise<Buffer | undefined> {
    for (const up of upstreams) {
      const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(up);
      if (!m) continue; // IPv6 upstreams are not supported by this forwarder
      const reply = await queryOnce(msg, m[1], m[2] ? Number(m[2]) : 53, this.timeout);
      if (reply) return reply;
    }
    return undefined;
  }
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
