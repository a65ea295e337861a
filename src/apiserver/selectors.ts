/**
 * Label selectors (=, ==, !=, in, notin, exists, !key) and field selectors (=, ==, !=), parsed from their
 * query-string forms and matched against objects. Pure.
 */
import { statusError } from './status';
import { parseFieldSelector as parseFieldTerms } from './resources/labels';

export type LabelRequirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

export type LabelSelector = LabelRequirement[];

/** Parses `a=b,c!=d,e in (x,y),!f,g`. Throws a 400 Status on syntax errors. */
export function parseLabelSelector(s: string): LabelSelector {
  const reqs: LabelSelector = [];
  let i = 0;
  const n = s.length;
  const ws = () => {
    while (i < n && s[i] === ' ') i++;
  };
  const fail = (why: string): never => {
    throw statusError(400, 'BadRequest', `unable to parse requirement: ${why}: "${s}"`);
  };
  const ident = (): string => {
    ws();
    const start = i;
    while (i < n && !' ,=!()'.includes(s[i])) i++;
    return s.slice(start, i);
  };
  while (true) {
    ws();
    if (i >= n) break;
    if (s[i] === '!') {
      i++;
      const key = ident();
      if (!key) fail('missing key after "!"');
      reqs.push({ key, op: 'notexists' });
    } else {
      const key = ident();
      if (!key) fail('missing key');
      ws();
      if (i >= n || s[i] === ',') {
        reqs.push({ key, op: 'exists' });
      } else if (s.startsWith('==', i) || s[i] === '=') {
        i += s.startsWith('==', i) ? 2 : 1;
        reqs.push({ key, op: 'in', values: [ident()] });
      } else if (s.startsWith('!=', i)) {
        i += 2;
        reqs.push({ key, op: 'notin', values: [ident()] });
      } else {
        const word = ident();
        if (word !== 'in' && word !== 'notin') fail(`unexpected "${word}"`);
        ws();
        if (s[i] !== '(') fail('expected "("');
        i++;
        const values: string[] = [];
        while (true) {
          const v = ident();
          values.push(v);
          ws();
          if (s[i] === ',') {
            i++;
            continue;
          }
          if (s[i] === ')') {
            i++;
            break;
          }
          fail('expected "," or ")"');
        }
        reqs.push({ key, op: word as 'in' | 'notin', values: values.filter((v) => v !== '' || values.length === 1) });
      }
    }
    ws();
    if (i < n) {
      if (s[i] !== ',') fail(`unexpected "${s[i]}"`);
      i++;
    }
  }
  return reqs;
}

export function matchLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of sel) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case 'notexists':
        if (has) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(l[r.key])) return false;
        break;
      case 'notin':
        if (has && r.values.includes(l[r.key])) return false;
        break;
    }
  }
  return true;
}

/** A LabelSelector object (matchLabels + matchExpressions) as its string form, e.g. for Scale.status.selector. */
export function labelSelectorToString(sel: unknown): string {
  if (!sel || typeof sel !== 'object') return '';
  const o = sel as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  const parts: string[] = [];
  for (const [k, v] of Object.entries(o.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of o.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort().join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${vals})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${vals})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.sort().join(',');
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/**
 * Parses `metadata.name=x,status.phase!=Running` (values may escape `\,` `\=` `\\`). The parser is the kinds'
 * one (src/apiserver/resources/labels.ts); here it only gains the API's error form (400 BadRequest Status).
 */
export function parseFieldSelector(s: string): FieldRequirement[] {
  try {
    return parseFieldTerms(s).map((r) => ({ field: r.field, op: r.operator, value: r.value }));
  } catch (e) {
    throw statusError(400, 'BadRequest', (e as Error).message);
  }
}

export function matchFields(reqs: FieldRequirement[], get: (field: string) => string | undefined): boolean {
  for (const r of reqs) {
    const v = get(r.field) ?? '';
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
