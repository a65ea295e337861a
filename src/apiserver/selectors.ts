/**
 * Label selectors (=, ==, !=, in, notin, exists, !key, >, <) and field selectors (=, ==, !=), parsed from their
 * query-string forms and matched against objects. Pure.
 */
import { statusError } from './status';
import {
  formatLabelSelector,
  matches,
  parseFieldSelector as parseFieldTerms,
  parseLabelSelector as parseLabelTerms,
  type LabelSelectorObject,
  type Requirement,
} from './resources/labels';

export type LabelSelector = Requirement[];

/**
 * Parses `a=b,c!=d,e in (x,y),!f,g,h>1`. The parser is the kinds' one (src/apiserver/resources/labels.ts);
 * here it only gains the API's error form (400 BadRequest Status).
 */
export function parseLabelSelector(s: string): LabelSelector {
  try {
    return parseLabelTerms(s);
  } catch (e) {
    throw statusError(400, 'BadRequest', (e as Error).message);
  }
}

export function matchLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  return matches(sel, labels);
}

/**
 * A LabelSelector object (matchLabels + matchExpressions) as its string form, e.g. for Scale.status.selector:
 * the kinds' formatter (requirements sorted by key, as upstream's LabelSelectorAsSelector(...).String()), with
 * "" rather than kubectl's "<none>" for an empty or missing selector.
 */
export function labelSelectorToString(sel: unknown): string {
  if (!sel || typeof sel !== 'object') return '';
  const s = formatLabelSelector(sel as LabelSelectorObject);
  return s === '<none>' ? '' : s;
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
