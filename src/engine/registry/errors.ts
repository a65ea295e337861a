/**
 * Registry (distribution) error bodies and Docker's wording for them. Pure.
 *
 * A registry answers `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":...}]}`;
 * Go's errcode.Error prints "<code lowercased, _ → space>: <message>", and moby's translatePullError wraps
 * the first one: DENIED → "pull access denied for NAME, repository does not exist or may require 'docker
 * login'", MANIFEST_UNKNOWN → "manifest for NAME:TAG not found", NAME_UNKNOWN → "repository NAME not found".
 */
import { SkiffError, type ErrorCode } from '../../common/errors';

export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

/** The errors of a registry error body, or [] when it is not one. */
export function parseErrorBody(body: string): RegistryErrorEntry[] {
  try {
    const j = JSON.parse(body) as { errors?: unknown };
    if (!Array.isArray(j.errors)) return [];
    return j.errors.filter((e): e is RegistryErrorEntry => !!e && typeof (e as RegistryErrorEntry).code === 'string');
  } catch {
    return [];
  }
}

/** Go's errcode.Error.Error(): "manifest unknown: manifest unknown". */
export function errcodeText(e: RegistryErrorEntry): string {
  const code = e.code.toLowerCase().replace(/_/g, ' ');
  return `${code}: ${e.message ?? code}`;
}

/** A failed registry request: HTTP status plus the registry's error entries. */
export class RegistryHttpError extends Error {
  constructor(
    readonly status: number,
    readonly entries: RegistryErrorEntry[],
    readonly what: string,
  ) {
    super(
      entries.length
        ? errcodeText(entries[0])
        : `unexpected status from ${what}: ${status} ${statusText(status)}`,
    );
  }
  get code(): string | undefined {
    return this.entries[0]?.code;
  }
}

function statusText(status: number): string {
  const t: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };
  return t[status] ?? '';
}

function errorCodeOf(status: number): ErrorCode {
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 404) return 'NotFound';
  if (status >= 500) return 'Unavailable';
  return 'Internal';
}

/**
 * moby's translatePullError: `name` is the familiar repository name, `ref` the familiar name:tag (or @digest).
 * The result is a SkiffError whose code gives the HTTP status (404 for the not-found family, as moby's
 * notFoundError does).
 */
export function pullError(err: unknown, name: string, ref: string): SkiffError {
  if (err instanceof SkiffError) return err;
  if (err instanceof RegistryHttpError) {
    const e = err.entries[0];
    switch (e?.code ?? (err.status === 401 ? 'UNAUTHORIZED' : undefined)) {
      case 'DENIED':
      case 'UNAUTHORIZED':
        return new SkiffError('NotFound', `pull access denied for ${name}, repository does not exist or may require 'docker login': ${e ? errcodeText(e) : 'unauthorized: authentication required'}`);
      case 'MANIFEST_UNKNOWN':
        return new SkiffError('NotFound', `manifest for ${ref} not found: ${errcodeText(e!)}`);
      case 'NAME_UNKNOWN':
        return new SkiffError('NotFound', `repository ${name} not found: ${errcodeText(e!)}`);
    }
    return new SkiffError(errorCodeOf(err.status), err.message);
  }
  return new SkiffError('Unavailable', err instanceof Error ? err.message : String(err));
}

/** Push failures keep the registry's words (moby prints the errcode text as is). */
export function pushError(err: unknown): SkiffError {
  if (err instanceof SkiffError) return err;
  if (err instanceof RegistryHttpError) return new SkiffError(errorCodeOf(err.status), err.message);
  return new SkiffError('Unavailable', err instanceof Error ? err.message : String(err));
}

/**
 * Go's net/http wording for a request that never got an answer: `Get "http://h/v2/": dial tcp h: connect:
 * connection refused` (what docker prints for an unreachable registry).
 */
export function transportErrorText(method: string, url: string, err: unknown): string {
  const cause = ((err as { cause?: unknown })?.cause ?? err) as NodeJS.ErrnoException & { address?: string; port?: number };
  const m = method[0] + method.slice(1).toLowerCase();
  const u = new URL(url);
  const hostPort = `${u.hostname.replace(/^\[|\]$/g, '')}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return `${m} "${url}": dial tcp ${hostPort}: connect: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${m} "${url}": dial tcp: lookup ${u.hostname}: no such host`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `${m} "${url}": dial tcp ${hostPort}: i/o timeout`;
    case 'ECONNRESET':
      return `${m} "${url}": read tcp ${hostPort}: read: connection reset by peer`;
  }
  if (/wrong version number|EPROTO/i.test(String(cause?.message ?? ''))) {
    return `${m} "${url}": http: server gave HTTP response to HTTPS client`;
  }
  return `${m} "${url}": ${cause?.message ?? String(err)}`;
}
