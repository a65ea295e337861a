/**
 * `docker images --filter` and `docker image prune --filter`: reference (glob on the familiar name and
 * name:tag), dangling, label, before/since (an image), until (a time). Pure.
 */
import { invalid } from '../../common/errors';
import { familiarName, familiarString, parseReference } from './reference';
import type { ImageRecord } from './types';

export interface ImageFilter {
  reference: string[];
  dangling?: boolean;
  /** "key" or "key=value", all must match. */
  label: string[];
  /** Unix seconds: created strictly before / after. */
  before?: number;
  since?: number;
  /** Unix seconds: created before (until). */
  until?: number;
}

const KNOWN = ['reference', 'dangling', 'label', 'before', 'since', 'until'];

export const unixOf = (rfc3339: string): number => Math.floor(new Date(rfc3339).getTime() / 1000) || 0;

/**
 * Docker filter map -> ImageFilter. `createdOf` resolves before/since image references to their creation
 * time; `now` is for relative `until` durations.
 */
export function parseImageFilter(
  raw: Map<string, string[]>,
  createdOf: (ref: string) => number,
  now = Date.now(),
  allowed = KNOWN,
): ImageFilter {
  for (const name of raw.keys()) if (!allowed.includes(name)) throw invalid(`invalid filter '${name}'`);
  const f: ImageFilter = { reference: raw.get('reference') ?? [], label: raw.get('label') ?? [] };
  const dangling = raw.get('dangling');
  if (dangling?.length) {
    const v = dangling[0].toLowerCase();
    if (!['true', 'false', '1', '0'].includes(v)) throw invalid(`invalid filter 'dangling=${dangling[0]}'`);
    f.dangling = v === 'true' || v === '1';
  }
  const before = raw.get('before')?.[0];
  if (before) f.before = createdOf(before);
  const since = raw.get('since')?.[0];
  if (since) f.since = createdOf(since);
  const until = raw.get('until')?.[0];
  if (until) f.until = parseTimestamp(until, now);
  return f;
}

/** Go-duration ("90m", "1h30m", "10s") ago, unix seconds, or an RFC 3339 time -> unix seconds. */
export function parseTimestamp(v: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Math.floor(Number(v));
  const dur = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v);
  if (dur && v !== '') {
    const secs = Number(dur[1] ?? 0) * 3600 + Number(dur[2] ?? 0) * 60 + Number(dur[3] ?? 0);
    return Math.floor(now / 1000) - secs;
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalid(`invalid filter 'until=${v}'`);
  return Math.floor(t / 1000);
}

/** Go's path.Match subset Docker uses for the reference filter: * ? and [...] within one segment. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end === -1) re += '\\[';
      else {
        re += '[' + pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Docker's FamiliarMatch: the pattern against name:tag, then against the name alone. */
export function referenceMatches(ref: string, pattern: string): boolean {
  const re = globToRegExp(pattern);
  const p = parseReference(ref);
  return re.test(familiarString(p)) || re.test(familiarName(p));
}

export function labelsMatch(labels: Record<string, string> | undefined, exprs: string[]): boolean {
  const l = labels ?? {};
  return exprs.every((e) => {
    const i = e.indexOf('=');
    return i === -1 ? e in l : l[e.slice(0, i)] === e.slice(i + 1);
  });
}

/**
 * Applies a filter. With a reference filter, the records keep only the names that matched (as Docker
 * shows them). Returns new records; the input is not modified.
 */
export function filterImages(records: ImageRecord[], f: ImageFilter): ImageRecord[] {
  const out: ImageRecord[] = [];
  for (const rec of records) {
    if (f.dangling !== undefined && (rec.repoTags.length === 0) !== f.dangling) continue;
    let { repoTags, repoDigests } = rec;
    if (f.reference.length) {
      repoTags = repoTags.filter((t) => f.reference.some((p) => referenceMatches(t, p)));
      repoDigests = repoDigests.filter((t) => f.reference.some((p) => referenceMatches(t, p)));
      if (repoTags.length === 0 && repoDigests.length === 0) continue;
    }
    if (!labelsMatch(rec.config.Labels, f.label)) continue;
    const created = unixOf(rec.created);
    if (f.before !== undefined && created >= f.before) continue;
    if (f.since !== undefined && created <= f.since) continue;
    if (f.until !== undefined && created >= f.until) continue;
    out.push({ ...rec, repoTags, repoDigests });
  }
  return out;
}
