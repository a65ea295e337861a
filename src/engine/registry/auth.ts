/**
 * Registry credentials and challenges. Pure except readDockerConfig (one file read).
 *
 * Credentials come from the X-Registry-Auth header the docker CLI sends (base64url JSON AuthConfig; "e30="
 * = anonymous) or, failing that, from the engine user's ~/.docker/config.json ("auths" entries with
 * "auth": base64 "user:password"). Challenges are parsed from WWW-Authenticate (RFC 7235 auth-params).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth refresh token (docker login against some registries). */
  identityToken?: string;
  /** A bearer token to use as is. */
  registryToken?: string;
}

export interface Challenge {
  scheme: string; // lower case: "bearer", "basic"
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header into its challenges. */
export function parseChallenges(header: string | null | undefined): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  // Tokens: `key=value` / `key="quoted"` pairs belong to the last challenge; a bare word starts a new one.
  const tok = /\s*,?\s*(?:([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))|([A-Za-z][A-Za-z0-9._~+/-]*))/y;
  let m: RegExpExecArray | null;
  while (tok.lastIndex < header.length && (m = tok.exec(header))) {
    if (m[4]) out.push({ scheme: m[4].toLowerCase(), params: {} });
    else if (out.length) out[out.length - 1].params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
    if (m[0] === '') break;
  }
  return out;
}

function b64decode(s: string): string {
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
}

/** Decodes X-Registry-Auth (base64url JSON); undefined for anonymous or unreadable headers. */
export function decodeRegistryAuth(header: string | undefined | null): Credentials | undefined {
  if (!header) return undefined;
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(b64decode(header)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const s = (k: string) => (typeof j[k] === 'string' && j[k] ? (j[k] as string) : undefined);
  const creds: Credentials = {
    username: s('username'),
    password: s('password'),
    identityToken: s('identitytoken'),
    registryToken: s('registrytoken'),
  };
  const auth = s('auth');
  if (auth && !creds.username) {
    const d = b64decode(auth);
    const i = d.indexOf(':');
    if (i > 0) {
      creds.username = d.slice(0, i);
      creds.password = d.slice(i + 1);
    }
  }
  return creds.username || creds.identityToken || creds.registryToken ? creds : undefined;
}

/** Keys config.json may use for a registry host (docker.io has its legacy URL). */
function configKeys(host: string): string[] {
  if (host === 'docker.io') return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  return [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`];
}

type AuthEntry = { auth?: string; identitytoken?: string; username?: string; password?: string };

/**
 * Credentials for `host` in a docker config document: config.json / a kubernetes.io/dockerconfigjson secret
 * (`{"auths": {host: {...}}}`) or the legacy .dockercfg shape (`{host: {...}}`, kubernetes.io/dockercfg).
 */
export function credentialsFromConfig(doc: unknown, host: string): Credentials | undefined {
  if (!doc || typeof doc !== 'object') return undefined;
  const d = doc as { auths?: Record<string, AuthEntry> } & Record<string, AuthEntry>;
  const auths = d.auths && typeof d.auths === 'object' ? d.auths : (d as Record<string, AuthEntry>);
  for (const k of configKeys(host)) {
    const e = auths[k];
    if (!e || typeof e !== 'object') continue;
    if (e.identitytoken) return { identityToken: e.identitytoken };
    if (e.username) return { username: e.username, password: e.password };
    if (e.auth) return decodeRegistryAuth(Buffer.from(JSON.stringify({ auth: e.auth })).toString('base64'));
  }
  return undefined;
}

/** Credentials for `host` from a docker config.json (default: $DOCKER_CONFIG or ~/.docker). */
export function readDockerConfig(host: string, file?: string): Credentials | undefined {
  const f = file ?? path.join(process.env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
  try {
    return credentialsFromConfig(JSON.parse(fs.readFileSync(f, 'utf8')), host);
  } catch {
    return undefined;
  }
}

export function basicHeader(c: Credentials): string | undefined {
  if (!c.username) return undefined;
  return 'Basic ' + Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64');
}
