/**
 * Discovery documents built from the served resources: legacy (/api, /apis, /api/v1, /apis/g/v) and
 * aggregated (apidiscovery.k8s.io v2 and v2beta1, answered only for the exact version asked). Pure.
 */
import type { ResourceInfo } from './resource';
import { groupVersion } from './resource';
import { mediaParams } from './table';

/** What each subresource name means on the wire (kind served, verbs). */
const SUBRESOURCES: Record<string, { group?: string; version?: string; kind?: string; verbs: string[] }> = {
  status: { verbs: ['get', 'patch', 'update'] },
  scale: { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
  log: { kind: 'Pod', verbs: ['get'] },
  exec: { kind: 'PodExecOptions', verbs: ['create', 'get'] },
  attach: { kind: 'PodAttachOptions', verbs: ['create', 'get'] },
  portforward: { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
  proxy: { kind: 'PodProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
  binding: { kind: 'Binding', verbs: ['create'] },
  eviction: { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
};

export interface GroupVersions {
  group: string;
  versions: string[];
}

export function groupsOf(resources: ResourceInfo[]): GroupVersions[] {
  const m = new Map<string, string[]>();
  for (const r of resources) {
    const vs = m.get(r.group) ?? [];
    if (!vs.includes(r.version)) vs.push(r.version);
    m.set(r.group, vs);
  }
  return [...m.entries()].map(([group, versions]) => ({ group, versions }));
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList(resources: ResourceInfo[]): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groupsOf(resources)
      .filter((g) => g.group !== '')
      .map((g) => apiGroup(g)),
  };
}

function apiGroup(g: GroupVersions): object {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.group}/${v}`, version: v }));
  return { name: g.group, versions, preferredVersion: versions[0] };
}

export function apiGroupDoc(resources: ResourceInfo[], group: string): object | undefined {
  const g = groupsOf(resources).find((x) => x.group === group && group !== '');
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g) } : undefined;
}

export function apiResourceList(resources: ResourceInfo[], group: string, version: string): object | undefined {
  const rs = resources.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const out: object[] = [];
  for (const r of rs) {
    const main: Record<string, unknown> = {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
    };
    if (r.shortNames?.length) main.shortNames = r.shortNames;
    if (r.categories?.length) main.categories = r.categories;
    out.push(main);
    for (const s of r.subresources) {
      const d = SUBRESOURCES[s] ?? { verbs: ['get'] };
      const e: Record<string, unknown> = {
        name: `${r.plural}/${s}`,
        singularName: '',
        namespaced: r.namespaced,
        kind: d.kind ?? r.kind,
        verbs: d.verbs,
      };
      if (d.group !== undefined) (e.group = d.group), (e.version = d.version);
      out.push(e);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group, version }), resources: out };
}

/** The aggregated discovery version asked for in Accept ('v2', 'v2beta1'), or undefined for the legacy form. */
export function aggregatedVersionAsked(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const p = mediaParams(part);
    if (p.g === 'apidiscovery.k8s.io' && p.as === 'APIGroupDiscoveryList' && (p.v === 'v2' || p.v === 'v2beta1')) return p.v;
    if (!p.as && /json|\*\/\*/.test(p[''])) return undefined;
  }
  return undefined;
}

export function aggregatedContentType(v: 'v2' | 'v2beta1'): string {
  return `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;
}

/** APIGroupDiscoveryList for /api (core only) or /apis (all named groups). */
export function aggregatedDiscovery(resources: ResourceInfo[], core: boolean, v: 'v2' | 'v2beta1'): object {
  const groups = groupsOf(resources).filter((g) => (core ? g.group === '' : g.group !== ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${v}`,
    metadata: {},
    items: groups.map((g) => ({
      metadata: { name: g.group, creationTimestamp: null },
      versions: g.versions.map((ver) => ({
        version: ver,
        resources: resources
          .filter((r) => r.group === g.group && r.version === ver)
          .map((r) => {
            const e: Record<string, unknown> = {
              resource: r.plural,
              responseKind: { group: r.group, version: r.version, kind: r.kind },
              scope: r.namespaced ? 'Namespaced' : 'Cluster',
              singularResource: r.singular,
              verbs: r.verbs,
            };
            if (r.shortNames?.length) e.shortNames = r.shortNames;
            if (r.categories?.length) e.categories = r.categories;
            if (r.subresources.length)
              e.subresources = r.subresources.map((s) => {
                const d = SUBRESOURCES[s] ?? { verbs: ['get'] };
                return {
                  subresource: s,
                  responseKind: { group: d.group ?? r.group, version: d.version ?? r.version, kind: d.kind ?? r.kind },
                  verbs: d.verbs,
                };
              });
            return e;
          }),
        freshness: 'Current',
      })),
    })),
  };
}

export function versionInfo(): object {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0+skiff',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}
