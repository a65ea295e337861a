/**
 * The Docker Engine API edge: an HTTP server on a unix socket (and optionally TCP on loopback) that
 * routes requests to handlers registered by the route modules. No business logic lives here.
 */
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { Router, splitVersion } from './router';
import { dockerError, sendError, sendJson } from './http';

export interface ApiServerOptions {
  socketPath: string;
  /** Extra TCP listener, e.g. "127.0.0.1:2375" (never a public address by default). */
  tcp?: string;
}

export class DockerApiServer {
  private readonly servers: http.Server[] = [];

  constructor(private readonly router: Router) {}

  async listen(opts: ApiServerOptions): Promise<void> {
    fs.mkdirSync(path.dirname(opts.socketPath), { recursive: true });
    fs.rmSync(opts.socketPath, { force: true }); // a stale socket from a killed engine
    const unix = this.createServer();
    await new Promise<void>((resolve, reject) => {
      unix.once('error', reject);
      unix.listen(opts.socketPath, () => resolve());
    });
    fs.chmodSync(opts.socketPath, 0o660);
    this.servers.push(unix);
    if (opts.tcp) {
      const [host, port] = opts.tcp.split(':');
      const tcp = this.createServer();
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(Number(port), host, () => resolve());
      });
      this.servers.push(tcp);
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  private createServer(): http.Server {
    const server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => void this.onRequest(req, res));
    server.on('upgrade', (req, socket, head) => void this.onUpgrade(req, socket, head));
    // Long-lived streams (logs -f, events, wait) must not be cut by Node's request timeouts.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    return server;
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://docker');
    const { apiVersion, path: p } = splitVersion(url.pathname);
    const match = this.router.match(req.method ?? 'GET', p);
    try {
      if (match === undefined) return sendJson(res, 404, { message: `page not found` });
      if (match === 'method-not-allowed') return sendJson(res, 405, { message: `method not allowed` });
      await match.handler({ req, res, params: match.params, query: url.searchParams, apiVersion });
    } catch (err) {
      if (!res.writableEnded) sendError(res, err);
      else if (process.env.SKIFF_DEBUG) process.stderr.write(`engine api: ${String(err)}\n`);
    }
  }

  private async onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://docker');
    const { apiVersion, path: p } = splitVersion(url.pathname);
    const match = this.router.matchHijack(req.method ?? 'GET', p);
    socket.on('error', () => socket.destroy());
    if (!match) {
      writeRawError(socket, 404, 'page not found');
      return;
    }
    try {
      await match.handler({ req, socket, head, params: match.params, query: url.searchParams, apiVersion });
    } catch (err) {
      const { status, message } = dockerError(err);
      if (!socket.destroyed) writeRawError(socket, status, message);
    }
  }
}

/** An HTTP error written by hand on a socket that has not been upgraded yet. */
export function writeRawError(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Completes a hijack: the 101 reply the docker CLI expects before raw stream bytes. */
export function writeUpgraded(socket: Duplex, tty: boolean): void {
  const type = tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
}

/** Docker's stdcopy frame: [stream, 0, 0, 0, uint32 BE length] + payload. stream 0 stdin, 1 stdout, 2 stderr, 3 system. */
export function frame(stream: 0 | 1 | 2 | 3, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}
