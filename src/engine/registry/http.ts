/**
 * One HTTP(S) exchange as a WHATWG Response, over node:http/https rather than fetch: fetch can neither take a
 * per-registry CA (Docker's /etc/docker/certs.d/<host>/ca.crt) nor skip verification for an insecure
 * registry, and it refuses "bad ports" (6000, 6665...) a registry may use. Redirects of GET/HEAD are followed
 * (blob downloads may be sent to storage elsewhere); Authorization is dropped when the origin changes.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface TlsConfig {
  /** Extra CA certificates (PEM), trusted besides the system's. */
  ca?: string[];
  /** Client certificate and key (PEM) for registries that ask for one. */
  cert?: string;
  key?: string;
  /** Skip certificate verification (insecure registries, as Docker does for them). */
  insecure?: boolean;
}

export interface HttpOptions {
  method: string;
  headers: Record<string, string>;
  body?: Buffer | Readable;
  signal?: AbortSignal;
  tls?: TlsConfig;
}

const MAX_REDIRECTS = 10;

export async function httpRequest(url: string, o: HttpOptions): Promise<Response> {
  let current = new URL(url);
  let headers = { ...o.headers };
  for (let i = 0; ; i++) {
    const res = await once(current, { ...o, headers });
    const loc = res.headers.location;
    if (loc && [301, 302, 303, 307, 308].includes(res.statusCode ?? 0) && (o.method === 'GET' || o.method === 'HEAD') && i < MAX_REDIRECTS) {
      res.resume();
      const next = new URL(loc, current);
      if (next.origin !== current.origin) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      }
      current = next;
      continue;
    }
    return toResponse(res, o.method);
  }
}

function once(u: URL, o: HttpOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = u.protocol === 'https:';
    const common = { method: o.method, headers: o.headers, signal: o.signal };
    const req = secure
      ? https.request(u, {
          ...common,
          ca: o.tls?.ca?.length ? [...tls.rootCertificates, ...o.tls.ca] : undefined,
          cert: o.tls?.cert,
          key: o.tls?.key,
          rejectUnauthorized: !o.tls?.insecure,
        })
      : http.request(u, common);
    req.once('response', resolve);
    req.once('error', reject);
    if (!o.body) req.end();
    else if (Buffer.isBuffer(o.body)) req.end(o.body);
    else pipeline(o.body, req).catch((err) => req.destroy(err as Error));
  });
}

function toResponse(res: http.IncomingMessage, method: string): Response {
  const headers = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) headers.append(k, x);
  }
  const status = res.statusCode ?? 0;
  const empty = method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
  if (empty) res.resume();
  const body = empty ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
  return new Response(body, { status: status >= 200 && status <= 599 ? status : 502, headers });
}

/** Docker's per-registry TLS files: <dir>/<host>/*.crt (CAs), client.cert + client.key. */
export function tlsFilesFor(certsDir: string, host: string): Pick<TlsConfig, 'ca' | 'cert' | 'key'> {
  const dir = path.join(certsDir, host.replace(/[/\\]/g, '_'));
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return {};
  }
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  const out: Pick<TlsConfig, 'ca' | 'cert' | 'key'> = { ca: names.filter((n) => n.endsWith('.crt')).map(read) };
  const cert = names.find((n) => n.endsWith('.cert'));
  if (cert) {
    const key = cert.replace(/\.cert$/, '.key');
    if (names.includes(key)) Object.assign(out, { cert: read(cert), key: read(key) });
  }
  return out;
}
