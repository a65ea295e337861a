/**
 * Composition of the control plane's API side: registry over the store, HTTP(S) listeners, the namespace
 * controller and the garbage collector. `skiff server` (src/cmd/server.ts) and tests start it from here.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Store } from '../store/types';
import type { ResourceInfo } from './resource';
import { Registry } from './registry';
import { ApiHandler, type OpenApiProvider } from './handler';
import type { Patcher } from './patching';
import { fallbackPatcher } from './patching';
import type { NodeConnector } from './node-connector';
import { NamespaceController } from './namespaces';
import { GarbageCollector } from './gc';
import { registerLoopback, unregisterLoopback } from '../common/loopback';

export interface ApiServerOptions {
  store: Store;
  resources: ResourceInfo[];
  patcher?: Patcher;
  openapi?: OpenApiProvider;
  nodeConnector?: NodeConnector;
  tokens: () => Iterable<string>;
  /** HTTPS listener (cert + key PEM); omitted = none. */
  tls?: { cert: string; key: string; port: number; host?: string };
  /** Plain HTTP listener, loopback only. */
  insecurePort?: number;
  /**
   * Plain HTTP on a unix socket (mode 0600, bearer token still required) for the in-process clients of
   * `skiff server` (scheduler, controllers, agent, proxy): no TLS on every request and watch byte.
   */
  unixSocket?: string;
  bookmarkIntervalMs?: number;
  /** Run the namespace controller and garbage collector (default true). */
  controllers?: boolean;
  /** Set up before the listeners open, after the default namespaces exist (wiring.extensions: Service allocators). */
  extensions?: Array<(registry: Registry) => Promise<void>>;
}

export interface RunningApiServer {
  registry: Registry;
  /** Bound ports (after listen). */
  securePort?: number;
  insecurePort?: number;
  unixSocket?: string;
  gc?: GarbageCollector;
  close(): Promise<void>;
}

export async function startApiServer(opts: ApiServerOptions): Promise<RunningApiServer> {
  const registry = new Registry(opts.store, opts.resources, opts.patcher ?? fallbackPatcher);
  const nsc = new NamespaceController(registry);
  const handler = new ApiHandler({
    registry,
    tokens: opts.tokens,
    openapi: opts.openapi,
    nodeConnector: opts.nodeConnector,
    serverAddress: opts.tls ? `${opts.tls.host ?? '127.0.0.1'}:${opts.tls.port}` : `127.0.0.1:${opts.insecurePort ?? 0}`,
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    ready: () => nsc.ready,
  });
  const servers: http.Server[] = [];
  // In-process (loopback) exchanges in flight, ended on close like the listeners' connections.
  const loopOpen = new Set<http.ServerResponse>();
  const loopListener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    loopOpen.add(res);
    res.once('close', () => loopOpen.delete(res));
    handler.handle(req, res);
  };
  const out: RunningApiServer = {
    registry,
    async close() {
      nsc.stop();
      out.gc?.stop();
      if (out.unixSocket) {
        unregisterLoopback(out.unixSocket, loopListener);
        for (const res of loopOpen) res.destroy();
      }
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      if (out.unixSocket) fs.rmSync(out.unixSocket, { force: true });
    },
  };
  const listen = async (s: http.Server, port: number | string, host?: string): Promise<number> => {
    s.on('upgrade', handler.upgrade);
    // Long watches must not be cut by node's default request timeouts.
    s.requestTimeout = 0;
    s.headersTimeout = 60_000;
    s.keepAliveTimeout = 65_000;
    servers.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      if (typeof port === 'string') s.listen(port, () => (s.off('error', reject), resolve()));
      else s.listen(port, host, () => (s.off('error', reject), resolve()));
    });
    return typeof port === 'string' ? 0 : (s.address() as AddressInfo).port;
  };
  if (opts.controllers !== false) await nsc.start();
  else nsc.ready = true;
  for (const ext of opts.extensions ?? []) await ext(registry);
  if (opts.tls) {
    const s = https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler.handle);
    out.securePort = await listen(s as unknown as http.Server, opts.tls.port, opts.tls.host ?? '0.0.0.0');
  }
  if (opts.insecurePort !== undefined) {
    out.insecurePort = await listen(http.createServer(handler.handle), opts.insecurePort, '127.0.0.1');
  }
  if (opts.unixSocket) {
    fs.rmSync(opts.unixSocket, { force: true }); // a previous run's socket file
    // The same mode the engine gives its run dir (it is usually that dir); the socket itself is owner-only.
    fs.mkdirSync(path.dirname(opts.unixSocket), { recursive: true, mode: 0o711 });
    // Connecting needs write permission on the socket, which the usual umask (022) already withholds from
    // group and others; chmod makes it owner-only whatever the umask (no process-wide umask games, which
    // would also hit files other code creates meanwhile).
    await listen(http.createServer(handler.handle), opts.unixSocket);
    fs.chmodSync(opts.unixSocket, 0o600);
    out.unixSocket = opts.unixSocket;
    // Clients in this process that address this socket skip it (src/common/loopback.ts).
    registerLoopback(opts.unixSocket, loopListener);
  }
  if (opts.controllers !== false) {
    out.gc = new GarbageCollector(registry);
    out.gc.start();
  }
  return out;
}
