/** core/v1 kinds: namespaces, pods, services, endpoints, nodes, events, configmaps, secrets, serviceaccounts, PVCs. */
import type { FieldCause } from '../../common/errors';
import type { KubeObject, ResourceInfo } from '../resource';
import { defaultPodOnly, defaultPodSpec, validatePodSpec } from './podspec';
import { canonicalQuantity } from './quantity';
import { col, table } from './tables';
import { clone, deepEqual, humanDuration, refFieldSelectors, setDefault, since } from './util';
import { formatLabels } from './labels';
import {
  causes,
  immutable,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isValidPortName,
  isValidPortNum,
  oneOf,
  validateObjectMeta,
  validateQuantity,
} from './validation';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const ALL_VERBS: ResourceInfo['verbs'] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const NO_DEFAULTS = () => {};

function base(
  r: Pick<ResourceInfo, 'kind' | 'plural' | 'singular' | 'namespaced'> & Partial<ResourceInfo>,
): Omit<ResourceInfo, 'defaults' | 'validate' | 'table'> {
  return {
    group: '',
    version: 'v1',
    verbs: ALL_VERBS,
    subresources: [],
    hasStatus: false,
    tracksGeneration: false,
    schemaName: `io.k8s.api.core.v1.${r.kind}`,
    ...r,
  };
}

// --- namespaces -----------------------------------------------------------------------------------

export const namespaces: ResourceInfo = {
  ...base({ kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false, shortNames: ['ns'] }),
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: ['status', 'finalize'],
  hasStatus: true,
  defaults(o: Any) {
    const name = o.metadata?.name;
    if (name) {
      o.metadata.labels ??= {};
      o.metadata.labels['kubernetes.io/metadata.name'] = name;
    }
    o.spec ??= {};
    setDefault(o.spec, 'finalizers', ['kubernetes']);
    o.status ??= {};
    setDefault(o.status, 'phase', 'Active');
  },
  validate(o: Any, old?: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Label);
    if (o.metadata?.name && o.metadata?.labels?.['kubernetes.io/metadata.name'] !== undefined && o.metadata.labels['kubernetes.io/metadata.name'] !== o.metadata.name)
      out.push(causes.invalid('metadata.labels', o.metadata.labels['kubernetes.io/metadata.name'], `must be ${o.metadata.name}`));
    void old;
    return out;
  },
  table: table([{ col: col('Status', 'string', 'The status of the namespace'), cell: (o) => o.status?.phase ?? '' }]),
};

// --- pods -----------------------------------------------------------------------------------------

function podStatusReason(pod: Any): string {
  let reason: string = pod.status?.phase ?? '';
  if (pod.status?.reason) reason = pod.status.reason;
  const initStatuses: Any[] = pod.status?.initContainerStatuses ?? [];
  const initCount = (pod.spec?.initContainers ?? []).length;
  let initializing = false;
  for (let i = 0; i < initStatuses.length; i++) {
    const s = initStatuses[i];
    const t = s?.state?.terminated;
    const w = s?.state?.waiting;
    if (t && t.exitCode === 0) continue;
    // A started sidecar (restartable init container) no longer holds initialisation (upstream printPod).
    if (isSidecar(pod, s?.name) && s?.started) continue;
    if (t) {
      reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
      initializing = true;
    } else if (w && w.reason && w.reason !== 'PodInitializing') {
      reason = `Init:${w.reason}`;
      initializing = true;
    } else {
      reason = `Init:${i}/${initCount}`;
      initializing = true;
    }
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    const statuses: Any[] = pod.status?.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const s = statuses[i];
      const w = s?.state?.waiting;
      const t = s?.state?.terminated;
      if (w?.reason) reason = w.reason;
      else if (t?.reason) reason = t.reason;
      else if (t && !t.reason) reason = t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`;
      else if (s?.ready && s?.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = (pod.status?.conditions ?? []).some((c: Any) => c.type === 'Ready' && c.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata?.deletionTimestamp && pod.status?.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp) reason = 'Terminating';
  return reason;
}

function podRestarts(pod: Any): string {
  let restarts = 0;
  let last: number | undefined;
  for (const s of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    restarts += s?.restartCount ?? 0;
    const fin = s?.lastState?.terminated?.finishedAt;
    if (fin) {
      const t = Date.parse(fin);
      if (!Number.isNaN(t) && (last === undefined || t > last)) last = t;
    }
  }
  return last !== undefined ? `${restarts} (${humanDuration(Date.now() - last)} ago)` : String(restarts);
}

/** An init container with restartPolicy Always: a sidecar that runs beside the main containers. */
function isSidecar(pod: Any, name: string | undefined): boolean {
  return (pod.spec?.initContainers ?? []).some((c: Any) => c?.name === name && c?.restartPolicy === 'Always');
}

/** READY counts sidecars as containers, as upstream's printer does. */
function podReady(pod: Any): string {
  const sidecars = (pod.status?.initContainerStatuses ?? []).filter((s: Any) => isSidecar(pod, s?.name));
  const total = (pod.spec?.containers ?? []).length + (pod.spec?.initContainers ?? []).filter((c: Any) => c?.restartPolicy === 'Always').length;
  const ready =
    (pod.status?.containerStatuses ?? []).filter((s: Any) => s?.ready).length +
    sidecars.filter((s: Any) => s?.started && s?.ready).length;
  return `${ready}/${total}`;
}

function readinessGates(pod: Any): string {
  const gates: Any[] = pod.spec?.readinessGates ?? [];
  if (gates.length === 0) return '<none>';
  const conds: Any[] = pod.status?.conditions ?? [];
  const ok = gates.filter((g) => conds.some((c) => c.type === g.conditionType && c.status === 'True')).length;
  return `${ok}/${gates.length}`;
}

/** Fields of a pod's spec that an update may change (upstream ValidatePodUpdate). */
function validatePodUpdate(o: Any, old: Any): FieldCause[] {
  // Compared, never written: a is the new spec itself, b a shallow copy of the old one (copied down to the
  // containers whose image it takes from a), so no deep clone per pod update.
  const a = o.spec ?? {};
  const b = { ...(old.spec ?? {}) };
  // mutable: images, activeDeadlineSeconds, tolerations additions, terminationGracePeriodSeconds; nodeName set by binding
  for (const k of ['containers', 'initContainers']) {
    if (!Array.isArray(b[k])) continue;
    b[k] = b[k].map((c: Any, i: number) => (c && i < (a[k] ?? []).length ? { ...c, image: a[k][i]?.image } : c));
  }
  for (const k of ['activeDeadlineSeconds', 'tolerations', 'terminationGracePeriodSeconds', 'schedulingGates']) {
    if (a[k] === undefined) delete b[k];
    else b[k] = a[k];
  }
  // the binding subresource sets nodeName once (upstream writes it without update validation)
  if (!b.nodeName && a.nodeName) b.nodeName = a.nodeName;
  if (deepEqual(a, b)) return [];
  return [
    causes.forbidden(
      'spec',
      'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    ),
  ];
}

export const pods: ResourceInfo = {
  ...base({ kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'], categories: ['all'] }),
  subresources: ['status', 'binding', 'log', 'exec', 'eviction', 'portforward', 'attach', 'proxy', 'ephemeralcontainers'],
  hasStatus: true,
  defaults(o: Any) {
    defaultPodSpec(o.spec);
    defaultPodOnly(o);
  },
  validate(o: Any, old?: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
    out.push(...validatePodSpec(o.spec, 'spec'));
    if (old) out.push(...validatePodUpdate(o, old));
    return out;
  },
  table: table(
    [
      { col: col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'), cell: podReady },
      { col: col('Status', 'string', 'The aggregate status of the containers in this pod.'), cell: podStatusReason },
      { col: col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'), cell: podRestarts },
      { col: col('IP', 'string', 'podIP is the IP address allocated to the pod.', 1), cell: (o) => o.status?.podIP || '<none>' },
      { col: col('Node', 'string', 'NodeName indicates in which node this pod is scheduled.', 1), cell: (o) => o.spec?.nodeName || '<none>' },
      { col: col('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node.', 1), cell: (o) => o.status?.nominatedNodeName || '<none>' },
      { col: col('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1), cell: readinessGates },
    ],
    3,
  ),
  fieldSelectors: {
    'spec.nodeName': (o: Any) => o.spec?.nodeName ?? '',
    'spec.restartPolicy': (o: Any) => o.spec?.restartPolicy ?? '',
    'spec.schedulerName': (o: Any) => o.spec?.schedulerName ?? '',
    'spec.serviceAccountName': (o: Any) => o.spec?.serviceAccountName ?? '',
    'spec.hostNetwork': (o: Any) => String(o.spec?.hostNetwork === true),
    'status.phase': (o: Any) => o.status?.phase ?? '',
    'status.podIP': (o: Any) => o.status?.podIP ?? '',
    'status.nominatedNodeName': (o: Any) => o.status?.nominatedNodeName ?? '',
  },
};

// --- services -------------------------------------------------------------------------------------

function servicePorts(o: Any): string {
  const ports: Any[] = o.spec?.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
}

function serviceExternalIP(o: Any): string {
  const type = o.spec?.type ?? 'ClusterIP';
  const ext: string[] = o.spec?.externalIPs ?? [];
  switch (type) {
    case 'ClusterIP':
    case 'NodePort':
      return ext.length ? ext.join(',') : '<none>';
    case 'LoadBalancer': {
      const ips = (o.status?.loadBalancer?.ingress ?? []).map((i: Any) => i.ip || i.hostname).filter(Boolean);
      const all = [...ips, ...ext];
      return all.length ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return o.spec?.externalName ?? '';
  }
  return '<unknown>';
}

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

function validateService(o: Any, old?: Any): FieldCause[] {
  const out = validateObjectMeta(o.metadata, isDNS1035Label);
  const spec = o.spec ?? {};
  const type = spec.type;
  out.push(...oneOf(type, SERVICE_TYPES, 'spec.type', true));
  out.push(...oneOf(spec.sessionAffinity, ['ClientIP', 'None'], 'spec.sessionAffinity', true));
  const ports: Any[] = Array.isArray(spec.ports) ? spec.ports : [];
  if (type === 'ExternalName') {
    if (!spec.externalName) out.push(causes.required('spec.externalName'));
    else for (const m of isDNS1123Subdomain(String(spec.externalName).replace(/\.$/, ''))) out.push(causes.invalid('spec.externalName', spec.externalName, m));
  } else if (ports.length === 0 && spec.clusterIP !== 'None') {
    out.push(causes.required('spec.ports'));
  }
  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p: Any, i: number) => {
    const f = `spec.ports[${i}]`;
    if (ports.length > 1 && !p?.name) out.push(causes.required(`${f}.name`));
    if (p?.name) {
      for (const m of isDNS1123Label(p.name)) out.push(causes.invalid(`${f}.name`, p.name, m));
      if (names.has(p.name)) out.push(causes.duplicate(`${f}.name`, p.name));
      names.add(p.name);
    }
    for (const m of isValidPortNum(p?.port)) out.push(causes.invalid(`${f}.port`, p?.port, m));
    out.push(...oneOf(p?.protocol, ['SCTP', 'TCP', 'UDP'], `${f}.protocol`, true));
    const key = `${p?.port}/${p?.protocol}`;
    if (seen.has(key)) out.push(causes.duplicate(f, { port: p?.port, protocol: p?.protocol }));
    seen.add(key);
    const tp = p?.targetPort;
    if (typeof tp === 'number') for (const m of isValidPortNum(tp)) out.push(causes.invalid(`${f}.targetPort`, tp, m));
    else if (typeof tp === 'string') for (const m of isValidPortName(tp)) out.push(causes.invalid(`${f}.targetPort`, tp, m));
    if (p?.nodePort !== undefined && p.nodePort !== 0) {
      if (type === 'ClusterIP' || type === 'ExternalName')
        out.push(causes.forbidden(`${f}.nodePort`, `may not be used when \`type\` is '${type}'`));
      else for (const m of isValidPortNum(p.nodePort)) out.push(causes.invalid(`${f}.nodePort`, p.nodePort, m));
    }
  });
  if (spec.selector && typeof spec.selector === 'object')
    for (const [k, v] of Object.entries(spec.selector)) {
      void k;
      if (typeof v !== 'string') out.push(causes.invalid('spec.selector', v, 'must be a string'));
    }
  if (spec.clusterIP && spec.clusterIP !== 'None' && !isIP(spec.clusterIP))
    out.push(causes.invalid('spec.clusterIPs[0]', spec.clusterIP, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  if (old && old.spec?.clusterIP && type !== 'ExternalName' && old.spec?.type !== 'ExternalName' && spec.clusterIP !== undefined && spec.clusterIP !== '' && spec.clusterIP !== old.spec.clusterIP)
    out.push(causes.invalid('spec.clusterIPs[0]', spec.clusterIP, 'may not change once set'));
  return out;
}

function isIP(s: string): boolean {
  return /^(\d{1,3})(\.\d{1,3}){3}$/.test(s) ? s.split('.').every((x) => Number(x) <= 255) : /^[0-9a-fA-F:]+$/.test(s) && s.includes(':');
}

export const services: ResourceInfo = {
  ...base({ kind: 'Service', plural: 'services', singular: 'service', namespaced: true, shortNames: ['svc'], categories: ['all'] }),
  subresources: ['status', 'proxy'],
  hasStatus: true,
  defaults(o: Any) {
    const spec = (o.spec ??= {});
    setDefault(spec, 'type', 'ClusterIP');
    setDefault(spec, 'sessionAffinity', 'None');
    if (spec.sessionAffinity === 'ClientIP') {
      spec.sessionAffinityConfig ??= {};
      spec.sessionAffinityConfig.clientIP ??= {};
      setDefault(spec.sessionAffinityConfig.clientIP, 'timeoutSeconds', 10800);
    }
    for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
      if (!p || typeof p !== 'object') continue;
      setDefault(p, 'protocol', 'TCP');
      if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
    }
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') setDefault(spec, 'externalTrafficPolicy', 'Cluster');
    if (spec.type === 'LoadBalancer') setDefault(spec, 'allocateLoadBalancerNodePorts', true);
    if (spec.type !== 'ExternalName') setDefault(spec, 'internalTrafficPolicy', 'Cluster');
    if (spec.clusterIP && spec.type !== 'ExternalName') {
      setDefault(spec, 'clusterIPs', [spec.clusterIP]);
      if (spec.clusterIP !== 'None') {
        setDefault(spec, 'ipFamilies', [spec.clusterIP.includes(':') ? 'IPv6' : 'IPv4']);
        setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
      } else {
        setDefault(spec, 'ipFamilies', ['IPv4']);
        setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
      }
    }
    o.status ??= {};
    o.status.loadBalancer ??= {};
  },
  validate: validateService,
  table: table([
    { col: col('Type', 'string', 'type determines how the Service is exposed.'), cell: (o) => o.spec?.type ?? '' },
    { col: col('Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'), cell: (o) => o.spec?.clusterIP || '<none>' },
    { col: col('External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'), cell: serviceExternalIP },
    { col: col('Port(s)', 'string', 'The list of ports that are exposed by this service.'), cell: servicePorts },
    { col: col('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', 1), cell: (o) => formatLabels(o.spec?.selector) },
  ]),
  fieldSelectors: {
    'spec.clusterIP': (o: Any) => o.spec?.clusterIP ?? '',
    'spec.type': (o: Any) => o.spec?.type ?? '',
  },
};

// --- endpoints ------------------------------------------------------------------------------------

function formatEndpoints(o: Any): string {
  const out: string[] = [];
  let total = 0;
  for (const ss of o.subsets ?? []) {
    const ports: Any[] = ss.ports?.length ? ss.ports : [undefined];
    for (const a of ss.addresses ?? []) {
      for (const p of ports) {
        total++;
        if (out.length < 3) out.push(p ? `${a.ip}:${p.port}` : a.ip);
      }
    }
  }
  if (total === 0) return '<none>';
  return total > 3 ? `${out.join(',')} + ${total - 3} more...` : out.join(',');
}

export const endpoints: ResourceInfo = {
  ...base({ kind: 'Endpoints', plural: 'endpoints', singular: 'endpoints', namespaced: true, shortNames: ['ep'] }),
  defaults(o: Any) {
    for (const ss of o.subsets ?? []) for (const p of ss?.ports ?? []) if (p && typeof p === 'object') setDefault(p, 'protocol', 'TCP');
  },
  validate(o: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
    (o.subsets ?? []).forEach((ss: Any, i: number) => {
      (ss?.addresses ?? []).forEach((a: Any, j: number) => {
        if (!a?.ip) out.push(causes.required(`subsets[${i}].addresses[${j}].ip`));
        else if (!isIP(a.ip)) out.push(causes.invalid(`subsets[${i}].addresses[${j}].ip`, a.ip, 'must be a valid IP address'));
      });
      (ss?.ports ?? []).forEach((p: Any, j: number) => {
        for (const m of isValidPortNum(p?.port)) out.push(causes.invalid(`subsets[${i}].ports[${j}].port`, p?.port, m));
        out.push(...oneOf(p?.protocol, ['SCTP', 'TCP', 'UDP'], `subsets[${i}].ports[${j}].protocol`, true));
      });
    });
    return out;
  },
  table: table([{ col: col('Endpoints', 'string', 'The set of all endpoints is the union of all subsets.'), cell: formatEndpoints }]),
};

// --- nodes ----------------------------------------------------------------------------------------

function nodeStatus(o: Any): string {
  const conds: Any[] = o.status?.conditions ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (o.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(o: Any): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries((o.metadata?.labels ?? {}) as Record<string, string>)) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const r = k.slice('node-role.kubernetes.io/'.length);
      if (r) roles.add(r);
    } else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

const nodeAddress = (type: string) => (o: Any) =>
  (o.status?.addresses ?? []).find((a: Any) => a.type === type)?.address || '<none>';

export const nodes: ResourceInfo = {
  ...base({ kind: 'Node', plural: 'nodes', singular: 'node', namespaced: false, shortNames: ['no'] }),
  subresources: ['status', 'proxy'],
  hasStatus: true,
  defaults(o: Any) {
    const st = o.status;
    if (st && typeof st === 'object') {
      if (st.capacity && st.allocatable === undefined) st.allocatable = clone(st.capacity);
      for (const k of ['capacity', 'allocatable'])
        if (st[k]) for (const [r, v] of Object.entries(st[k])) st[k][r] = canonicalQuantity(String(v));
    }
  },
  validate(o: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
    for (const k of ['capacity', 'allocatable'])
      for (const [r, v] of Object.entries(o.status?.[k] ?? {})) out.push(...validateQuantity(v, `status.${k}[${r}]`));
    (o.spec?.taints ?? []).forEach((t: Any, i: number) => {
      if (!t?.key) out.push(causes.required(`spec.taints[${i}].key`));
      out.push(...oneOf(t?.effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute'], `spec.taints[${i}].effect`, true));
    });
    return out;
  },
  table: table(
    [
      { col: col('Status', 'string', 'The status of the node'), cell: nodeStatus },
      { col: col('Roles', 'string', 'The roles of the node'), cell: nodeRoles },
      { col: col('Version', 'string', 'Kubelet Version reported by the node.'), cell: (o) => o.status?.nodeInfo?.kubeletVersion ?? '' },
      { col: col('Internal-IP', 'string', 'List of addresses reachable to the node.', 1), cell: nodeAddress('InternalIP') },
      { col: col('External-IP', 'string', 'List of addresses reachable to the node.', 1), cell: nodeAddress('ExternalIP') },
      { col: col('OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1), cell: (o) => o.status?.nodeInfo?.osImage || '<unknown>' },
      { col: col('Kernel-Version', 'string', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1), cell: (o) => o.status?.nodeInfo?.kernelVersion || '<unknown>' },
      { col: col('Container-Runtime', 'string', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1), cell: (o) => o.status?.nodeInfo?.containerRuntimeVersion || '<unknown>' },
    ],
    2,
  ),
  fieldSelectors: {
    'spec.unschedulable': (o: Any) => String(o.spec?.unschedulable === true),
  },
};

// --- events ---------------------------------------------------------------------------------------

/** Works for both core/v1 Events and events.k8s.io/v1 Events (different field names). */
function eventView(o: Any) {
  const core = o.involvedObject !== undefined || o.apiVersion === 'v1';
  const obj = core ? (o.involvedObject ?? {}) : (o.regarding ?? {});
  const last = o.series?.lastObservedTime ?? (core ? o.lastTimestamp : o.deprecatedLastTimestamp) ?? o.eventTime ?? (core ? o.firstTimestamp : o.deprecatedFirstTimestamp);
  const first = (core ? o.firstTimestamp : o.deprecatedFirstTimestamp) ?? o.eventTime;
  const count = o.series?.count ?? (core ? o.count : o.deprecatedCount) ?? 1;
  const src = core ? o.source ?? {} : o.deprecatedSource ?? {};
  const component = src.component || o.reportingComponent || o.reportingController || '';
  const host = src.host || o.reportingInstance || '';
  return { obj, last, first, count, source: host ? `${component}, ${host}` : component, message: String((core ? o.message : o.note) ?? '').trim() };
}

export const eventTable = table(
  [
    { col: col('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'), cell: (o) => since(eventView(o).last) },
    { col: col('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'), cell: (o) => o.type ?? '' },
    { col: col('Reason', 'string', 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'), cell: (o) => o.reason ?? '' },
    { col: col('Object', 'string', 'The object that this event is about.'), cell: (o) => { const v = eventView(o).obj; return `${String(v.kind ?? '').toLowerCase()}/${v.name ?? ''}`; } },
    { col: col('Subobject', 'string', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].', 1), cell: (o) => eventView(o).obj.fieldPath ?? '' },
    { col: col('Source', 'string', 'The component reporting this event. Should be a short machine understandable string.', 1), cell: (o) => eventView(o).source },
    { col: col('Message', 'string', 'A human-readable description of the status of this operation.'), cell: (o) => eventView(o).message },
    { col: col('First Seen', 'string', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', 1), cell: (o) => since(eventView(o).first) },
    { col: col('Count', 'string', 'The number of times this event has occurred.', 1), cell: (o) => eventView(o).count },
  ],
  9,
);
// Events have no leading NAME and no AGE: Name is the last wide column (upstream's order).
{
  const [nameCol, ...rest] = eventTable.columns;
  const cols = rest.filter((c) => c.name !== 'Age');
  const cells = eventTable.cells;
  eventTable.columns = [...cols, { ...nameCol, priority: 1 }];
  eventTable.cells = (o: KubeObject) => {
    const row = cells(o);
    return [...row.slice(1, 10), row[0]];
  };
}

export const events: ResourceInfo = {
  ...base({ kind: 'Event', plural: 'events', singular: 'event', namespaced: true, shortNames: ['ev'] }),
  defaults: NO_DEFAULTS,
  validate(o: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
    if (o.involvedObject?.namespace && o.metadata?.namespace && o.involvedObject.namespace !== o.metadata.namespace)
      out.push(causes.invalid('involvedObject.namespace', o.involvedObject.namespace, 'does not match event.namespace'));
    out.push(...oneOf(o.type, ['Normal', 'Warning'], 'type'));
    return out;
  },
  table: eventTable,
  fieldSelectors: {
    ...refFieldSelectors('involvedObject', ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']),
    reason: (o: Any) => o.reason ?? '',
    reportingComponent: (o: Any) => o.reportingComponent ?? '',
    source: (o: Any) => o.source?.component ?? o.reportingComponent ?? '',
    type: (o: Any) => o.type ?? '',
  },
};

// --- configmaps & secrets -------------------------------------------------------------------------

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
function validateConfigKeys(maps: [Any, string][]): FieldCause[] {
  const out: FieldCause[] = [];
  const seen = new Set<string>();
  let size = 0;
  for (const [m, field] of maps) {
    if (m === undefined || m === null) continue;
    if (typeof m !== 'object' || Array.isArray(m)) {
      out.push(causes.invalid(field, m, 'must be a map'));
      continue;
    }
    for (const [k, v] of Object.entries(m)) {
      if (!CONFIG_KEY.test(k) || k.length > 253)
        out.push(
          causes.invalid(
            field,
            k,
            k.length > 253
              ? 'must be no more than 253 characters'
              : "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          ),
        );
      else if (k === '.' || k === '..' || k.startsWith('..')) out.push(causes.invalid(field, k, k.startsWith('..') && k.length > 2 ? "must not start with '..'" : `must not be '${k}'`));
      if (seen.has(k)) out.push(causes.invalid(field, k, 'duplicate of key present in binaryData'));
      seen.add(k);
      if (typeof v !== 'string') out.push(causes.invalid(`${field}[${k}]`, v, 'must be a string'));
      else size += v.length;
    }
  }
  if (size > 1024 * 1024) out.push(causes.tooLong('', 1024 * 1024));
  return out;
}

export const configmaps: ResourceInfo = {
  ...base({ kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'] }),
  defaults: NO_DEFAULTS,
  validate(o: Any, old?: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
    out.push(...validateConfigKeys([[o.data, 'data'], [o.binaryData, 'binaryData']]));
    if (old?.immutable === true) {
      if (o.immutable !== true) out.push(causes.forbidden('immutable', 'field is immutable when `immutable` is set'));
      if (!deepEqual(o.data ?? {}, old.data ?? {})) out.push(causes.forbidden('data', 'field is immutable when `immutable` is set'));
      if (!deepEqual(o.binaryData ?? {}, old.binaryData ?? {})) out.push(causes.forbidden('binaryData', 'field is immutable when `immutable` is set'));
    }
    return out;
  },
  table: table([{ col: col('Data', 'integer', 'Number of data entries.'), cell: (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length }]),
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const secrets: ResourceInfo = {
  ...base({ kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true }),
  defaults(o: Any) {
    setDefault(o, 'type', 'Opaque');
    // stringData is write-only: merged into data (base64) as upstream's conversion does
    if (o.stringData && typeof o.stringData === 'object') {
      o.data ??= {};
      for (const [k, v] of Object.entries(o.stringData)) o.data[k] = Buffer.from(String(v)).toString('base64');
      delete o.stringData;
    }
  },
  validate(o: Any, old?: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
    out.push(...validateConfigKeys([[o.data, 'data']]).filter((c) => c.reason !== 'FieldValueInvalid' || !c.message.includes('must be a string')));
    for (const [k, v] of Object.entries(o.data ?? {}))
      if (typeof v !== 'string' || !BASE64.test(v)) out.push(causes.invalid(`data[${k}]`, '<secret contents redacted>', 'must be base64-encoded'));
    const data = o.data ?? {};
    switch (o.type) {
      case 'kubernetes.io/dockerconfigjson':
        if (data['.dockerconfigjson'] === undefined) out.push(causes.required('data[.dockerconfigjson]'));
        break;
      case 'kubernetes.io/dockercfg':
        if (data['.dockercfg'] === undefined) out.push(causes.required('data[.dockercfg]'));
        break;
      case 'kubernetes.io/tls':
        if (data['tls.crt'] === undefined) out.push(causes.required('data[tls.crt]'));
        if (data['tls.key'] === undefined) out.push(causes.required('data[tls.key]'));
        break;
      case 'kubernetes.io/basic-auth':
        if (data.username === undefined && data.password === undefined)
          out.push(causes.required('data[username]', 'must contain `username` or `password` or both'));
        break;
      case 'kubernetes.io/ssh-auth':
        if (data['ssh-privatekey'] === undefined) out.push(causes.required('data[ssh-privatekey]'));
        break;
      case 'kubernetes.io/service-account-token':
        if (!o.metadata?.annotations?.['kubernetes.io/service-account.name'])
          out.push(causes.required('metadata.annotations[kubernetes.io/service-account.name]'));
        break;
    }
    if (old) {
      out.push(...immutable(o.type, old.type, 'type'));
      if (old.immutable === true) {
        if (o.immutable !== true) out.push(causes.forbidden('immutable', 'field is immutable when `immutable` is set'));
        if (!deepEqual(o.data ?? {}, old.data ?? {})) out.push(causes.forbidden('data', 'field is immutable when `immutable` is set'));
      }
    }
    return out;
  },
  table: table([
    { col: col('Type', 'string', 'The type of the secret'), cell: (o) => o.type ?? '' },
    { col: col('Data', 'integer', 'Number of data entries.'), cell: (o) => Object.keys(o.data ?? {}).length },
  ]),
  fieldSelectors: { type: (o: Any) => o.type ?? '' },
};

export const serviceaccounts: ResourceInfo = {
  ...base({ kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', namespaced: true, shortNames: ['sa'] }),
  subresources: ['token'],
  defaults: NO_DEFAULTS,
  validate(o: Any) {
    return validateObjectMeta(o.metadata, isDNS1123Subdomain);
  },
  table: table([{ col: col('Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), cell: (o) => (o.secrets ?? []).length }]),
};

// --- persistentvolumeclaims -----------------------------------------------------------------------

const ACCESS_MODES: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };

export const persistentvolumeclaims: ResourceInfo = {
  ...base({ kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', singular: 'persistentvolumeclaim', namespaced: true, shortNames: ['pvc'] }),
  subresources: ['status'],
  hasStatus: true,
  defaults(o: Any) {
    const spec = (o.spec ??= {});
    setDefault(spec, 'volumeMode', 'Filesystem');
    for (const k of ['requests', 'limits'])
      if (spec.resources?.[k]) for (const [r, v] of Object.entries(spec.resources[k])) spec.resources[k][r] = canonicalQuantity(String(v));
    o.status ??= {};
    setDefault(o.status, 'phase', 'Pending');
  },
  validate(o: Any, old?: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
    const spec = o.spec ?? {};
    if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0)
      out.push(causes.required('spec.accessModes', 'at least 1 access mode is required'));
    else
      spec.accessModes.forEach((m: string) => {
        if (!(m in ACCESS_MODES)) out.push(causes.notSupported('spec.accessModes', m, Object.keys(ACCESS_MODES)));
      });
    const storage = spec.resources?.requests?.storage;
    if (storage === undefined) out.push(causes.required('spec.resources[storage]'));
    else out.push(...validateQuantity(storage, 'spec.resources[storage]'));
    out.push(...oneOf(spec.volumeMode, ['Block', 'Filesystem'], 'spec.volumeMode'));
    if (old) {
      const a = clone(spec);
      const b = clone(old.spec ?? {});
      delete a.resources;
      delete b.resources;
      delete a.volumeAttributesClassName;
      delete b.volumeAttributesClassName;
      if (!b.volumeName) delete a.volumeName; // binding sets volumeName
      delete b.volumeName;
      delete a.volumeName;
      if (!deepEqual(a, b))
        out.push(causes.forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
    }
    return out;
  },
  table: table(
    [
      { col: col('Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'), cell: (o) => (o.metadata?.deletionTimestamp ? 'Terminating' : o.status?.phase ?? '') },
      { col: col('Volume', 'string', 'volumeName is the binding reference to the PersistentVolume backing this claim.'), cell: (o) => o.spec?.volumeName ?? '' },
      { col: col('Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'), cell: (o) => (o.spec?.volumeName ? o.status?.capacity?.storage ?? '' : '') },
      { col: col('Access Modes', 'string', 'accessModes contains the desired access modes the volume should have.'), cell: (o) => (o.spec?.volumeName ? (o.status?.accessModes ?? []).map((m: string) => ACCESS_MODES[m] ?? m).join(',') : '') },
      { col: col('StorageClass', 'string', 'storageClassName is the name of the StorageClass required by the claim.'), cell: (o) => o.spec?.storageClassName ?? o.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'] ?? '' },
      { col: col('VolumeAttributesClass', 'string', 'volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.'), cell: (o) => o.spec?.volumeAttributesClassName || '<unset>' },
      { col: col('VolumeMode', 'string', 'volumeMode defines what type of volume is required by the claim.', 1), cell: (o) => o.spec?.volumeMode || '<unset>' },
    ],
    6,
  ),
};

export const CORE_RESOURCES: ResourceInfo[] = [
  namespaces,
  pods,
  services,
  endpoints,
  nodes,
  events,
  configmaps,
  secrets,
  serviceaccounts,
  persistentvolumeclaims,
];
