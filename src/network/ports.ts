/**
 * Host ports for published container ports. The DNAT itself is CNI portmap's job; this file makes sure the
 * port is really ours first and keeps it ours: skiff binds a socket on the host port and holds it for as long
 * as the mapping lives (like Docker's port reservation). Inbound packets are DNAT'ed before they could reach
 * that socket, so it never sees traffic; its only job is to make another process's bind fail instead of
 * being silently shadowed, and to make a second container's bind of the same port fail with Docker's message.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { SkiffError } from '../common/errors';
import type { PortBinding, PortProtocol } from './types';

function key(p: { hostIp: string; hostPort: number; protocol: PortProtocol }): string {
  return `${p.protocol}/${normHostIp(p.hostIp)}:${p.hostPort}`;
}

export function normHostIp(ip: string): string {
  return ip === '' || ip === '::' ? '0.0.0.0' : ip;
}

export function allocatedError(p: { hostIp: string; hostPort: number }, why?: string): SkiffError {
  return new SkiffError(
    'Conflict',
    `Bind for ${normHostIp(p.hostIp)}:${p.hostPort} failed: port is already allocated${why ? ` (${why})` : ''}`,
  );
}

type Holder = { close(): void };

export class PortReservations {
  private held = new Map<string, { owner: string; holder: Holder }>();

  /**
   * Binds every binding's host port (picking ephemeral ones for hostPort 0) for owner. All or nothing: on
   * any failure every port taken by this call is released and a Conflict is thrown.
   */
  async reserve(owner: string, bindings: PortBinding[]): Promise<PortBinding[]> {
    const taken: PortBinding[] = [];
    try {
      for (const b of bindings) {
        const resolved = await this.reserveOne(owner, b);
        taken.push(resolved);
      }
      return taken;
    } catch (err) {
      for (const t of taken) this.releaseOne(t);
      throw err;
    }
  }

  /** Re-takes ports of an existing mapping (after an engine restart); conflicts are reported, not fatal. */
  async readopt(owner: string, bindings: PortBinding[]): Promise<string[]> {
    const problems: string[] = [];
    for (const b of bindings) {
      try {
        await this.reserveOne(owner, b);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    return problems;
  }

  release(owner: string): void {
    for (const [k, v] of this.held) {
      if (v.owner === owner) {
        v.holder.close();
        this.held.delete(k);
      }
    }
  }

  ownerOf(p: { hostIp: string; hostPort: number; protocol: PortProtocol }): string | undefined {
    return this.held.get(key(p))?.owner ?? this.held.get(key({ ...p, hostIp: '0.0.0.0' }))?.owner;
  }

  closeAll(): void {
    for (const v of this.held.values()) v.holder.close();
    this.held.clear();
  }

  private releaseOne(p: PortBinding): void {
    const k = key(p);
    this.held.get(k)?.holder.close();
    this.held.delete(k);
  }

  private async reserveOne(owner: string, b: PortBinding): Promise<PortBinding> {
    if (b.protocol === 'sctp') throw new SkiffError('InvalidArgument', 'publishing sctp ports is not supported');
    const hostIp = normHostIp(b.hostIp);
    if (b.hostPort !== 0) {
      // Same port on a specific address and on 0.0.0.0 collide, as they would for a real bind.
      for (const [k, v] of this.held) {
        const [proto, addr] = k.split('/');
        const [ip, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
        if (proto === b.protocol && port === b.hostPort && (ip === hostIp || ip === '0.0.0.0' || hostIp === '0.0.0.0')) {
          if (v.owner === owner && ip === hostIp) return { ...b, hostIp: b.hostIp };
          throw allocatedError({ hostIp, hostPort: b.hostPort });
        }
      }
    }
    let holder: Holder;
    let port: number;
    try {
      ({ holder, port } = await bindHost(b.protocol, hostIp, b.hostPort));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES') throw allocatedError({ hostIp, hostPort: b.hostPort }, code);
      if (code === 'EADDRNOTAVAIL') {
        throw new SkiffError('InvalidArgument', `Bind for ${hostIp}:${b.hostPort} failed: address ${hostIp} is not on this host`);
      }
      throw err;
    }
    const resolved = { ...b, hostPort: port };
    this.held.set(key(resolved), { owner, holder });
    return resolved;
  }
}

function bindHost(protocol: PortProtocol, host: string, port: number): Promise<{ holder: Holder; port: number }> {
  return new Promise((resolve, reject) => {
    if (protocol === 'udp') {
      const s = dgram.createSocket({ type: 'udp4', reuseAddr: false });
      s.once('error', reject);
      s.bind({ address: host, port, exclusive: true }, () => {
        s.removeListener('error', reject);
        s.on('error', () => undefined);
        s.unref();
        resolve({ holder: { close: () => s.close() }, port: s.address().port });
      });
    } else {
      const srv = net.createServer((sock) => sock.destroy());
      srv.once('error', reject);
      srv.listen({ host, port, exclusive: true, backlog: 1 }, () => {
        srv.removeListener('error', reject);
        srv.unref();
        resolve({ holder: { close: () => srv.close() }, port: (srv.address() as net.AddressInfo).port });
      });
    }
  });
}
