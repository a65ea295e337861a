/**
 * Image pulls and the JSON message streams (pull, push, load, import, build) printed the way docker prints
 * them to a non-terminal: one line per status ("<id>: <status>"), `stream` text verbatim, errors raised.
 */
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

export async function pullImage(ctx: Ctx, image: string, quiet: boolean): Promise<void> {
  const { name, tag, digest } = splitRef(image);
  const res = await ctx.client.request('POST', '/images/create', {
    query: { fromImage: normalizeName(name), tag: digest ?? tag ?? 'latest' },
    headers: { 'X-Registry-Auth': 'e30=' },
  });
  // docker prints pull progress to stderr when pulling for run/create.
  await displayJsonMessages({ ...ctx, out: ctx.err } as Ctx, res, quiet);
}
