/**
 * Label selectors: the string form of list queries (`app=web,tier!=db,env in (a,b),!legacy`), the structured
 * metav1.LabelSelector form of specs, matching, and formatting as kubectl prints them. Field selectors too
 * (only =, ==, != exist there).
 */

export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Parses a label selector string; throws Error with upstream-like text when malformed. */
export function parseLabelSelector(input: string): Requirement[] {
  const reqs: Requirement[] = [];
  const s = input.trim();
  if (s === '') return reqs;
  let i = 0;
  const skipWs = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const readIdent = (): string => {
    skipWs();
    const start = i;
    while (i < s.length && !/[\s,=!()<>]/.test(s[i])) i++;
    return s.slice(start, i);
  };
  for (;;) {
    skipWs();
    if (s[i] === '!') {
      i++;
      const key = readIdent();
      if (!key) throw new Error(`unable to parse requirement: found '${s.slice(i)}', expected: identifier`);
      reqs.push({ key, operator: 'DoesNotExist', values: [] });
    } else {
      const key = readIdent();
      if (!key) throw new Error(`unable to parse requirement: found '${s.slice(i) || 'EOS'}', expected: identifier`);
      skipWs();
      const rest = s.slice(i);
      if (rest.startsWith('==') || rest.startsWith('!=') || rest.startsWith('=')) {
        const op = rest.startsWith('!=') ? 'NotIn' : 'In';
        i += rest.startsWith('=') && !rest.startsWith('==') ? 1 : 2;
        const value = readIdent();
        reqs.push({ key, operator: op, values: [value] });
      } else if (rest.startsWith('>') || rest.startsWith('<')) {
        i++;
        const value = readIdent();
        if (!/^-?\d+$/.test(value)) throw new Error(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
        reqs.push({ key, operator: rest[0] === '>' ? 'Gt' : 'Lt', values: [value] });
      } else if (/^(in|notin)\s*\(/.test(rest)) {
        const op: Operator = rest.startsWith('in') ? 'In' : 'NotIn';
        i = s.indexOf('(', i) + 1;
        const close = s.indexOf(')', i);
        if (close < 0) throw new Error(`unable to parse requirement: found '${s.slice(i) || 'EOS'}', expected: ')'`);
        const values = s
          .slice(i, close)
          .split(',')
          .map((v) => v.trim());
        i = close + 1;
        reqs.push({ key, operator: op, values }); // `in ()` is the set {""}, as upstream's parseValues
      } else if (rest === '' || rest.startsWith(',')) {
        reqs.push({ key, operator: 'Exists', values: [] });
      } else {
        throw new Error(`unable to parse requirement: found '${rest}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    skipWs();
    if (i >= s.length) break;
    if (s[i] !== ',') throw new Error(`found '${s.slice(i)}', expected: ',' or 'end of string'`);
    i++;
  }
  return reqs;
}

export function selectorFromObject(sel: LabelSelectorObject | undefined | null): Requirement[] {
  const reqs: Requirement[] = [];
  if (!sel) return reqs;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, operator: 'In', values: [v] });
  for (const e of sel.matchExpressions ?? []) reqs.push({ key: e.key, operator: e.operator as Operator, values: e.values ?? [] });
  return reqs;
}

export function matches(reqs: Requirement[], labels: Record<string, string> | undefined | null): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.operator) {
      case 'In':
        return has && r.values.includes(l[r.key]);
      case 'NotIn':
        return !has || !r.values.includes(l[r.key]);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      case 'Gt':
      case 'Lt': {
        if (!has || !/^-?\d+$/.test(l[r.key])) return false;
        const a = Number(l[r.key]);
        const b = Number(r.values[0]);
        return r.operator === 'Gt' ? a > b : a < b;
      }
    }
  });
}

/** A LabelSelector object matches: an empty selector matches everything, a null one nothing (upstream). */
export function selectorMatches(sel: LabelSelectorObject | undefined | null, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  return matches(selectorFromObject(sel), labels);
}

/** metav1.FormatLabelSelector: "app=web,tier in (a,b)"; "<none>" when empty. */
export function formatLabelSelector(sel: LabelSelectorObject | undefined | null): string {
  if (!sel) return '<none>';
  const reqs = selectorFromObject(sel).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (reqs.length === 0) return '<none>';
  return reqs
    .map((r) => {
      switch (r.operator) {
        case 'In':
          return r.values.length === 1 && sel.matchLabels?.[r.key] === r.values[0] ? `${r.key}=${r.values[0]}` : `${r.key} in (${[...r.values].sort().join(',')})`;
        case 'NotIn':
          return `${r.key} notin (${[...r.values].sort().join(',')})`;
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
        case 'Gt':
          return `${r.key}>${r.values[0]}`;
        case 'Lt':
          return `${r.key}<${r.values[0]}`;
      }
    })
    .join(',');
}

/** labels.Set.String(): "a=b,c=d" sorted; "<none>" for empty (service SELECTOR column uses this). */
export function formatLabels(map: Record<string, string> | undefined | null): string {
  const keys = Object.keys(map ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${map![k]}`).join(',');
}

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

/** Field selector string (`metadata.name=x,status.phase!=Running`); backslash escapes as upstream. */
export function parseFieldSelector(input: string): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (!input.trim()) return out;
  for (const part of splitUnescaped(input, ',')) {
    if (!part.trim()) continue; // empty terms are skipped, as upstream's fields.ParseSelector does
    const m = /^([^=!]+?)\s*(==|!=|=)\s*(.*)$/.exec(part.trim());
    if (!m) throw new Error(`invalid selector: '${input}'; can't understand '${part}'`);
    out.push({ field: m[1].trim(), operator: m[2] === '!=' ? '!=' : '=', value: unescapeField(m[3]) });
  }
  return out;
}

function splitUnescaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) {
      cur += s[i] + s[i + 1];
      i++;
    } else if (s[i] === sep) {
      parts.push(cur);
      cur = '';
    } else cur += s[i];
  }
  parts.push(cur);
  return parts;
}

function unescapeField(v: string): string {
  return v.replace(/\\(.)/g, '$1');
}

export function fieldsMatch(reqs: FieldRequirement[], get: (field: string) => string | undefined): boolean {
  return reqs.every((r) => {
    const v = get(r.field) ?? '';
    return r.operator === '=' ? v === r.value : v !== r.value;
  });
}
