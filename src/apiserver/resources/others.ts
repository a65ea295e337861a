/**
 * autoscaling/v2 horizontalpodautoscalers, coordination.k8s.io/v1 leases, discovery.k8s.io/v1 endpointslices,
 * networking.k8s.io/v1 ingresses, events.k8s.io/v1 events.
 */
import type { FieldCause } from '../../common/errors';
import type { ResourceInfo } from '../resource';
import { col, table } from './tables';
import { eventTable } from './core';
import { refFieldSelectors, setDefault } from './util';
import { canonicalQuantity } from './quantity';
import {
  causes,
  immutable,
  isDNS1123Label,
  isDNS1123Subdomain,
  isValidPortName,
  isValidPortNum,
  oneOf,
  validateObjectMeta,
  validateQuantity,
} from './validation';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const VERBS: ResourceInfo['verbs'] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

// --- horizontalpodautoscalers ---------------------------------------------------------------------

function scaleRules(rules: Any, up: boolean): Any {
  const r = rules ?? {};
  setDefault(r, 'stabilizationWindowSeconds', up ? 0 : 300);
  setDefault(r, 'selectPolicy', 'Max');
  if (r.policies === undefined || r.policies === null)
    r.policies = up
      ? [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ]
      : [{ type: 'Percent', value: 100, periodSeconds: 15 }];
  return r;
}

function metricTargets(o: Any): string {
  const specs: Any[] = o.spec?.metrics ?? [];
  if (specs.length === 0) return '<none>';
  const current: Any[] = o.status?.currentMetrics ?? [];
  const parts: string[] = [];
  specs.forEach((m: Any, i: number) => {
    const cur = current[i];
    if (m.type === 'Resource' || m.type === 'ContainerResource') {
      const src = m.resource ?? m.containerResource ?? {};
      const cs = cur?.resource ?? cur?.containerResource;
      if (src.target?.averageUtilization !== undefined) {
        const c = cs?.current?.averageUtilization;
        parts.push(`${src.name}: ${c !== undefined ? `${c}%` : '<unknown>'}/${src.target.averageUtilization}%`);
      } else {
        const c = cs?.current?.averageValue;
        parts.push(`${src.name}: ${c ?? '<unknown>'}/${src.target?.averageValue ?? '<unset>'}`);
      }
    } else {
      const key = m.type === 'Pods' ? 'pods' : m.type === 'Object' ? 'object' : 'external';
      const t = m[key]?.target ?? {};
      const c = cur?.[key]?.current ?? {};
      const want = t.averageValue ?? t.value ?? '<unset>';
      const have = c.averageValue ?? c.value ?? '<unknown>';
      parts.push(`${have}/${want}${t.averageValue !== undefined && m.type !== 'Pods' ? ' (avg)' : ''}`);
    }
  });
  return parts.length > 3 ? `${parts.slice(0, 3).join(', ')} + ${parts.length - 3} more...` : parts.join(', ');
}

function validateHpa(o: Any): FieldCause[] {
  const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
  const spec = o.spec ?? {};
  const ref = spec.scaleTargetRef;
  if (!ref) out.push(causes.required('spec.scaleTargetRef'));
  else {
    if (!ref.kind) out.push(causes.required('spec.scaleTargetRef.kind'));
    if (!ref.name) out.push(causes.required('spec.scaleTargetRef.name'));
    else for (const m of isDNS1123Subdomain(ref.name)) out.push(causes.invalid('spec.scaleTargetRef.name', ref.name, m));
  }
  if (spec.minReplicas !== undefined && spec.minReplicas !== null && spec.minReplicas < 1)
    out.push(causes.invalid('spec.minReplicas', spec.minReplicas, 'must be greater than or equal to 1'));
  if (!(spec.maxReplicas >= 1)) out.push(causes.invalid('spec.maxReplicas', spec.maxReplicas ?? 0, 'must be greater than 0'));
  else if (spec.minReplicas && spec.maxReplicas < spec.minReplicas)
    out.push(causes.invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  (spec.metrics ?? []).forEach((m: Any, i: number) => {
    const f = `spec.metrics[${i}]`;
    out.push(...oneOf(m?.type, ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'], `${f}.type`, true));
    const src = m?.resource ?? m?.containerResource;
    if ((m?.type === 'Resource' || m?.type === 'ContainerResource') && !src) out.push(causes.required(`${f}.${m.type === 'Resource' ? 'resource' : 'containerResource'}`, 'must populate information for the given metric source'));
    if (src) {
      const f2 = `${f}.${m.type === 'ContainerResource' ? 'containerResource' : 'resource'}`;
      if (!src.name) out.push(causes.required(`${f2}.name`, 'must specify a resource name'));
      const t = src.target ?? {};
      out.push(...oneOf(t.type, ['AverageValue', 'Utilization', 'Value'], `${f2}.target.type`, true));
      if (t.averageUtilization !== undefined && !(t.averageUtilization > 0))
        out.push(causes.invalid(`${f2}.target.averageUtilization`, t.averageUtilization, 'must be greater than 0'));
      if (t.averageValue !== undefined) out.push(...validateQuantity(t.averageValue, `${f2}.target.averageValue`));
    }
  });
  for (const dir of ['scaleUp', 'scaleDown']) {
    const r = spec.behavior?.[dir];
    if (!r) continue;
    const f = `spec.behavior.${dir}`;
    out.push(...oneOf(r.selectPolicy, ['Disabled', 'Max', 'Min'], `${f}.selectPolicy`));
    if (r.stabilizationWindowSeconds !== undefined && (r.stabilizationWindowSeconds < 0 || r.stabilizationWindowSeconds > 3600))
      out.push(causes.invalid(`${f}.stabilizationWindowSeconds`, r.stabilizationWindowSeconds, 'must be less than or equal to 3600'));
    (r.policies ?? []).forEach((p: Any, j: number) => {
      out.push(...oneOf(p?.type, ['Percent', 'Pods'], `${f}.policies[${j}].type`, true));
      if (!(p?.value > 0)) out.push(causes.invalid(`${f}.policies[${j}].value`, p?.value, 'must be greater than zero'));
      if (!(p?.periodSeconds > 0 && p?.periodSeconds <= 1800))
        out.push(causes.invalid(`${f}.policies[${j}].periodSeconds`, p?.periodSeconds, 'must be greater than zero and less than or equal to 1800'));
    });
  }
  return out;
}

export const horizontalpodautoscalers: ResourceInfo = {
  group: 'autoscaling',
  version: 'v2',
  kind: 'HorizontalPodAutoscaler',
  plural: 'horizontalpodautoscalers',
  singular: 'horizontalpodautoscaler',
  namespaced: true,
  shortNames: ['hpa'],
  categories: ['all'],
  verbs: VERBS,
  subresources: ['status'],
  hasStatus: true,
  tracksGeneration: true,
  schemaName: 'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler',
  defaults(o: Any) {
    const spec = (o.spec ??= {});
    setDefault(spec, 'minReplicas', 1);
    if (!Array.isArray(spec.metrics) || spec.metrics.length === 0)
      spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
    for (const m of spec.metrics) {
      const t = (m?.resource ?? m?.containerResource ?? m?.pods ?? m?.object ?? m?.external)?.target;
      if (t) for (const k of ['averageValue', 'value']) if (t[k] !== undefined) t[k] = canonicalQuantity(String(t[k]));
    }
    if (spec.behavior && typeof spec.behavior === 'object') {
      spec.behavior.scaleUp = scaleRules(spec.behavior.scaleUp, true);
      spec.behavior.scaleDown = scaleRules(spec.behavior.scaleDown, false);
    }
  },
  validate: (o: Any) => validateHpa(o),
  table: table([
    { col: col('Reference', 'string', 'Reference to target resource'), cell: (o) => `${o.spec?.scaleTargetRef?.kind ?? ''}/${o.spec?.scaleTargetRef?.name ?? ''}` },
    { col: col('Targets', 'string', 'Current and target utilization'), cell: metricTargets },
    { col: col('MinPods', 'string', 'Minimum number of replicas'), cell: (o) => (o.spec?.minReplicas !== undefined ? String(o.spec.minReplicas) : '<unset>') },
    { col: col('MaxPods', 'integer', 'Maximum number of replicas'), cell: (o) => o.spec?.maxReplicas ?? 0 },
    { col: col('Replicas', 'integer', 'Current number of replicas'), cell: (o) => o.status?.currentReplicas ?? 0 },
  ]),
};

// --- leases ---------------------------------------------------------------------------------------

export const leases: ResourceInfo = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  singular: 'lease',
  namespaced: true,
  verbs: VERBS,
  subresources: [],
  hasStatus: false,
  tracksGeneration: false,
  schemaName: 'io.k8s.api.coordination.v1.Lease',
  defaults() {},
  validate(o: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
    const s = o.spec ?? {};
    if (s.leaseDurationSeconds !== undefined && s.leaseDurationSeconds !== null && !(s.leaseDurationSeconds > 0))
      out.push(causes.invalid('spec.leaseDurationSeconds', s.leaseDurationSeconds, 'must be greater than 0'));
    if (s.leaseTransitions !== undefined && s.leaseTransitions !== null && s.leaseTransitions < 0)
      out.push(causes.invalid('spec.leaseTransitions', s.leaseTransitions, 'must be greater than or equal to 0'));
    return out;
  },
  table: table([{ col: col('Holder', 'string', 'holderIdentity contains the identity of the holder of a current lease.'), cell: (o) => o.spec?.holderIdentity ?? '' }]),
};

// --- endpointslices -------------------------------------------------------------------------------

function sliceEndpoints(o: Any): string {
  const addrs: string[] = [];
  for (const e of o.endpoints ?? []) for (const a of e?.addresses ?? []) addrs.push(a);
  if (addrs.length === 0) return '<unset>';
  return addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
}

export const endpointslices: ResourceInfo = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  verbs: VERBS,
  subresources: [],
  hasStatus: false,
  tracksGeneration: true,
  schemaName: 'io.k8s.api.discovery.v1.EndpointSlice',
  defaults(o: Any) {
    for (const p of Array.isArray(o.ports) ? o.ports : []) {
      if (!p || typeof p !== 'object') continue;
      setDefault(p, 'protocol', 'TCP');
      setDefault(p, 'name', '');
    }
  },
  validate(o: Any, old?: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
    out.push(...oneOf(o.addressType, ['FQDN', 'IPv4', 'IPv6'], 'addressType', true));
    (o.endpoints ?? []).forEach((e: Any, i: number) => {
      const a = e?.addresses;
      if (!Array.isArray(a) || a.length === 0) out.push(causes.required(`endpoints[${i}].addresses`, 'must contain at least 1 address'));
      else if (a.length > 100) out.push(causes.invalid(`endpoints[${i}].addresses`, a.length, 'must have at most 100 items'));
      if (e?.hostname) for (const m of isDNS1123Label(e.hostname)) out.push(causes.invalid(`endpoints[${i}].hostname`, e.hostname, m));
    });
    (o.ports ?? []).forEach((p: Any, i: number) => {
      if (p?.name) for (const m of isDNS1123Label(p.name)) out.push(causes.invalid(`ports[${i}].name`, p.name, m));
      if (p?.port !== undefined && p?.port !== null) for (const m of isValidPortNum(p.port)) out.push(causes.invalid(`ports[${i}].port`, p.port, m));
      out.push(...oneOf(p?.protocol, ['SCTP', 'TCP', 'UDP'], `ports[${i}].protocol`, true));
    });
    if (old) out.push(...immutable(o.addressType, old.addressType, 'addressType'));
    return out;
  },
  table: table([
    { col: col('AddressType', 'string', 'addressType specifies the type of address carried by this EndpointSlice.'), cell: (o) => o.addressType ?? '' },
    { col: col('Ports', 'string', 'ports specifies the list of network ports exposed by each endpoint in this slice.'), cell: (o) => ((o.ports ?? []).length ? (o.ports ?? []).map((p: Any) => (p.port === undefined ? '<unset>' : String(p.port))).join(',') : '<unset>') },
    { col: col('Endpoints', 'string', 'endpoints is a list of unique endpoints in this slice.'), cell: sliceEndpoints },
  ]),
};

// --- ingresses ------------------------------------------------------------------------------------

function validateBackend(b: Any, f: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (!b) return [causes.required(f)];
  if (b.service && b.resource) out.push(causes.invalid(f, '', 'cannot set both resource and service backends'));
  else if (b.service) {
    if (!b.service.name) out.push(causes.required(`${f}.service.name`));
    else for (const m of isDNS1123Label(b.service.name)) out.push(causes.invalid(`${f}.service.name`, b.service.name, m));
    const port = b.service.port ?? {};
    if (port.name && port.number) out.push(causes.invalid(`${f}.service.port`, port, 'cannot set both port name & port number'));
    else if (port.name) for (const m of isValidPortName(port.name)) out.push(causes.invalid(`${f}.service.port.name`, port.name, m));
    else if (port.number !== undefined) for (const m of isValidPortNum(port.number)) out.push(causes.invalid(`${f}.service.port.number`, port.number, m));
    else out.push(causes.required(`${f}.service.port`, 'port name or number is required'));
  } else if (b.resource) {
    if (!b.resource.kind) out.push(causes.required(`${f}.resource.kind`));
    if (!b.resource.name) out.push(causes.required(`${f}.resource.name`));
  } else out.push(causes.invalid(f, '', 'resource or service backend is required'));
  return out;
}

function validateIngress(o: Any): FieldCause[] {
  const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
  const spec = o.spec ?? {};
  const rules: Any[] = spec.rules ?? [];
  if (!spec.defaultBackend && rules.length === 0) out.push(causes.invalid('spec', spec, 'either `defaultBackend` or `rules` must be specified'));
  if (spec.defaultBackend) out.push(...validateBackend(spec.defaultBackend, 'spec.defaultBackend'));
  if (spec.ingressClassName) for (const m of isDNS1123Subdomain(spec.ingressClassName)) out.push(causes.invalid('spec.ingressClassName', spec.ingressClassName, m));
  rules.forEach((r: Any, i: number) => {
    const f = `spec.rules[${i}]`;
    if (r?.host) {
      const h = String(r.host).replace(/^\*\./, '');
      for (const m of isDNS1123Subdomain(h)) out.push(causes.invalid(`${f}.host`, r.host, m));
    }
    if (r?.http) {
      const paths: Any[] = r.http.paths ?? [];
      if (paths.length === 0) out.push(causes.required(`${f}.http.paths`));
      paths.forEach((p: Any, j: number) => {
        const pf = `${f}.http.paths[${j}]`;
        if (!p?.pathType) out.push(causes.required(`${pf}.pathType`, 'pathType must be specified'));
        else out.push(...oneOf(p.pathType, ['Exact', 'ImplementationSpecific', 'Prefix'], `${pf}.pathType`));
        if ((p?.pathType === 'Exact' || p?.pathType === 'Prefix') && !String(p?.path ?? '').startsWith('/'))
          out.push(causes.invalid(`${pf}.path`, p?.path ?? '', "must be an absolute path"));
        out.push(...validateBackend(p?.backend, `${pf}.backend`));
      });
    }
  });
  (spec.tls ?? []).forEach((t: Any, i: number) => {
    (t?.hosts ?? []).forEach((h: string, j: number) => {
      for (const m of isDNS1123Subdomain(String(h).replace(/^\*\./, ''))) out.push(causes.invalid(`spec.tls[${i}].hosts[${j}]`, h, m));
    });
  });
  return out;
}

export const ingresses: ResourceInfo = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'Ingress',
  plural: 'ingresses',
  singular: 'ingress',
  namespaced: true,
  shortNames: ['ing'],
  verbs: VERBS,
  subresources: ['status'],
  hasStatus: true,
  tracksGeneration: true,
  schemaName: 'io.k8s.api.networking.v1.Ingress',
  defaults() {},
  validate: (o: Any) => validateIngress(o),
  table: table([
    { col: col('Class', 'string', 'The name of the IngressClass resource that should be used to implement this Ingress.'), cell: (o) => o.spec?.ingressClassName ?? '<none>' },
    { col: col('Hosts', 'string', 'Hosts that incoming requests are matched against before the ingress rule'), cell: (o) => { const h = (o.spec?.rules ?? []).map((r: Any) => r?.host).filter(Boolean); return h.length ? (h.length > 4 ? `${h.slice(0, 4).join(',')} + ${h.length - 4} more...` : h.join(',')) : '*'; } },
    { col: col('Address', 'string', 'Address is a list containing ingress points for the load-balancer'), cell: (o) => (o.status?.loadBalancer?.ingress ?? []).map((i: Any) => i.ip || i.hostname).filter(Boolean).join(',') },
    { col: col('Ports', 'string', 'Ports of TLS configurations that open'), cell: (o) => ((o.spec?.tls ?? []).length ? '80, 443' : '80') },
  ]),
};

// --- events.k8s.io --------------------------------------------------------------------------------

export const eventsV1: ResourceInfo = {
  group: 'events.k8s.io',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  verbs: VERBS,
  subresources: [],
  hasStatus: false,
  tracksGeneration: false,
  schemaName: 'io.k8s.api.events.v1.Event',
  defaults() {},
  validate(o: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
    if (!o.eventTime) out.push(causes.required('eventTime'));
    out.push(...oneOf(o.type, ['Normal', 'Warning'], 'type', true));
    if (!o.reportingController) out.push(causes.required('reportingController'));
    if (!o.reportingInstance) out.push(causes.required('reportingInstance'));
    if (!o.action) out.push(causes.required('action'));
    if (!o.reason) out.push(causes.required('reason'));
    if (typeof o.note === 'string' && o.note.length > 1024) out.push(causes.tooLong('note', 1024));
    return out;
  },
  table: eventTable,
  fieldSelectors: {
    ...refFieldSelectors('regarding', ['kind', 'namespace', 'name', 'uid']),
    reason: (o: Any) => o.reason ?? '',
    reportingController: (o: Any) => o.reportingController ?? '',
    type: (o: Any) => o.type ?? '',
  },
};

export const OTHER_RESOURCES: ResourceInfo[] = [horizontalpodautoscalers, leases, endpointslices, ingresses, eventsV1];

// --- autoscaling/v1 horizontalpodautoscalers (served from autoscaling/v2 storage) -------------------

const ANN_METRICS = 'autoscaling.alpha.kubernetes.io/metrics';
const ANN_CURRENT = 'autoscaling.alpha.kubernetes.io/current-metrics';
const ANN_BEHAVIOR = 'autoscaling.alpha.kubernetes.io/behavior';
const ANN_CONDITIONS = 'autoscaling.alpha.kubernetes.io/conditions';

const isCpuUtilization = (m: Any) => m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.target?.type === 'Utilization';

function takeAnnotation(meta: Any, key: string): Any {
  const v = meta?.annotations?.[key];
  if (v === undefined) return undefined;
  delete meta.annotations[key];
  if (Object.keys(meta.annotations).length === 0) delete meta.annotations;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

/** autoscaling/v1 -> v2, keeping what v1 cannot express in upstream's annotations. */
export function hpaV1ToV2(o: Any): Any {
  const out: Any = structuredClone(o);
  out.apiVersion = 'autoscaling/v2';
  const meta = (out.metadata ??= {});
  const s = o.spec ?? {};
  const extra: Any[] = takeAnnotation(meta, ANN_METRICS) ?? [];
  const metrics: Any[] = [];
  if (s.targetCPUUtilizationPercentage !== undefined && s.targetCPUUtilizationPercentage !== null)
    metrics.push({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: s.targetCPUUtilizationPercentage } } });
  out.spec = { scaleTargetRef: s.scaleTargetRef, minReplicas: s.minReplicas, maxReplicas: s.maxReplicas, metrics: [...metrics, ...extra] };
  if (out.spec.minReplicas === undefined) delete out.spec.minReplicas;
  if (out.spec.metrics.length === 0) delete out.spec.metrics;
  const behavior = takeAnnotation(meta, ANN_BEHAVIOR);
  if (behavior) out.spec.behavior = behavior;
  const st = o.status;
  const currentExtra: Any[] = takeAnnotation(meta, ANN_CURRENT) ?? [];
  const conditions = takeAnnotation(meta, ANN_CONDITIONS);
  if (st) {
    out.status = { observedGeneration: st.observedGeneration, lastScaleTime: st.lastScaleTime, currentReplicas: st.currentReplicas ?? 0, desiredReplicas: st.desiredReplicas ?? 0 };
    const current: Any[] = [];
    if (st.currentCPUUtilizationPercentage !== undefined)
      current.push({ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: st.currentCPUUtilizationPercentage } } });
    current.push(...currentExtra);
    if (current.length) out.status.currentMetrics = current;
    if (conditions) out.status.conditions = conditions;
    for (const k of Object.keys(out.status)) if (out.status[k] === undefined) delete out.status[k];
  }
  return out;
}

/** autoscaling/v2 -> v1: the CPU utilization target becomes targetCPUUtilizationPercentage, the rest annotations. */
export function hpaV2ToV1(o: Any): Any {
  const out: Any = structuredClone(o);
  out.apiVersion = 'autoscaling/v1';
  const meta = (out.metadata ??= {});
  const s = o.spec ?? {};
  const metrics: Any[] = s.metrics ?? [];
  const cpu = metrics.find(isCpuUtilization);
  const rest = metrics.filter((m) => m !== cpu);
  const ann: Record<string, string> = {};
  if (rest.length) ann[ANN_METRICS] = JSON.stringify(rest);
  if (s.behavior) ann[ANN_BEHAVIOR] = JSON.stringify(s.behavior);
  out.spec = { scaleTargetRef: s.scaleTargetRef, minReplicas: s.minReplicas, maxReplicas: s.maxReplicas };
  if (cpu) out.spec.targetCPUUtilizationPercentage = cpu.resource.target.averageUtilization;
  if (out.spec.minReplicas === undefined) delete out.spec.minReplicas;
  const st = o.status;
  if (st) {
    out.status = { observedGeneration: st.observedGeneration, lastScaleTime: st.lastScaleTime, currentReplicas: st.currentReplicas ?? 0, desiredReplicas: st.desiredReplicas ?? 0 };
    const cur: Any[] = st.currentMetrics ?? [];
    const cpuNow = cur.find((m) => m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.current?.averageUtilization !== undefined);
    if (cpuNow) out.status.currentCPUUtilizationPercentage = cpuNow.resource.current.averageUtilization;
    const curRest = cur.filter((m) => m !== cpuNow);
    if (curRest.length) ann[ANN_CURRENT] = JSON.stringify(curRest);
    if (st.conditions?.length) ann[ANN_CONDITIONS] = JSON.stringify(st.conditions);
    for (const k of Object.keys(out.status)) if (out.status[k] === undefined) delete out.status[k];
  }
  if (Object.keys(ann).length) meta.annotations = { ...(meta.annotations ?? {}), ...ann };
  return out;
}

/** Not yet in RESOURCES: needs the machinery to honour `conversion` (see resource.ts). */
export const horizontalpodautoscalersV1: ResourceInfo = {
  ...horizontalpodautoscalers,
  version: 'v1',
  categories: ['all'],
  schemaName: 'io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler',
  defaults(o: Any) {
    // v1 objects are defaulted through their v2 form (upstream defaults the internal version)
    const v2 = hpaV1ToV2(o);
    horizontalpodautoscalers.defaults(v2);
    const back = hpaV2ToV1(v2);
    for (const k of Object.keys(o)) delete o[k];
    Object.assign(o, back);
  },
  validate(o: Any, old?: Any) {
    return horizontalpodautoscalers.validate(hpaV1ToV2(o), old ? hpaV1ToV2(old) : undefined).map((c) =>
      c.field === 'spec.metrics[0].resource.target.averageUtilization' ? { ...c, field: 'spec.targetCPUUtilizationPercentage' } : c,
    );
  },
  table: {
    ...horizontalpodautoscalers.table,
    cells: (o: Any) => horizontalpodautoscalers.table.cells(hpaV1ToV2(o)),
  },
  conversion: { storageVersion: 'v2', toStorage: hpaV1ToV2, fromStorage: hpaV2ToV1 },
};

export const CONVERTED_RESOURCES: ResourceInfo[] = [horizontalpodautoscalersV1];
