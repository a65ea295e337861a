/**
 * docker's list formatting: `table` (default columns with headers), `table TEMPLATE`, `json`, or a raw
 * template, all passed through Go's text/tabwriter as docker configures it (minwidth 10, padding 3, the
 * last cell of a line unpadded). Row objects expose docker's field names (.ID, .Image, .Names...) as
 * getters; the header row is the same template run against the column titles. Pure.
 */
import { compileTemplate, goJson } from './template';

const MIN_WIDTH = 10;
const PADDING = 3;

const width = (s: string) => [...s].length;

/** Go's tabwriter.NewWriter(out, minWidth, 1, 3, ' ', 0) over tab-separated lines (docker: 10; `top`: 20). */
export function tabwrite(text: string, minWidth = MIN_WIDTH): string {
  const lines = text.split('\n');
  const trailingNewline = text.endsWith('\n');
  if (trailingNewline) lines.pop();
  const cells = lines.map((l) => l.split('\t'));
  // Go's rule: column c is aligned over each run of consecutive lines that have a tab-terminated cell c.
  const pad: number[][] = cells.map((row) => new Array(Math.max(0, row.length - 1)).fill(0));
  const maxCols = Math.max(0, ...cells.map((r) => r.length - 1));
  for (let col = 0; col < maxCols; col++) {
    let r = 0;
    while (r < cells.length) {
      if (cells[r].length - 1 <= col) {
        r++;
        continue;
      }
      let end = r;
      let w = 0;
      while (end < cells.length && cells[end].length - 1 > col) w = Math.max(w, width(cells[end++][col]));
      for (let k = r; k < end; k++) pad[k][col] = Math.max(w + PADDING, minWidth);
      r = end;
    }
  }
  const out = cells.map((row, r) => row.map((cell, col) => (col === row.length - 1 ? cell : cell + ' '.repeat(pad[r][col] - width(cell)))).join(''));
  return out.join('\n') + (trailingNewline ? '\n' : '');
}

/** Escapes a JSON map of strings in the shape docker's `--format json` prints per row. */
export function rowJson(row: Record<string, unknown>, keys: string[]): string {
  const o: Record<string, unknown> = {};
  for (const k of keys) o[k] = row[k];
  return goJson(o);
}

export interface ListFormat<R> {
  /** The default `table` template, e.g. "table {{.ID}}\t{{.Image}}...". */
  defaultTable: string;
  /** Column title per field for the header row. */
  headers: Record<string, string>;
  /** The row's fields, in docker's JSON order, for `--format json`. */
  jsonKeys: string[];
  rows: R[];
}

/**
 * Renders rows with docker's --format semantics. `format` empty/undefined → the default table; "table" /
 * "table TPL" → header + rows; "json" → one JSON object per line; anything else → the template per row.
 */
export function formatList<R extends object>(format: string | undefined, spec: ListFormat<R>): string {
  let fmt = format && format.length ? format : 'table';
  if (fmt === 'json') return spec.rows.map((r) => rowJson(r as Record<string, unknown>, spec.jsonKeys) + '\n').join('');
  if (fmt === 'table') fmt = spec.defaultTable;
  const isTable = fmt.startsWith('table');
  const body = isTable ? fmt.slice(5).replace(/^\s/, '') : fmt;
  // docker un-escapes "\t" and "\n" typed literally on the command line.
  const tplSrc = body.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const tpl = compileTemplate(tplSrc);
  let out = '';
  if (isTable) {
    const header = new Proxy(spec.headers, {
      get: (t, k) => (typeof k === 'string' ? (t[k] ?? headerFallback(k)) : undefined),
    });
    out += tpl.execute(header) + '\n';
  }
  for (const r of spec.rows) out += tpl.execute(r) + '\n';
  return tabwrite(out);
}

/** docker titles an unknown field by upper-casing its name, with word breaks. */
function headerFallback(k: string): string {
  return k.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}

/** docker's stringutils.Ellipsis: truncate to `max` display chars with a trailing "…". */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  if (max <= 1) return chars.slice(0, max).join('');
  return chars.slice(0, max - 1).join('') + '…';
}

/** Go's strconv.Quote for the printable strings commands contain. */
export function goQuote(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
}

/** "sha256:abc..." → first 12 hex chars (docker's stringid.TruncateID). */
export function shortId(id: string): string {
  const i = id.indexOf(':');
  return (i >= 0 ? id.slice(i + 1) : id).slice(0, 12);
}

/** A list row's .Labels cell: "k=v" pairs joined by commas, keys sorted (docker ranges over a map; sorted is stable). */
export function joinLabels(labels: Record<string, string> | null | undefined): string {
  const l = labels ?? {};
  return Object.keys(l)
    .sort()
    .map((k) => `${k}=${l[k]}`)
    .join(',');
}

/** The .Labels and .Label "key" fields docker's list rows (networks, volumes) share. */
export function labelFields(labels: Record<string, string> | null | undefined) {
  return {
    Labels: joinLabels(labels),
    Label(k: string): string {
      return labels?.[k] ?? '';
    },
  };
}

/** Re-indents raw JSON text like Go's json.Indent(prefix "", indent "    "), keeping numbers verbatim. */
export function indentJson(raw: string, indent = '    '): string {
  let out = '';
  let depth = 0;
  let i = 0;
  const nl = () => '\n' + indent.repeat(depth);
  while (i < raw.length) {
    const c = raw[i];
    if (c === '"') {
      let j = i + 1;
      while (j < raw.length && raw[j] !== '"') j += raw[j] === '\\' ? 2 : 1;
      out += raw.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === ' ' || c === '\n' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '{' || c === '[') {
      // Empty containers stay on one line.
      let j = i + 1;
      while (j < raw.length && /\s/.test(raw[j])) j++;
      if (raw[j] === (c === '{' ? '}' : ']')) {
        out += c + raw[j];
        i = j + 1;
        continue;
      }
      depth++;
      out += c + nl();
    } else if (c === '}' || c === ']') {
      depth--;
      out += nl() + c;
    } else if (c === ',') out += ',' + nl();
    else if (c === ':') out += ': ';
    else out += c;
    i++;
  }
  return out;
}
