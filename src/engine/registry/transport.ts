/**
 * HTTP to one registry host (distribution API v2) with Docker's auth flow: a request answered 401 with a
 * `Bearer realm=...,service=...` challenge gets a token from the realm (anonymous, or with basic
 * credentials) for the scope it needs and is retried; a `Basic` challenge is answered with the credentials.
 * Tokens are cached per scope for the life of the transport (one pull or push).
 *
 * Scheme, as Docker picks it: a secure registry is HTTPS with verified certificates (system CAs plus
 * certs.d/<host>/*.crt); an insecure one — listed, or on loopback (Docker treats 127.0.0.0/8 as insecure) —
 * is tried over HTTPS without verification first and, when that fails at the transport level, over HTTP.
 */
import { Readable } from 'node:stream';
import { basicHeader, parseChallenges, type Challenge, type Credentials } from './auth';
import { RegistryHttpError, parseErrorBody, transportErrorText } from './errors';
import { SkiffError } from '../../common/errors';
import { httpRequest, tlsFilesFor, type TlsConfig } from './http';

export interface TransportOptions {
  /** Registry host as in the reference ("127.0.0.1:5000", "docker.io"). */
  host: string;
  insecure?: boolean;
  /** An explicit endpoint ("http://127.0.0.1:5000": a registry mirror) instead of the host's own. */
  endpoint?: string;
  /** Docker's certs.d directory (CAs and client certificates per registry host). */
  certsDir?: string;
  credentials?: Credentials;
  /** Abort everything (client gone). */
  signal?: AbortSignal;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Scope for a bearer token, e.g. "repository:library/x:pull". */
  scope: string;
  /** Statuses that are answers rather than errors (e.g. 404 on a HEAD existence check). */
  ok?: number[];
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1';
}

/** The API endpoints of a registry host, in the order Docker tries them (docker.io is registry-1.docker.io). */
export function endpointsOf(host: string, insecure: boolean): string[] {
  const h = host === 'docker.io' ? 'registry-1.docker.io' : host;
  return insecure || isLoopbackHost(host) ? [`https://${h}`, `http://${h}`] : [`https://${h}`];
}

export class RegistryTransport {
  /** The endpoint in use (the first of endpointsOf until ping() found the one that answers). */
  base: string;
  private readonly endpoints: string[];
  private readonly tls: TlsConfig;
  private readonly tokens = new Map<string, string>();
  /** The last challenge seen (the registry's auth kind), reused for later scopes without a round-trip. */
  private challenge?: Challenge;

  constructor(private readonly opts: TransportOptions) {
    const host = opts.endpoint ? new URL(opts.endpoint).host : opts.host;
    const insecure = !!opts.insecure || isLoopbackHost(host);
    this.endpoints = opts.endpoint ? [opts.endpoint.replace(/\/+$/, '')] : endpointsOf(opts.host, insecure);
    this.base = this.endpoints[0];
    this.tls = { ...(opts.certsDir ? tlsFilesFor(opts.certsDir, host) : {}), insecure };
  }

  /** The caller went away (its AbortSignal fired): nothing is worth retrying. */
  get aborted(): boolean {
    return !!this.opts.signal?.aborted;
  }

  url(p: string): string {
    return p.startsWith('http://') || p.startsWith('https://') ? p : this.base + p;
  }

  /**
   * GET /v2/ as Docker does first: proves the registry answers (its failure is the error docker prints) and
   * learns how it wants to be authenticated.
   */
  async ping(): Promise<void> {
    let res: Response | undefined;
    let url = '';
    for (let i = 0; i < this.endpoints.length && !res; i++) {
      this.base = this.endpoints[i];
      url = this.url('/v2/');
      try {
        res = await this.send(url, 'GET', { scope: '' }, undefined);
      } catch (err) {
        // Only an insecure registry has a next endpoint (plain HTTP); its failure is the one reported.
        if (i === this.endpoints.length - 1 || this.opts.signal?.aborted) throw err;
      }
    }
    if (!res) throw new SkiffError('Unavailable', `no endpoint of ${this.opts.host} answered`);
    await drain(res);
    if (res.status === 401) {
      const cs = parseChallenges(res.headers.get('www-authenticate'));
      this.challenge = cs.find((x) => x.scheme === 'bearer') ?? cs.find((x) => x.scheme === 'basic');
    } else if (res.status >= 400 && res.status !== 404) {
      throw new RegistryHttpError(res.status, [], `GET ${url}`);
    }
  }

  /**
   * Checks credentials the way `docker login` does: /v2/ answered with them (basic), or a token issued for
   * them (bearer, no scope). Throws Unauthorized with Docker's wording when refused.
   */
  async login(): Promise<void> {
    await this.ping();
    const url = this.url('/v2/');
    const refused = (status: number) =>
      new SkiffError('Unauthorized', `login attempt to ${url} failed with status: ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}`);
    if (!this.challenge) return;
    if (this.challenge.scheme === 'basic') {
      const basic = this.opts.credentials ? basicHeader(this.opts.credentials) : undefined;
      const res = await this.send(url, 'GET', { scope: '' }, basic);
      await drain(res);
      if (res.status === 401 || res.status === 403) throw refused(res.status);
      return;
    }
    try {
      await this.authorize(this.challenge, '');
    } catch (err) {
      if (err instanceof RegistryHttpError && (err.status === 401 || err.status === 403)) throw refused(err.status);
      throw err;
    }
  }

  /** Sends a request with auth; returns the response for statuses 2xx/3xx or in `ok`, else throws. */
  async request(p: string, o: RequestOptions): Promise<Response> {
    const url = this.url(p);
    const method = o.method ?? 'GET';
    if (this.challenge && !this.authFor(o.scope)) await this.authorize(this.challenge, o.scope);
    let res = await this.send(url, method, o, this.authFor(o.scope));
    if (res.status === 401 && !(o.body instanceof Readable)) {
      // A challenge the ping did not show (or a token that no longer covers this scope): once more.
      const cs = parseChallenges(res.headers.get('www-authenticate'));
      const c = cs.find((x) => x.scheme === 'bearer') ?? cs.find((x) => x.scheme === 'basic');
      if (c) {
        await drain(res);
        this.challenge = c;
        this.tokens.delete(o.scope);
        await this.authorize(c, o.scope);
        res = await this.send(url, method, o, this.authFor(o.scope));
      }
    }
    if ((res.status >= 200 && res.status < 400) || o.ok?.includes(res.status)) return res;
    const text = method === 'HEAD' ? '' : await res.text().catch(() => '');
    throw new RegistryHttpError(res.status, parseErrorBody(text), `${method} ${url}`);
  }

  private authFor(scope: string): string | undefined {
    if (!this.challenge) return undefined;
    if (this.challenge.scheme === 'basic') return this.opts.credentials ? basicHeader(this.opts.credentials) : undefined;
    const t = this.tokens.get(scope);
    return t ? `Bearer ${t}` : undefined;
  }

  private async authorize(c: Challenge, scope: string): Promise<void> {
    if (c.scheme === 'basic') {
      if (!this.opts.credentials?.username) throw new RegistryHttpError(401, [{ code: 'UNAUTHORIZED', message: 'authentication required' }], 'registry');
      return;
    }
    if (this.opts.credentials?.registryToken) {
      this.tokens.set(scope, this.opts.credentials.registryToken);
      return;
    }
    const realm = c.params.realm;
    if (!realm) throw new SkiffError('Unauthorized', `the registry's bearer challenge names no realm`);
    const u = new URL(realm);
    if (c.params.service) u.searchParams.set('service', c.params.service);
    for (const s of scope.split(' ').filter(Boolean)) u.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    const basic = this.opts.credentials ? basicHeader(this.opts.credentials) : undefined;
    if (basic) headers.Authorization = basic;
    let res: Response;
    try {
      // The registry's TLS settings also hold for a realm on the same host.
      const sameHost = u.host === new URL(this.base).host;
      res = await httpRequest(u.toString(), { method: 'GET', headers, signal: this.opts.signal, tls: sameHost ? this.tls : undefined });
    } catch (err) {
      throw new SkiffError('Unavailable', transportErrorText('GET', u.toString(), err));
    }
    const text = await res.text();
    if (res.status !== 200) {
      const entries = parseErrorBody(text);
      throw new RegistryHttpError(res.status, entries.length ? entries : [{ code: 'UNAUTHORIZED', message: 'authentication required' }], `GET ${u}`);
    }
    let tok: string | undefined;
    try {
      const j = JSON.parse(text) as { token?: string; access_token?: string };
      tok = j.token || j.access_token;
    } catch {
      tok = undefined;
    }
    if (!tok) throw new SkiffError('Unauthorized', `the token server at ${realm} returned no token`);
    this.tokens.set(scope, tok);
  }

  private async send(url: string, method: string, o: RequestOptions, auth: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { 'User-Agent': 'skiff', ...o.headers };
    if (auth) headers.Authorization = auth;
    try {
      return await httpRequest(url, { method, headers, body: o.body, signal: this.opts.signal, tls: this.tls });
    } catch (err) {
      if (this.opts.signal?.aborted) throw new SkiffError('Unavailable', 'the request was cancelled');
      throw new SkiffError('Unavailable', transportErrorText(method, url, err));
    }
  }
}

export async function drain(res: Response): Promise<void> {
  try {
    await res.arrayBuffer();
  } catch {
    /* nothing to read */
  }
}
