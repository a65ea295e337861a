/**
 * PodSpec defaulting and validation, shared by pods and every kind with a pod template (deployments,
 * replicasets, daemonsets, statefulsets, jobs, cronjobs). Follows upstream's pkg/apis/core/v1/defaults.go and
 * pkg/apis/core/validation (the rules that matter for users; not every feature gate).
 */
import type { FieldCause } from '../../common/errors';
import { tryParseQuantity, compareQuantities, canonicalQuantity } from './quantity';
import {
  causes,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isValidPortName,
  isValidPortNum,
  oneOf,
  validateNonNegative,
  validateQuantity,
  validateTemplateMeta,
} from './validation';
import { setDefault } from './util';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

/** Image pull policy default: Always for ":latest" or an untagged image, else IfNotPresent. */
export function defaultPullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  const tag = colon > lastSlash ? image.slice(colon + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(p: Any): void {
  if (!p || typeof p !== 'object') return;
  setDefault(p, 'timeoutSeconds', 1);
  setDefault(p, 'periodSeconds', 10);
  setDefault(p, 'successThreshold', 1);
  setDefault(p, 'failureThreshold', 3);
  defaultHandler(p);
}

function defaultHandler(h: Any): void {
  if (!h || typeof h !== 'object') return;
  if (h.httpGet && typeof h.httpGet === 'object') {
    setDefault(h.httpGet, 'path', '/');
    setDefault(h.httpGet, 'scheme', 'HTTP');
  }
}

function defaultContainer(c: Any): void {
  if (!c || typeof c !== 'object') return;
  if (typeof c.image === 'string' && c.image) setDefault(c, 'imagePullPolicy', defaultPullPolicy(c.image));
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  setDefault(c, 'resources', {});
  for (const p of Array.isArray(c.ports) ? c.ports : []) if (p && typeof p === 'object') setDefault(p, 'protocol', 'TCP');
  for (const e of Array.isArray(c.env) ? c.env : []) {
    if (e?.valueFrom?.fieldRef) setDefault(e.valueFrom.fieldRef, 'apiVersion', 'v1');
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  if (c.lifecycle) {
    defaultHandler(c.lifecycle.postStart);
    defaultHandler(c.lifecycle.preStop);
  }
  canonicalizeResources(c.resources);
}

/** Quantities are stored in canonical form, as upstream's decode/encode round trip does. */
function canonicalizeResources(r: Any): void {
  if (!r || typeof r !== 'object') return;
  for (const key of ['limits', 'requests']) {
    const m = r[key];
    if (!m || typeof m !== 'object') continue;
    for (const [k, v] of Object.entries(m)) {
      if (typeof v === 'string') m[k] = canonicalQuantity(v);
      else if (typeof v === 'number') m[k] = canonicalQuantity(String(v));
    }
  }
}

const VOLUME_SOURCES = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi',
  'glusterfs', 'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc',
  'azureFile', 'configMap', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected',
  'portworxVolume', 'scaleIO', 'storageos', 'csi', 'ephemeral', 'image',
];

function defaultVolume(v: Any): void {
  if (!v || typeof v !== 'object') return;
  if (!VOLUME_SOURCES.some((s) => v[s] !== undefined && v[s] !== null)) v.emptyDir = {};
  if (v.secret) setDefault(v.secret, 'defaultMode', 420);
  if (v.configMap) setDefault(v.configMap, 'defaultMode', 420);
  if (v.downwardAPI) {
    setDefault(v.downwardAPI, 'defaultMode', 420);
    for (const i of v.downwardAPI.items ?? []) if (i?.fieldRef) setDefault(i.fieldRef, 'apiVersion', 'v1');
  }
  if (v.projected) setDefault(v.projected, 'defaultMode', 420);
  if (v.hostPath) setDefault(v.hostPath, 'type', '');
  if (v.emptyDir?.sizeLimit !== undefined) v.emptyDir.sizeLimit = canonicalQuantity(String(v.emptyDir.sizeLimit));
}

/** SetDefaults_PodSpec and the container/volume defaulters (pod templates get exactly this). */
export function defaultPodSpec(spec: Any): void {
  if (!spec || typeof spec !== 'object') return;
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'schedulerName', 'default-scheduler');
  for (const c of Array.isArray(spec.containers) ? spec.containers : []) defaultContainer(c);
  for (const c of Array.isArray(spec.initContainers) ? spec.initContainers : []) defaultContainer(c);
  for (const c of Array.isArray(spec.ephemeralContainers) ? spec.ephemeralContainers : []) defaultContainer(c);
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) defaultVolume(v);
  if (spec.hostNetwork === true) {
    // upstream: with host networking, hostPort defaults to containerPort
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])])
      for (const p of c?.ports ?? []) if (p && p.hostPort === undefined) p.hostPort = p.containerPort;
  }
}

/** Extra defaults only a Pod (not a template) gets: SetDefaults_Pod and the admission defaults users see. */
export function defaultPodOnly(pod: Any): void {
  const spec = pod.spec;
  if (!spec || typeof spec !== 'object') return;
  setDefault(spec, 'enableServiceLinks', true);
  setDefault(spec, 'serviceAccountName', 'default');
  setDefault(spec, 'serviceAccount', spec.serviceAccountName);
  setDefault(spec, 'priority', 0);
  setDefault(spec, 'preemptionPolicy', 'PreemptLowerPriority');
  if (!Array.isArray(spec.tolerations)) spec.tolerations = [];
  // DefaultTolerationSeconds admission: tolerate not-ready/unreachable for 300s
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!spec.tolerations.some((t: Any) => t?.key === key || (t?.operator === 'Exists' && !t?.key)))
      spec.tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  // requests default to limits when unset (SetDefaults_Pod)
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    const r = c?.resources;
    if (r?.limits && typeof r.limits === 'object') {
      r.requests ??= {};
      for (const [k, v] of Object.entries(r.limits)) if (r.requests[k] === undefined) r.requests[k] = v;
    }
  }
  pod.status ??= {};
  setDefault(pod.status, 'phase', 'Pending');
  if (pod.status.qosClass === undefined || pod.status.qosClass === null) pod.status.qosClass = qosClass(spec);
}

/** Upstream's QoS class: Guaranteed when every container has equal cpu+memory requests and limits. */
export function qosClass(spec: Any): string {
  const cs = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of cs) {
    const req = c?.resources?.requests ?? {};
    const lim = c?.resources?.limits ?? {};
    for (const k of ['cpu', 'memory']) {
      if (req[k] !== undefined || lim[k] !== undefined) any = true;
      if (lim[k] === undefined || (req[k] !== undefined && req[k] !== lim[k])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

// --- validation -----------------------------------------------------------------------------------

function validatePorts(ports: Any, field: string, names: Set<string>): FieldCause[] {
  const out: FieldCause[] = [];
  if (ports === undefined || ports === null) return out;
  if (!Array.isArray(ports)) return [causes.invalid(field, ports, 'must be a list')];
  ports.forEach((p: Any, i: number) => {
    const f = `${field}[${i}]`;
    if (p?.name) {
      for (const m of isValidPortName(p.name)) out.push(causes.invalid(`${f}.name`, p.name, m));
      if (names.has(p.name)) out.push(causes.duplicate(`${f}.name`, p.name));
      names.add(p.name);
    }
    if (p?.containerPort === undefined || p?.containerPort === 0) out.push(causes.required(`${f}.containerPort`));
    else for (const m of isValidPortNum(p.containerPort)) out.push(causes.invalid(`${f}.containerPort`, p.containerPort, m));
    if (p?.hostPort !== undefined && p.hostPort !== 0)
      for (const m of isValidPortNum(p.hostPort)) out.push(causes.invalid(`${f}.hostPort`, p.hostPort, m));
    out.push(...oneOf(p?.protocol, PROTOCOLS, `${f}.protocol`, true));
  });
  return out;
}

function validateEnv(env: Any, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (!Array.isArray(env)) return out;
  env.forEach((e: Any, i: number) => {
    const f = `${field}[${i}]`;
    if (!e?.name) out.push(causes.required(`${f}.name`));
    else for (const m of isEnvVarName(e.name)) out.push(causes.invalid(`${f}.name`, e.name, m));
    if (e?.valueFrom) {
      const sources = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'].filter((k) => e.valueFrom[k]);
      if (sources.length === 0)
        out.push(causes.invalid(`${f}.valueFrom`, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
      else if (sources.length > 1)
        out.push(causes.invalid(`${f}.valueFrom`, '', 'may not have more than one field specified at a time'));
      if (e.value) out.push(causes.invalid(`${f}.valueFrom`, '', 'may not be specified when `value` is not empty'));
    }
  });
  return out;
}

function validateResources(r: Any, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (!r || typeof r !== 'object') return out;
  for (const key of ['limits', 'requests']) {
    const m = r[key];
    if (!m) continue;
    for (const [name, v] of Object.entries(m)) {
      const f = `${field}.${key}[${name}]`;
      if (!name.includes('/') && !['cpu', 'memory', 'ephemeral-storage', 'storage'].includes(name) && !name.startsWith('hugepages-'))
        out.push(causes.invalid(f, name, 'must be a standard resource type or fully qualified'));
      out.push(...validateQuantity(v, f));
    }
  }
  for (const [name, v] of Object.entries(r.requests ?? {})) {
    const lim = r.limits?.[name];
    if (lim === undefined) continue;
    const a = tryParseQuantity(String(v));
    const b = tryParseQuantity(String(lim));
    if (a && b && compareQuantities(a, b) > 0)
      out.push(causes.invalid(`${field}.requests`, v, `must be less than or equal to ${name} limit of ${lim}`));
  }
  return out;
}

function validateProbe(p: Any, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (!p || typeof p !== 'object') return out;
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((k) => p[k]);
  if (handlers.length === 0) out.push(causes.required(field, 'must specify a handler type'));
  else if (handlers.length > 1) out.push(causes.forbidden(`${field}.${handlers[1]}`, 'may not specify more than 1 handler type'));
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'])
    out.push(...validateNonNegative(p[k], `${field}.${k}`));
  if (p.httpGet) {
    const port = p.httpGet.port;
    if (typeof port === 'number') for (const m of isValidPortNum(port)) out.push(causes.invalid(`${field}.httpGet.port`, port, m));
    else if (typeof port === 'string') for (const m of isValidPortName(port)) out.push(causes.invalid(`${field}.httpGet.port`, port, m));
    else out.push(causes.required(`${field}.httpGet.port`));
    out.push(...oneOf(p.httpGet.scheme, ['HTTP', 'HTTPS'], `${field}.httpGet.scheme`));
  }
  if (p.tcpSocket) {
    const port = p.tcpSocket.port;
    if (typeof port === 'number') for (const m of isValidPortNum(port)) out.push(causes.invalid(`${field}.tcpSocket.port`, port, m));
    else if (typeof port === 'string') for (const m of isValidPortName(port)) out.push(causes.invalid(`${field}.tcpSocket.port`, port, m));
    else out.push(causes.required(`${field}.tcpSocket.port`));
  }
  return out;
}

function validateContainers(list: Any, field: string, volumes: Set<string>, names: Set<string>, required: boolean): FieldCause[] {
  const out: FieldCause[] = [];
  if (list === undefined || list === null || (Array.isArray(list) && list.length === 0)) {
    if (required) out.push(causes.required(field));
    return out;
  }
  if (!Array.isArray(list)) return [causes.invalid(field, list, 'must be a list')];
  const portNames = new Set<string>();
  list.forEach((c: Any, i: number) => {
    const f = `${field}[${i}]`;
    if (!c || typeof c !== 'object') {
      out.push(causes.invalid(f, c, 'must be an object'));
      return;
    }
    if (!c.name) out.push(causes.required(`${f}.name`));
    else {
      for (const m of isDNS1123Label(c.name)) out.push(causes.invalid(`${f}.name`, c.name, m));
      if (names.has(c.name)) out.push(causes.duplicate(`${f}.name`, c.name));
      names.add(c.name);
    }
    if (!c.image || (typeof c.image === 'string' && c.image.trim() === '')) out.push(causes.required(`${f}.image`));
    else if (typeof c.image === 'string' && c.image !== c.image.trim())
      out.push(causes.invalid(`${f}.image`, c.image, 'must not have leading or trailing whitespace'));
    out.push(...oneOf(c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never'], `${f}.imagePullPolicy`, true));
    out.push(...oneOf(c.terminationMessagePolicy, ['File', 'FallbackToLogsOnError'], `${f}.terminationMessagePolicy`, true));
    out.push(...validatePorts(c.ports, `${f}.ports`, portNames));
    out.push(...validateEnv(c.env, `${f}.env`));
    out.push(...validateResources(c.resources, `${f}.resources`));
    out.push(...validateProbe(c.livenessProbe, `${f}.livenessProbe`));
    out.push(...validateProbe(c.readinessProbe, `${f}.readinessProbe`));
    out.push(...validateProbe(c.startupProbe, `${f}.startupProbe`));
    if (c.livenessProbe && c.livenessProbe.successThreshold !== undefined && c.livenessProbe.successThreshold !== 1)
      out.push(causes.invalid(`${f}.livenessProbe.successThreshold`, c.livenessProbe.successThreshold, 'must be 1'));
    const mountPaths = new Set<string>();
    (Array.isArray(c.volumeMounts) ? c.volumeMounts : []).forEach((m: Any, j: number) => {
      const mf = `${f}.volumeMounts[${j}]`;
      if (!m?.name) out.push(causes.required(`${mf}.name`));
      else if (!volumes.has(m.name)) out.push(causes.notFound(`${mf}.name`, m.name));
      if (!m?.mountPath) out.push(causes.required(`${mf}.mountPath`));
      else {
        if (mountPaths.has(m.mountPath)) out.push(causes.invalid(`${mf}.mountPath`, m.mountPath, 'must be unique'));
        mountPaths.add(m.mountPath);
      }
    });
  });
  return out;
}

export interface PodSpecOptions {
  /** Restart policies allowed (templates of deployments only allow Always; jobs OnFailure/Never). */
  restartPolicies?: string[];
}

export function validatePodSpec(spec: Any, field: string, opts: PodSpecOptions = {}): FieldCause[] {
  const out: FieldCause[] = [];
  if (!spec || typeof spec !== 'object') return [causes.required(field)];
  const volumes = new Set<string>();
  (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((v: Any, i: number) => {
    const f = `${field}.volumes[${i}]`;
    if (!v?.name) out.push(causes.required(`${f}.name`));
    else {
      for (const m of isDNS1123Label(v.name)) out.push(causes.invalid(`${f}.name`, v.name, m));
      if (volumes.has(v.name)) out.push(causes.duplicate(`${f}.name`, v.name));
      volumes.add(v.name);
    }
    const sources = VOLUME_SOURCES.filter((s) => v?.[s] !== undefined && v?.[s] !== null);
    if (sources.length > 1) out.push(causes.forbidden(`${f}.${sources[1]}`, `may not specify more than 1 volume type`));
    if (v?.configMap && !v.configMap.name) out.push(causes.required(`${f}.configMap.name`));
    if (v?.secret && !v.secret.secretName) out.push(causes.required(`${f}.secret.secretName`));
    if (v?.persistentVolumeClaim && !v.persistentVolumeClaim.claimName)
      out.push(causes.required(`${f}.persistentVolumeClaim.claimName`));
    if (v?.hostPath && !v.hostPath.path) out.push(causes.required(`${f}.hostPath.path`));
    if (v?.emptyDir?.sizeLimit !== undefined) out.push(...validateQuantity(v.emptyDir.sizeLimit, `${f}.emptyDir.sizeLimit`));
  });
  const names = new Set<string>();
  out.push(...validateContainers(spec.initContainers, `${field}.initContainers`, volumes, names, false));
  out.push(...validateContainers(spec.containers, `${field}.containers`, volumes, names, true));
  out.push(...oneOf(spec.restartPolicy, opts.restartPolicies ?? ['Always', 'OnFailure', 'Never'], `${field}.restartPolicy`, true));
  out.push(...oneOf(spec.dnsPolicy, ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'], `${field}.dnsPolicy`, true));
  out.push(...validateNonNegative(spec.terminationGracePeriodSeconds, `${field}.terminationGracePeriodSeconds`));
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null && !(spec.activeDeadlineSeconds > 0))
    out.push(causes.invalid(`${field}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  if (spec.nodeName) for (const m of isDNS1123Subdomain(spec.nodeName)) out.push(causes.invalid(`${field}.nodeName`, spec.nodeName, m));
  if (spec.serviceAccountName)
    for (const m of isDNS1123Subdomain(spec.serviceAccountName)) out.push(causes.invalid(`${field}.serviceAccountName`, spec.serviceAccountName, m));
  if (spec.hostname) for (const m of isDNS1123Label(spec.hostname)) out.push(causes.invalid(`${field}.hostname`, spec.hostname, m));
  if (spec.subdomain) for (const m of isDNS1123Label(spec.subdomain)) out.push(causes.invalid(`${field}.subdomain`, spec.subdomain, m));
  if (spec.nodeSelector) {
    for (const [k, v] of Object.entries(spec.nodeSelector)) {
      if (typeof v !== 'string') out.push(causes.invalid(`${field}.nodeSelector`, v, 'must be a string'));
      void k;
    }
  }
  (Array.isArray(spec.tolerations) ? spec.tolerations : []).forEach((t: Any, i: number) => {
    const f = `${field}.tolerations[${i}]`;
    out.push(...oneOf(t?.operator, ['Equal', 'Exists'], `${f}.operator`));
    out.push(...oneOf(t?.effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute'], `${f}.effect`));
    if (t?.operator === 'Exists' && t?.value) out.push(causes.invalid(`${f}.operator`, t.operator, 'value must be empty when `operator` is \'Exists\''));
  });
  return out;
}

/** A pod template (metadata labels/annotations + spec). */
export function validatePodTemplate(template: Any, field: string, opts: PodSpecOptions = {}): FieldCause[] {
  if (!template || typeof template !== 'object') return [causes.required(field)];
  return [...validateTemplateMeta(template.metadata, `${field}.metadata`), ...validatePodSpec(template.spec, `${field}.spec`, opts)];
}

export function defaultPodTemplate(template: Any): void {
  if (template && typeof template === 'object') defaultPodSpec(template.spec);
}
