/**
 * The Docker Engine API client: node:http over the engine's unix socket (or loopback TCP), JSON in and out,
 * streamed bodies, and hijacked connections (`Upgrade: tcp` → 101 → raw socket) for attach and exec.
 * Errors come back as DaemonError carrying the daemon's status and {"message"}, printed the docker way.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';

/** The API version skiff's engine advertises; every path is sent as /v1.50/... like docker 28 does. */
export const API_VERSION = '1.50';

/** skiff's default engine socket (`skiff engine` listens here unless told otherwise). */
export const DEFAULT_HOST = 'unix:///run/skiff/docker.sock';

/** The daemon answered with an error status: docker prints "Error response from daemon: <message>". */
export class DaemonError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DaemonError';
  }
}

/** The engine could not be reached at all. */
export class ConnectError extends Error {
  constructor(host: string, cause: unknown) {
    super(`Cannot connect to the skiff engine at ${host}. Is 'skiff engine' running?`, { cause });
    this.name = 'ConnectError';
  }
}

export type Query = Record<string, string | number | boolean | string[] | undefined>;

export interface RequestOptions {
  query?: Query;
  /** A JSON value (serialised), a Buffer, or a readable stream piped as the body. */
  body?: unknown;
  headers?: Record<string, string>;
}

interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
}

export function parseHost(host: string): Target {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const m = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(host);
  if (m) return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 2375 };
  if (host.startsWith('/')) return { socketPath: host };
  throw new Error(`unable to parse docker host \`${host}\``);
}

export function buildQuery(q: Query | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    const vals = Array.isArray(v) ? v : [v];
    for (const one of vals) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(typeof one === 'boolean' ? (one ? '1' : '0') : String(one))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Reads a whole body. */
export function readBody(res: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

function errorFrom(status: number, body: Buffer): DaemonError {
  const text = body.toString('utf8');
  try {
    const j = JSON.parse(text) as { message?: string };
    if (j && typeof j.message === 'string') return new DaemonError(status, j.message);
  } catch {
    /* not JSON: docker prints the raw body */
  }
  return new DaemonError(status, text.trim() || `${status} ${http.STATUS_CODES[status] ?? ''}`.trim());
}

export class EngineClient {
  private readonly target: Target;
  private readonly agent: http.Agent;

  constructor(readonly host: string) {
    this.target = parseHost(host);
    // One kept-alive connection serves the short sequences a verb makes (create → wait → start).
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  }

  private options(method: string, path: string, opts: RequestOptions, extra: http.RequestOptions = {}): http.RequestOptions {
    const headers: Record<string, string> = { 'User-Agent': 'skiff-cli', ...(opts.headers ?? {}) };
    return {
      ...this.target,
      method,
      path: `/v${API_VERSION}${path}${buildQuery(opts.query)}`,
      headers,
      agent: this.agent,
      ...extra,
    };
  }

  private send(req: http.ClientRequest, opts: RequestOptions): void {
    const b = opts.body;
    if (b === undefined) return void req.end();
    if (Buffer.isBuffer(b) || typeof b === 'string') return void req.end(b);
    if (b && typeof (b as NodeJS.ReadableStream).pipe === 'function') return void (b as NodeJS.ReadableStream).pipe(req);
    req.end(JSON.stringify(b));
  }

  private withBodyHeaders(opts: RequestOptions): RequestOptions {
    const b = opts.body;
    if (b === undefined || Buffer.isBuffer(b) || (b && typeof (b as NodeJS.ReadableStream).pipe === 'function')) return opts;
    return { ...opts, headers: { 'Content-Type': 'application/json', ...(opts.headers ?? {}) } };
  }

  /** Sends a request; resolves with the response once headers arrive (status < 400), else DaemonError. */
  request(method: string, path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const o = this.withBodyHeaders(opts);
    return new Promise((resolve, reject) => {
      const req = http.request(this.options(method, path, o), (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          readBody(res).then((b) => reject(errorFrom(status, b)), reject);
          return;
        }
        resolve(res);
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(isConnectErr(e) ? new ConnectError(this.host, e) : e));
      this.send(req, o);
    });
  }

  /** Request + whole body parsed as JSON (undefined for empty bodies: 204/304). */
  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const body = await readBody(res);
    if (body.length === 0) return undefined as T;
    return JSON.parse(body.toString('utf8')) as T;
  }

  /** Request whose raw text is wanted (inspect keeps the daemon's exact JSON). */
  async text(method: string, path: string, opts: RequestOptions = {}): Promise<string> {
    const res = await this.request(method, path, opts);
    return (await readBody(res)).toString('utf8');
  }

  /**
   * A hijacked request (attach, exec start): sends `Connection: Upgrade` / `Upgrade: tcp`, expects 101 and
   * returns the raw socket plus any bytes that arrived with the response head. Any other status is an error.
   */
  hijack(method: string, path: string, opts: RequestOptions = {}): Promise<{ socket: Duplex; head: Buffer; contentType: string }> {
    const o = this.withBodyHeaders({ ...opts, headers: { Connection: 'Upgrade', Upgrade: 'tcp', ...(opts.headers ?? {}) } });
    return new Promise((resolve, reject) => {
      const req = http.request(this.options(method, path, o, { agent: false }));
      req.on('upgrade', (res, socket, head) => {
        resolve({ socket, head, contentType: String(res.headers['content-type'] ?? '') });
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        readBody(res).then((b) => {
          if (status >= 400) reject(errorFrom(status, b));
          else reject(new DaemonError(status, `unexpected response to hijack: ${status} ${b.toString().trim()}`));
        }, reject);
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(isConnectErr(e) ? new ConnectError(this.host, e) : e));
      this.send(req, o);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function isConnectErr(e: NodeJS.ErrnoException): boolean {
  return ['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK', 'EHOSTUNREACH'].includes(e.code ?? '');
}

/** DOCKER_HOST, or -H/--host, or skiff's default socket. */
export function resolveHost(flag: string | undefined): string {
  return flag || process.env.DOCKER_HOST || DEFAULT_HOST;
}
