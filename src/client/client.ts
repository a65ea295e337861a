/**
 * A lean Kubernetes API client over node:http/https for in-process components (scheduler, controllers,
 * later the node agent). It speaks the public REST contract only, so the same code works when the
 * components run in another process than the API server.
 *
 * Failures are typed SkiffErrors (NotFound, AlreadyExists, Conflict, Gone, InvalidArgument, Unavailable...)
 * carrying the HTTP status and the Status reason in `details`.
 */
import http from 'node:http';
import https from 'node:https';
import { ErrorCode, SkiffError } from '../common/errors';
import { loopbackFor, loopbackRequest } from '../common/loopback';
import { ClientConfig, loadKubeconfig } from './kubeconfig';
import { Resource, resourcePath } from './resources';
import { KList, KObject } from './types';

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface WatchEvent<T extends KObject = KObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: Record<string, unknown>;
}

function codeFor(status: number, reason?: string): ErrorCode {
  if (status === 404) return 'NotFound';
  if (status === 409) return reason === 'AlreadyExists' ? 'AlreadyExists' : 'Conflict';
  if (status === 410) return 'Gone';
  if (status === 400 || status === 422 || status === 415) return 'InvalidArgument';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 413) return 'TooLarge';
  if (status === 429 || status >= 500) return 'Unavailable';
  return 'Internal';
}

export function apiError(httpStatus: number, body: ApiStatus | undefined, what: string): SkiffError {
  const reason = body?.reason;
  const message = body?.message ?? `${what}: HTTP ${httpStatus}`;
  return new SkiffError(codeFor(httpStatus, reason), message, {
    details: { ...(body?.details ?? {}), httpStatus, reason },
  });
}

export class KubeClient {
  readonly config: ClientConfig;
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;

  constructor(config: ClientConfig) {
    this.config = config;
    this.url = new URL(config.server);
    const tls = this.url.protocol === 'https:' && !config.socketPath;
    this.mod = tls ? https : http;
    // One keep-alive pool; watches hold sockets for a long time, so do not cap the pool.
    this.agent = tls
      ? new https.Agent({
          keepAlive: true,
          ca: config.caData,
          cert: config.certData,
          key: config.keyData,
          rejectUnauthorized: !config.insecureSkipTLSVerify,
        })
      : new http.Agent({ keepAlive: true });
  }

  static fromKubeconfig(path: string, context?: string): KubeClient {
    return new KubeClient(loadKubeconfig(path, context));
  }

  close(): void {
    this.agent.destroy();
  }

  private target(): http.RequestOptions {
    if (this.config.socketPath) return { socketPath: this.config.socketPath };
    return { protocol: this.url.protocol, hostname: this.url.hostname, port: this.url.port };
  }

  private headers(contentType?: string, bodyLen?: number): http.OutgoingHttpHeaders {
    const h: http.OutgoingHttpHeaders = { Accept: 'application/json', 'User-Agent': this.config.userAgent ?? 'skiff-controller' };
    if (this.config.token) h.Authorization = `Bearer ${this.config.token}`;
    if (contentType) h['Content-Type'] = contentType;
    if (bodyLen !== undefined) h['Content-Length'] = bodyLen;
    return h;
  }

  private pathWithQuery(path: string, query?: RequestOptions['query']): string {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') qs.set(k, String(v));
    const s = qs.toString();
    return s ? `${path}?${s}` : path;
  }

  /** Raw request; resolves with the parsed JSON body (or undefined for an empty one). */
  request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const payload = opts.body === undefined ? undefined : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
    const full = this.pathWithQuery(path, opts.query);
    const loop = loopbackFor(this.config.socketPath);
    if (loop) {
      // The server runs in this process: hand it the request directly (src/common/loopback.ts).
      return loopbackRequest(loop, {
        method,
        path: (this.url.pathname === '/' ? '' : this.url.pathname) + full,
        headers: this.headers(payload ? opts.contentType ?? 'application/json' : undefined, payload?.length),
        body: payload,
        signal: opts.signal,
      }).then(
        async (res) => {
          const chunks: Buffer[] = [];
          try {
            for await (const c of res.body) chunks.push(c as Buffer);
          } catch (e) {
            throw new SkiffError('Unavailable', `${method} ${full}: ${(e as Error).message}`, { cause: e });
          }
          return this.answer<T>(res.statusCode, Buffer.concat(chunks).toString('utf8'), method, full);
        },
        (e) => {
          throw new SkiffError('Unavailable', `${method} ${full}: ${(e as Error).message}`, { cause: e });
        },
      );
    }
    return new Promise<T>((resolve, reject) => {
      const req = this.mod.request(
        {
          ...this.target(),
          method,
          path: (this.url.pathname === '/' ? '' : this.url.pathname) + full,
          agent: this.agent,
          headers: this.headers(payload ? opts.contentType ?? 'application/json' : undefined, payload?.length),
          signal: opts.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new SkiffError('Unavailable', `${method} ${full}: ${e.message}`, { cause: e })));
          res.on('end', () => {
            try {
              resolve(this.answer<T>(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), method, full));
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on('error', (e) => reject(new SkiffError('Unavailable', `${method} ${full}: ${e.message}`, { cause: e })));
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** A response's JSON body, or its status as a typed error. */
  private answer<T>(status: number, text: string, method: string, full: string): T {
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (status >= 200 && status < 300) return body as T;
    throw apiError(status, body as ApiStatus | undefined, `${method} ${full}`);
  }

  get<T extends KObject = KObject>(res: Resource, namespace: string | undefined, name: string, subresource?: string): Promise<T> {
    return this.request<T>('GET', resourcePath(res, namespace, name, subresource));
  }

  /** One page of a list. */
  listPage<T extends KObject = KObject>(res: Resource, opts: ListOptions = {}): Promise<KList<T>> {
    return this.request<KList<T>>('GET', resourcePath(res, opts.namespace), {
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resourceVersion: opts.resourceVersion,
        limit: opts.limit,
        continue: opts.continue,
      },
    });
  }

  /** A whole list, following `continue` tokens; the resourceVersion is that of the first page (a consistent snapshot). */
  async list<T extends KObject = KObject>(res: Resource, opts: ListOptions = {}): Promise<KList<T>> {
    const first = await this.listPage<T>(res, { limit: 500, ...opts });
    const items = [...(first.items ?? [])];
    let cont = first.metadata?.continue;
    while (cont) {
      const page = await this.listPage<T>(res, { limit: 500, ...opts, continue: cont });
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue;
    }
    return { ...first, metadata: { resourceVersion: first.metadata?.resourceVersion }, items };
  }

  create<T extends KObject = KObject>(res: Resource, namespace: string | undefined, obj: unknown, subresourceOf?: { name: string; subresource: string }): Promise<T> {
    const path = subresourceOf ? resourcePath(res, namespace, subresourceOf.name, subresourceOf.subresource) : resourcePath(res, namespace);
    return this.request<T>('POST', path, { body: obj });
  }

  /** PUT with the object's resourceVersion: a stale one fails with Conflict. */
  update<T extends KObject = KObject>(res: Resource, obj: T, subresource?: string): Promise<T> {
    return this.request<T>('PUT', resourcePath(res, obj.metadata.namespace, obj.metadata.name!, subresource), { body: obj });
  }

  updateStatus<T extends KObject = KObject>(res: Resource, obj: T): Promise<T> {
    return this.update(res, obj, 'status');
  }

  patch<T extends KObject = KObject>(
    res: Resource,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType = 'merge',
    opts: { subresource?: string; fieldManager?: string; force?: boolean } = {},
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(res, namespace, name, opts.subresource), {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
      query: { fieldManager: opts.fieldManager, force: opts.force },
    });
  }

  delete(
    res: Resource,
    namespace: string | undefined,
    name: string,
    opts: { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; preconditions?: { uid?: string; resourceVersion?: string }; gracePeriodSeconds?: number } = {},
  ): Promise<unknown> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.preconditions) body.preconditions = opts.preconditions;
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    return this.request('DELETE', resourcePath(res, namespace, name), { body });
  }

  /**
   * Opens a watch stream: resolves once the server answered 200, then yields events until the server ends
   * the stream, the signal aborts, or an ERROR event arrives (thrown as a typed error: Gone for 410).
   */
  async watch<T extends KObject = KObject>(res: Resource, opts: WatchOptions = {}): Promise<AsyncIterable<WatchEvent<T>>> {
    const full = this.pathWithQuery(resourcePath(res, opts.namespace), {
      watch: 'true',
      resourceVersion: opts.resourceVersion,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      allowWatchBookmarks: opts.allowWatchBookmarks ?? true,
      timeoutSeconds: opts.timeoutSeconds,
    });
    const loop = loopbackFor(this.config.socketPath);
    // The server in this process takes the request directly (src/common/loopback.ts); others over HTTP.
    const { status, body } = loop
      ? await loopbackRequest(loop, {
          method: 'GET',
          path: (this.url.pathname === '/' ? '' : this.url.pathname) + full,
          headers: this.headers(),
          signal: opts.signal,
        }).then(
          (res) => ({ status: res.statusCode, body: res.body }),
          (e) => {
            throw new SkiffError('Unavailable', `watch ${full}: ${(e as Error).message}`, { cause: e });
          },
        )
      : await new Promise<{ status: number; body: http.IncomingMessage }>((resolve, reject) => {
          const req = this.mod.request(
            {
              ...this.target(),
              method: 'GET',
              path: (this.url.pathname === '/' ? '' : this.url.pathname) + full,
              agent: this.agent,
              headers: this.headers(),
              signal: opts.signal,
            },
            (res) => resolve({ status: res.statusCode ?? 0, body: res }),
          );
          req.on('error', (e) => reject(new SkiffError('Unavailable', `watch ${full}: ${e.message}`, { cause: e })));
          req.end();
        });
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      let parsed: ApiStatus | undefined;
      try {
        parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        parsed = undefined;
      }
      throw apiError(status, parsed, `watch ${full}`);
    }
    return readWatchEvents<T>(body, full);
  }
}

/** Splits a chunked watch body into JSON lines. */
async function* readWatchEvents<T extends KObject>(stream: AsyncIterable<unknown> & { destroy(): void }, what: string): AsyncIterable<WatchEvent<T>> {
  let buf = '';
  try {
    for await (const chunk of stream) {
      buf += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line) as WatchEvent<T>;
        if (ev.type === 'ERROR') {
          const st = ev.object as unknown as ApiStatus;
          throw apiError(st.code ?? 500, st, `watch ${what}`);
        }
        yield ev;
      }
    }
  } catch (err) {
    if (err instanceof SkiffError) throw err;
    if ((err as Error)?.name === 'AbortError') return;
    throw new SkiffError('Unavailable', `watch ${what}: ${(err as Error).message}`, { cause: err });
  } finally {
    stream.destroy();
  }
  const tail = buf.trim();
  if (tail) {
    const ev = JSON.parse(tail) as WatchEvent<T>;
    if (ev.type === 'ERROR') {
      const st = ev.object as unknown as ApiStatus;
      throw apiError(st.code ?? 500, st, `watch ${what}`);
    }
    yield ev;
  }
}
