/** Output formats of the kubectl-like verbs: server-side Tables as aligned columns, YAML, JSON, names. Pure. */
import YAML from 'yaml';

export interface TableLike {
  columnDefinitions: { name: string; priority: number }[];
  rows: { cells: unknown[]; object?: { metadata?: { namespace?: string } } }[];
}

/** Columns separated by three spaces, padded to the widest cell (kubectl's tabwriter settings). */
export function formatColumns(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 3))).join('').trimEnd() + '\n').join('');
}

export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '<none>';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function tableRows(t: TableLike, opts: { wide: boolean; withNamespace: boolean; noHeaders?: boolean; kindPrefix?: string }): string[][] {
  const idx = t.columnDefinitions.map((c, i) => (opts.wide || c.priority === 0 ? i : -1)).filter((i) => i >= 0);
  const out: string[][] = [];
  if (!opts.noHeaders) {
    const h = idx.map((i) => t.columnDefinitions[i].name.toUpperCase());
    out.push(opts.withNamespace ? ['NAMESPACE', ...h] : h);
  }
  for (const row of t.rows) {
    const cells = idx.map((i, j) => {
      const s = cellText(row.cells[i]);
      return j === 0 && opts.kindPrefix ? `${opts.kindPrefix}/${s}` : s;
    });
    out.push(opts.withNamespace ? [row.object?.metadata?.namespace ?? '', ...cells] : cells);
  }
  return out;
}

export function toYaml(v: unknown): string {
  return YAML.stringify(v, { lineWidth: 0 });
}

export function toJson(v: unknown): string {
  return JSON.stringify(v, null, 4) + '\n';
}
