/** Column helpers for server-side tables (pkg/printers/internalversion/printers.go). */
import type { TableColumnDefinition, KubeObject } from '../resource';
import { since } from './util';
import { formatLabelSelector } from './labels';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export function col(name: string, type: TableColumnDefinition['type'], description: string, priority = 0, format = ''): TableColumnDefinition {
  return { name, type, format, description, priority };
}

export const NAME_COL = col(
  'Name',
  'string',
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  0,
  'name',
);
export const AGE_COL = col(
  'Age',
  'string',
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
);

export const name = (o: KubeObject) => o.metadata?.name ?? '';
export const age = (o: KubeObject) => since(o.metadata?.creationTimestamp);

export const CONTAINERS_COL = col('Containers', 'string', 'Names of each container in the template.', 1);
export const IMAGES_COL = col('Images', 'string', 'Images referenced by each container in the template.', 1);
export const SELECTOR_COL = (d: string) => col('Selector', 'string', d, 1);

export function containerNames(podSpec: Any): string {
  return (podSpec?.containers ?? []).map((c: Any) => c?.name ?? '').join(',');
}
export function containerImages(podSpec: Any): string {
  return (podSpec?.containers ?? []).map((c: Any) => c?.image ?? '').join(',');
}
export function selectorString(sel: Any): string {
  return formatLabelSelector(sel);
}

/**
 * The -o wide Containers, Images and (given its help text) Selector columns of a kind with a pod template;
 * `workload` finds the spec holding `template` and `selector` (a CronJob's is under jobTemplate).
 */
export function templateColumns(workload: (o: Any) => Any, selectorHelp?: string): { col: TableColumnDefinition; cell: (o: Any) => unknown }[] {
  const cols = [
    { col: CONTAINERS_COL, cell: (o: Any) => containerNames(workload(o)?.template?.spec) },
    { col: IMAGES_COL, cell: (o: Any) => containerImages(workload(o)?.template?.spec) },
  ];
  if (selectorHelp !== undefined) cols.push({ col: SELECTOR_COL(selectorHelp), cell: (o: Any) => selectorString(workload(o)?.selector) });
  return cols;
}

/**
 * Builds a complete table (NAME first, AGE at `ageAt` among the kind's own columns) so the resource's
 * `table.complete` is true and the machinery adds nothing.
 */
export function table(
  own: { col: TableColumnDefinition; cell: (o: Any) => unknown }[],
  ageAt = own.filter((c) => c.col.priority === 0).length,
) {
  const columns = [NAME_COL, ...own.slice(0, ageAt).map((c) => c.col), AGE_COL, ...own.slice(ageAt).map((c) => c.col)];
  const getters = [name, ...own.slice(0, ageAt).map((c) => c.cell), age, ...own.slice(ageAt).map((c) => c.cell)];
  return { columns, cells: (o: KubeObject) => getters.map((g) => g(o)), complete: true as const };
}
