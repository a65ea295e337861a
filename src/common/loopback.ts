/**
 * In-process HTTP exchanges: `skiff server` runs its own API clients (scheduler, controllers, node agent,
 * proxy) in the process that serves the API. They address the server by its unix socket path; when a
 * server registered a request listener for that path in this process, a request is handed to the listener
 * directly as a stream pair shaped like node:http's IncomingMessage / ServerResponse — no socket, HTTP
 * framing or parsing on either side (measured: most of a small request's cost). Everything above the
 * transport is unchanged: URL, headers (the bearer token is still checked), JSON bodies, status codes,
 * streamed watch bodies with backpressure ('drain'), and 'close' on the response when the client gives up.
 *
 * Shared by src/apiserver (registers) and src/client (looks up), so it lives below both.
 * SKIFF_API_LOOPBACK=0 in the environment turns it off (the unix socket is then used as before).
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { PassThrough, Readable } from 'node:stream';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

const listeners = new Map<string, RequestListener>();

/** A server's listener for the unix socket path it serves (until unregistered). */
export function registerLoopback(socketPath: string, listener: RequestListener): void {
  listeners.set(socketPath, listener);
}

export function unregisterLoopback(socketPath: string, listener: RequestListener): void {
  if (listeners.get(socketPath) === listener) listeners.delete(socketPath);
}

/** The in-process listener serving this socket path, if any (and loopback is not disabled). */
export function loopbackFor(socketPath: string | undefined): RequestListener | undefined {
  if (!socketPath || listeners.size === 0 || process.env.SKIFF_API_LOOPBACK === '0') return undefined;
  return listeners.get(socketPath);
}

/** The response as the client sees it: status, headers, and the body as a readable stream. */
export interface LoopbackResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** The server side's request: a readable body with node:http's request fields. */
class LoopbackIncoming extends Readable {
  readonly httpVersion = '1.1';
  readonly socket = { remoteAddress: '@', encrypted: false };
  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
    body: Buffer | undefined,
  ) {
    super();
    if (body && body.length) this.push(body);
    this.push(null);
  }
  override _read(): void {
    /* all pushed at construction */
  }
}

/**
 * The server side's response: what the listener writes comes out of this stream's readable side (the
 * client's body); writeHead / flushHeaders / the first write deliver the head.
 */
class LoopbackOutgoing extends PassThrough {
  statusCode = 200;
  statusMessage = '';
  headersSent = false;
  private readonly hdrs: OutgoingHttpHeaders = {};
  constructor(private readonly onHead: (res: LoopbackOutgoing) => void) {
    // About what a socket buffers (kernel send buffer + the client's stream), so a watch writer meets
    // backpressure ('drain') no sooner than over the unix socket.
    super({ highWaterMark: 256 * 1024 });
  }
  setHeader(name: string, value: number | string | readonly string[]): this {
    this.hdrs[name.toLowerCase()] = value as OutgoingHttpHeaders[string];
    return this;
  }
  getHeader(name: string): OutgoingHttpHeaders[string] {
    return this.hdrs[name.toLowerCase()];
  }
  getHeaders(): OutgoingHttpHeaders {
    return { ...this.hdrs };
  }
  hasHeader(name: string): boolean {
    return name.toLowerCase() in this.hdrs;
  }
  removeHeader(name: string): void {
    delete this.hdrs[name.toLowerCase()];
  }
  writeHead(code: number, a?: string | OutgoingHttpHeaders | unknown[], b?: OutgoingHttpHeaders | unknown[]): this {
    if (this.headersSent) return this;
    this.statusCode = code;
    if (typeof a === 'string') this.statusMessage = a;
    const h = typeof a === 'string' ? b : a;
    if (h && !Array.isArray(h)) for (const [k, v] of Object.entries(h)) if (v !== undefined) this.setHeader(k, v as string);
    this.flushHeaders();
    return this;
  }
  flushHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.onHead(this);
  }
  /** The head as a client sees it (lower-case names, string values). */
  incomingHeaders(): IncomingHttpHeaders {
    const out: IncomingHttpHeaders = {};
    for (const [k, v] of Object.entries(this.hdrs)) {
      if (v === undefined) continue;
      (out as Record<string, string | string[]>)[k] = Array.isArray(v) ? v.map(String) : String(v);
    }
    return out;
  }
  // Streams call _write for write() and end(chunk); deliver the head before the first byte, as node:http does.
  override _transform(chunk: unknown, enc: BufferEncoding, cb: (err?: Error | null, data?: unknown) => void): void {
    this.flushHeaders();
    super._transform(chunk, enc, cb);
  }
  override _flush(cb: (err?: Error | null) => void): void {
    this.flushHeaders();
    cb();
  }
}

/**
 * One request to an in-process listener. Resolves with the head once the listener sent it; the body then
 * streams. Aborting `signal` (or destroying the body) closes the response, which the listener sees as 'close'.
 */
export function loopbackRequest(
  listener: RequestListener,
  req: { method: string; path: string; headers: OutgoingHttpHeaders; body?: Buffer; signal?: AbortSignal },
): Promise<LoopbackResponse> {
  return new Promise<LoopbackResponse>((resolve, reject) => {
    if (req.signal?.aborted) {
      reject(abortError());
      return;
    }
    const headers: IncomingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) (headers as Record<string, string | string[]>)[k.toLowerCase()] = Array.isArray(v) ? v.map(String) : String(v);
    const incoming = new LoopbackIncoming(req.method, req.path, headers, req.body);
    let settled = false;
    const res = new LoopbackOutgoing((r) => {
      settled = true;
      resolve({ statusCode: r.statusCode, headers: r.incomingHeaders(), body: r });
    });
    const onAbort = () => {
      res.destroy(abortError());
      if (!settled) {
        settled = true;
        reject(abortError());
      }
    };
    // An abort destroys the response with an AbortError, which the body's reader (if any) gets; nobody else
    // listens on a response's 'error', so keep it from becoming an uncaught exception.
    res.on('error', () => undefined);
    req.signal?.addEventListener('abort', onAbort, { once: true });
    res.once('close', () => {
      req.signal?.removeEventListener('abort', onAbort);
      incoming.destroy();
      if (!settled) {
        settled = true;
        reject(new Error('the server closed the response without an answer'));
      }
    });
    // Not on the caller's stack: the listener runs as if the request had arrived from a socket.
    queueMicrotask(() => listener(incoming as unknown as IncomingMessage, res as unknown as ServerResponse));
  });
}

function abortError(): Error {
  const e = new Error('The operation was aborted');
  e.name = 'AbortError';
  return e;
}
