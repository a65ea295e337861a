/**
 * Cluster DNS records (pure): `<service>.<namespace>.svc.<domain>` → the ClusterIP, or the ready endpoints'
 * addresses for a headless Service (clusterIP None). Names under the cluster domain that do not exist answer
 * with no addresses (never relayed to the host's resolvers); other names are not ours (undefined).
 */
import { isIPv4 } from './model';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export const CLUSTER_DOMAIN = 'cluster.local';

export interface ServiceLookup {
  service(namespace: string, name: string): Any | undefined;
  endpoints(namespace: string, name: string): Any | undefined;
}

export function lookupClusterName(name: string, src: ServiceLookup, domain = CLUSTER_DOMAIN): string[] | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n !== domain && !n.endsWith(`.${domain}`)) return undefined;
  const labels = n.slice(0, n.length - domain.length).split('.').filter(Boolean);
  // <svc>.<ns>.svc
  if (labels.length !== 3 || labels[2] !== 'svc') return [];
  const [svcName, ns] = labels;
  const svc = src.service(ns, svcName);
  const spec = svc?.spec;
  if (!spec || spec.type === 'ExternalName') return [];
  if (spec.clusterIP === 'None') {
    const out = new Set<string>();
    for (const s of src.endpoints(ns, svcName)?.subsets ?? []) for (const a of s?.addresses ?? []) if (isIPv4(a?.ip)) out.add(a.ip);
    return [...out].sort();
  }
  return isIPv4(spec.clusterIP) ? [spec.clusterIP] : [];
}

/** resolv.conf search list of a pod in namespace ns (kubelet's ClusterFirst policy). */
export function podSearchDomains(ns: string, domain = CLUSTER_DOMAIN): string[] {
  return [`${ns}.svc.${domain}`, `svc.${domain}`, domain];
}
