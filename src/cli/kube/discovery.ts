/** Resolves what the user types (deploy, deployments.apps, Pod) to a served resource, from the server's discovery. */
import type { Rest } from './rest';

export interface ApiResource {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
}

export class Discovery {
  private resources: ApiResource[] | undefined;

  constructor(private readonly rest: Rest) {}

  async all(): Promise<ApiResource[]> {
    if (this.resources) return this.resources;
    const out: ApiResource[] = [];
    const gvs: { group: string; version: string; path: string }[] = [{ group: '', version: 'v1', path: '/api/v1' }];
    const groups = await this.rest.request('GET', '/apis');
    for (const g of groups.body?.groups ?? []) {
      const v = g.preferredVersion?.version ?? g.versions?.[0]?.version;
      if (v) gvs.push({ group: g.name, version: v, path: `/apis/${g.name}/${v}` });
    }
    const lists = await Promise.all(gvs.map((gv) => this.rest.request('GET', gv.path)));
    lists.forEach((l, i) => {
      for (const r of l.body?.resources ?? []) {
        if (String(r.name).includes('/')) continue;
        out.push({
          group: gvs[i].group,
          version: gvs[i].version,
          plural: r.name,
          singular: r.singularName || String(r.kind).toLowerCase(),
          kind: r.kind,
          namespaced: !!r.namespaced,
          shortNames: r.shortNames ?? [],
        });
      }
    });
    this.resources = out;
    return out;
  }

  async resolve(typed: string): Promise<ApiResource> {
    const lower = typed.toLowerCase();
    const dot = lower.indexOf('.');
    const base = dot < 0 ? lower : lower.slice(0, dot);
    const group = dot < 0 ? undefined : lower.slice(dot + 1);
    const cands = (await this.all()).filter(
      (r) =>
        (group === undefined || r.group === group) &&
        (r.plural === base || r.singular === base || r.kind.toLowerCase() === base || r.shortNames.includes(base)),
    );
    const r = cands.find((c) => c.group === '') ?? cands[0];
    if (!r) throw new Error(`the server doesn't have a resource type "${typed}"`);
    return r;
  }

  async forKind(apiVersion: string, kind: string): Promise<ApiResource> {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const r = (await this.all()).find((x) => x.group === group && x.kind === kind && x.version === version);
    if (!r) throw new Error(`resource mapping not found for kind "${kind}" in version "${apiVersion}"`);
    return r;
  }
}

export function pathOf(r: ApiResource, ns: string | undefined, name?: string, sub?: string): string {
  let p = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  if (r.namespaced && ns) p += `/namespaces/${encodeURIComponent(ns)}`;
  p += `/${r.plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (sub) p += `/${sub}`;
  return p;
}

/** `deployment.apps` / `configmap`: the prefix kubectl prints before /name. */
export function typeName(r: ApiResource): string {
  return r.group ? `${r.kind.toLowerCase()}.${r.group}` : r.kind.toLowerCase();
}
