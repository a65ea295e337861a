/**
 * Endpoints and EndpointSlices for a Service, pure: the pods its selector matches that have an IP, ready
 * ones as addresses and the rest as notReadyAddresses (unless publishNotReadyAddresses), with target ports
 * resolved by number or by the container port's name — per pod, so pods that name a port differently end up
 * in different subsets/slices, as upstream does.
 */
import { labelsMatchMap } from '../../client/labels';
import { KObject, Pod } from '../../client/types';
import { isPodReady } from '../podutil';

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

export interface Service extends KObject {
  spec: { selector?: Record<string, string>; ports?: ServicePort[]; publishNotReadyAddresses?: boolean; type?: string; clusterIP?: string };
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface EndpointAddress {
  ip: string;
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace?: string; name?: string; uid?: string };
}

export interface Subset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

function podIP(p: Pod): string | undefined {
  return p.status?.podIP || p.status?.podIPs?.[0]?.ip || undefined;
}

/** Upstream's podutil.FindPort: a number as is, a name looked up in the pod's container ports. */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP')) return p.containerPort;
  }
  return undefined;
}

interface Member {
  pod: Pod;
  ip: string;
  ready: boolean;
  ports: EndpointPort[];
}

/** The service's member pods with their resolved ports; pods with no resolvable port are left out. */
export function members(svc: Service, pods: Pod[]): Member[] {
  if (!svc.spec.selector || Object.keys(svc.spec.selector).length === 0) return [];
  const out: Member[] = [];
  for (const pod of pods) {
    if (pod.metadata.namespace !== svc.metadata.namespace) continue;
    if (!labelsMatchMap(svc.spec.selector, pod.metadata.labels)) continue;
    const ip = podIP(pod);
    if (!ip || pod.metadata.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    const ports: EndpointPort[] = [];
    for (const sp of svc.spec.ports ?? []) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      ports.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
    }
    if ((svc.spec.ports ?? []).length > 0 && ports.length === 0) continue;
    out.push({ pod, ip, ready: svc.spec.publishNotReadyAddresses || isPodReady(pod), ports });
  }
  return out;
}

const portsKey = (ports: EndpointPort[]) => JSON.stringify([...ports].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port));
const byIp = (a: EndpointAddress, b: EndpointAddress) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0);

export function subsetsFor(svc: Service, pods: Pod[]): Subset[] {
  const groups = new Map<string, Subset>();
  for (const m of members(svc, pods)) {
    const key = portsKey(m.ports);
    let s = groups.get(key);
    if (!s) groups.set(key, (s = { ports: [...m.ports].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port) }));
    const addr: EndpointAddress = {
      ip: m.ip,
      ...(m.pod.spec.nodeName ? { nodeName: m.pod.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: m.pod.metadata.namespace, name: m.pod.metadata.name, uid: m.pod.metadata.uid },
    };
    if (m.ready) (s.addresses ??= []).push(addr);
    else (s.notReadyAddresses ??= []).push(addr);
  }
  const out = [...groups.values()];
  for (const s of out) {
    s.addresses?.sort(byIp);
    s.notReadyAddresses?.sort(byIp);
    if ((s.ports ?? []).length === 0) delete s.ports;
  }
  return out.sort((a, b) => portsKey(a.ports ?? []).localeCompare(portsKey(b.ports ?? [])));
}

export interface SliceContent {
  ports: EndpointPort[];
  endpoints: Array<{
    addresses: string[];
    conditions: { ready: boolean; serving: boolean; terminating: boolean };
    nodeName?: string;
    targetRef: { kind: 'Pod'; namespace?: string; name?: string; uid?: string };
  }>;
}

export function slicesFor(svc: Service, pods: Pod[]): SliceContent[] {
  const groups = new Map<string, SliceContent>();
  for (const m of members(svc, pods)) {
    const key = portsKey(m.ports);
    let s = groups.get(key);
    if (!s) groups.set(key, (s = { ports: [...m.ports].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port), endpoints: [] }));
    const ready = isPodReady(m.pod);
    s.endpoints.push({
      addresses: [m.ip],
      conditions: { ready: svc.spec.publishNotReadyAddresses ? true : ready, serving: ready, terminating: false },
      ...(m.pod.spec.nodeName ? { nodeName: m.pod.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: m.pod.metadata.namespace, name: m.pod.metadata.name, uid: m.pod.metadata.uid },
    });
  }
  const out = [...groups.values()];
  for (const s of out) s.endpoints.sort((a, b) => (a.addresses[0] < b.addresses[0] ? -1 : 1));
  return out.sort((a, b) => portsKey(a.ports).localeCompare(portsKey(b.ports)));
}
