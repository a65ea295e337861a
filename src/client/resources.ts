/** The resources in-process components use, with their REST coordinates (group, version, plural, scope). */

export interface Resource {
  group: string; // '' for core
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

const r = (group: string, version: string, plural: string, kind: string, namespaced = true): Resource => ({
  group,
  version,
  plural,
  kind,
  namespaced,
});

export const RESOURCES = {
  pods: r('', 'v1', 'pods', 'Pod'),
  nodes: r('', 'v1', 'nodes', 'Node', false),
  namespaces: r('', 'v1', 'namespaces', 'Namespace', false),
  events: r('', 'v1', 'events', 'Event'),
  services: r('', 'v1', 'services', 'Service'),
  endpoints: r('', 'v1', 'endpoints', 'Endpoints'),
  replicasets: r('apps', 'v1', 'replicasets', 'ReplicaSet'),
  deployments: r('apps', 'v1', 'deployments', 'Deployment'),
  daemonsets: r('apps', 'v1', 'daemonsets', 'DaemonSet'),
  jobs: r('batch', 'v1', 'jobs', 'Job'),
  cronjobs: r('batch', 'v1', 'cronjobs', 'CronJob'),
  hpas: r('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler'),
  endpointslices: r('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice'),
  leases: r('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  podmetrics: r('metrics.k8s.io', 'v1beta1', 'pods', 'PodMetrics'),
  nodemetrics: r('metrics.k8s.io', 'v1beta1', 'nodes', 'NodeMetrics', false),
} as const;

export function apiVersionOf(res: Resource): string {
  return res.group ? `${res.group}/${res.version}` : res.version;
}

/** Collection or object path: /api/v1/namespaces/ns/pods[/name[/sub]]. */
export function resourcePath(res: Resource, namespace?: string, name?: string, subresource?: string): string {
  let p = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
  if (res.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${res.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}
