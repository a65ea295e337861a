/**
 * Image pulls and the JSON message streams (pull, push, load, import, build) printed the way docker prints
 * them to a non-terminal: one line per status ("<id>: <status>"), `stream` text verbatim, errors raised.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Ctx } from '../command';
import { CliError } from '../command';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** "reg:5000/a/b:tag@sha256:..." → name, tag, digest (docker's reference.ParseNormalizedNamed, simplified). */
export function splitRef(ref: string): { name: string; tag?: string; digest?: string } {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) return { name: rest.slice(0, colon), tag: rest.slice(colon + 1), digest };
  return { name: rest, digest };
}

/** docker's reference.ParseNormalizedNamed for the name part: "busybox" → "docker.io/library/busybox". */
export function normalizeName(name: string): string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasDomain = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first);
  if (hasDomain) return name;
  return slash < 0 ? `docker.io/library/${name}` : `docker.io/${name}`;
}

/** Reads a JSON message stream to its end, printing progress; throws the stream's error. Returns aux values. */
export async function displayJsonMessages(ctx: Ctx, res: IncomingMessage, quiet = false): Promise<Json[]> {
  const aux: Json[] = [];
  let buf = '';
  let err: string | undefined;
  const handle = (line: string) => {
    if (!line.trim()) return;
    let m: Json;
    try {
      m = JSON.parse(line) as Json;
    } catch {
      return;
    }
    if (m.errorDetail || m.error) {
      err = m.errorDetail?.message ?? m.error;
      return;
    }
    if (m.aux) aux.push(m.aux);
    if (quiet) return;
    if (typeof m.stream === 'string') ctx.out(m.stream);
    else if (m.status) ctx.out(`${m.id ? `${m.id}: ` : ''}${m.status}${m.progress && !m.id ? ` ${m.progress}` : ''}\n`);
  };
  res.setEncoding('utf8');
  for await (const chunk of res as AsyncIterable<string>) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      handle(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  }
  handle(buf);
  if (err !== undefined) throw new CliError(err);
  return aux;
}

/** The registry host of a normalised name ("docker.io/library/x" → "docker.io"). */
export function hostOf(normalized: string): string {
  return normalized.slice(0, normalized.indexOf('/'));
}

/** X-Registry-Auth for `host` from the client's config.json, as the docker CLI builds it. */
export function registryAuthFor(host: string, env: NodeJS.ProcessEnv = process.env): string {
  const file = path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
  const keys = host === 'docker.io' ? ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io'] : [host, `https://${host}`, `http://${host}`];
  try {
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as { auths?: Record<string, { auth?: string; identitytoken?: string }> };
    for (const k of keys) {
      const e = cfg.auths?.[k];
      if (!e) continue;
      const out: Record<string, string> = { serveraddress: k };
      if (e.auth) {
        const plain = Buffer.from(e.auth, 'base64').toString('utf8');
        const i = plain.indexOf(':');
        if (i > 0) Object.assign(out, { username: plain.slice(0, i), password: plain.slice(i + 1) });
      }
      if (e.identitytoken) out.identitytoken = e.identitytoken;
      return Buffer.from(JSON.stringify(out)).toString('base64url');
    }
  } catch {
    /* no config: anonymous */
  }
  return 'e30=';
}

export async function pullImage(ctx: Ctx, image: string, quiet: boolean): Promise<void> {
  const { name, tag, digest } = splitRef(image);
  const res = await ctx.client.request('POST', '/images/create', {
    query: { fromImage: normalizeName(name), tag: digest ?? tag ?? 'latest' },
    // The same credentials docker sends for the pull that `run`/`create` make.
    headers: { 'X-Registry-Auth': registryAuthFor(hostOf(normalizeName(name))) },
  });
  // docker prints pull progress to stderr when pulling for run/create.
  await displayJsonMessages({ ...ctx, out: ctx.err } as Ctx, res, quiet);
}
