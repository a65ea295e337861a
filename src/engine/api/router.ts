/**
 * A tiny router for the Docker Engine API.
 *
 * Docker clients negotiate a version and then prefix every path with it (`/v1.50/containers/json`);
 * unversioned paths are accepted too. Image names contain slashes, so a pattern segment written
 * `{name:.*}` matches greedily across segments (moby's mux does the same).
 *
 * Two kinds of handlers: ordinary request handlers, and "hijack" handlers for requests that carry
 * `Upgrade: tcp` (attach, exec start) which Node delivers on the server's 'upgrade' event with the raw socket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export const API_VERSION = '1.50';
export const MIN_API_VERSION = '1.24';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Version from the path prefix, or the server's own when absent. */
  apiVersion: string;
}

export interface HijackContext {
  req: IncomingMessage;
  socket: Duplex;
  /** Bytes that arrived after the headers (e.g. the JSON body of exec start). */
  head: Buffer;
  params: Record<string, string>;
  query: URLSearchParams;
  apiVersion: string;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;
export type HijackHandler = (ctx: HijackContext) => Promise<void> | void;

interface Route<H> {
  method: string;
  regex: RegExp;
  names: string[];
  handler: H;
}

function compile(pattern: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = pattern
    .split('/')
    .map((segment) => {
      const m = /^\{(\w+)(?::(.*))?\}$/.exec(segment);
      if (!m) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]);
      return m[2] === '.*' ? '(.+)' : '([^/]+)';
    })
    .join('/');
  return { regex: new RegExp(`^${source}$`), names };
}

export interface Match<H> {
  handler: H;
  params: Record<string, string>;
}

export class Router {
  private readonly routes: Route<Handler>[] = [];
  private readonly hijacks: Route<HijackHandler>[] = [];

  get(pattern: string, handler: Handler): this {
    return this.add('GET', pattern, handler);
  }
  post(pattern: string, handler: Handler): this {
    return this.add('POST', pattern, handler);
  }
  put(pattern: string, handler: Handler): this {
    return this.add('PUT', pattern, handler);
  }
  delete(pattern: string, handler: Handler): this {
    return this.add('DELETE', pattern, handler);
  }
  head(pattern: string, handler: Handler): this {
    return this.add('HEAD', pattern, handler);
  }

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, ...compile(pattern), handler });
    return this;
  }

  /** A handler for `Upgrade: tcp` requests (attach, exec start). */
  hijack(method: string, pattern: string, handler: HijackHandler): this {
    this.hijacks.push({ method, ...compile(pattern), handler });
    return this;
  }

  match(method: string, path: string): Match<Handler> | 'method-not-allowed' | undefined {
    return find(this.routes, method, path);
  }

  matchHijack(method: string, path: string): Match<HijackHandler> | undefined {
    const m = find(this.hijacks, method, path);
    return m === 'method-not-allowed' ? undefined : m;
  }
}

function find<H>(routes: Route<H>[], method: string, path: string): Match<H> | 'method-not-allowed' | undefined {
  let pathMatched = false;
  for (const route of routes) {
    const m = route.regex.exec(path);
    if (!m) continue;
    // HEAD falls back to GET handlers (the CLI pings with HEAD /_ping).
    if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
      pathMatched = true;
      continue;
    }
    const params: Record<string, string> = {};
    route.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
    return { handler: route.handler, params };
  }
  return pathMatched ? 'method-not-allowed' : undefined;
}

/** Splits `/v1.50/containers/json` into version and path; unversioned paths get the server's version. */
export function splitVersion(pathname: string): { apiVersion: string; path: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(pathname);
  if (m) return { apiVersion: m[1], path: m[2] };
  return { apiVersion: API_VERSION, path: pathname };
}

/** Compares "1.41" and "1.50" numerically. */
export function compareVersions(a: string, b: string): number {
  const [amaj, amin] = a.split('.').map(Number);
  const [bmaj, bmin] = b.split('.').map(Number);
  return amaj !== bmaj ? amaj - bmaj : amin - bmin;
}
