/**
 * Server-side Table output (meta.k8s.io/v1 Table) for `kubectl get`: NAME first, the kind's default columns,
 * AGE, then the kind's -o wide columns (priority 1), as upstream's printers lay them out. Pure.
 */
import type { KubeObject, ResourceInfo, TableColumnDefinition } from './resource';
import { AGE_COL, NAME_COL } from './resources/tables';
import { humanDuration, since } from './resources/util';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

interface Layout {
  columns: TableColumnDefinition[];
  /** For each output column: -1 name, -2 age, else the index into the kind's cells. */
  source: number[];
}

const layouts = new WeakMap<ResourceInfo, Layout>();

function layoutOf(r: ResourceInfo): Layout {
  let l = layouts.get(r);
  if (l) return l;
  const own = r.table?.columns ?? [];
  if (r.table?.complete) {
    l = { columns: own, source: own.map((_, i) => i) };
  } else {
    const columns: TableColumnDefinition[] = [NAME_COL];
    const source: number[] = [-1];
    own.forEach((c, i) => {
      if (c.priority === 0) (columns.push(c), source.push(i));
    });
    columns.push(AGE_COL);
    source.push(-2);
    own.forEach((c, i) => {
      if (c.priority !== 0) (columns.push(c), source.push(i));
    });
    l = { columns, source };
  }
  layouts.set(r, l);
  return l;
}

export function partialObjectMetadata(obj: KubeObject): unknown {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata ?? {} };
}

export function tableRow(r: ResourceInfo, obj: KubeObject, include: IncludeObject, now = Date.now()): TableRow {
  const l = layoutOf(r);
  let own: unknown[] = [];
  try {
    own = r.table ? r.table.cells(obj) : [];
  } catch {
    own = [];
  }
  const cells = l.source.map((s) => {
    if (s === -1) return obj.metadata?.name ?? '';
    if (s === -2) return translateTimestampSince(obj.metadata?.creationTimestamp, now);
    const v = own[s];
    return v === undefined || v === null ? '<none>' : v;
  });
  const row: TableRow = { cells };
  if (include === 'Metadata') row.object = partialObjectMetadata(obj);
  else if (include === 'Object') row.object = obj;
  return row;
}

export function toTable(
  r: ResourceInfo,
  items: KubeObject[],
  meta: Table['metadata'],
  include: IncludeObject,
  withColumns = true,
): Table {
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: meta,
    columnDefinitions: withColumns ? layoutOf(r).columns : [],
    rows: items.map((o) => tableRow(r, o, include, now)),
  };
}

/** kubectl's translateTimestampSince; the kinds' printers use the same helper (resources/util.ts). */
export const translateTimestampSince = since;
export { humanDuration };

/**
 * Parses an Accept header and reports whether a Table was asked (`as=Table;v=v1;g=meta.k8s.io`) ahead of
 * plain JSON. kubectl sends `application/json;as=Table;v=v1;g=meta.k8s.io,application/json`.
 */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(',')) {
    const params = mediaParams(part);
    if (params.as === 'Table' && (params.g ?? 'meta.k8s.io') === 'meta.k8s.io' && (params.v === 'v1' || params.v === 'v1beta1'))
      return true;
    if (!params.as && /json|\*\/\*/.test(part)) return false;
  }
  return false;
}

export function mediaParams(part: string): Record<string, string> {
  const out: Record<string, string> = {};
  const segs = part.split(';');
  out[''] = segs[0].trim();
  for (const p of segs.slice(1)) {
    const eq = p.indexOf('=');
    if (eq > 0) out[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
  }
  return out;
}
