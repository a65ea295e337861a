/**
 * What the node's service datapath must do, computed from Services and their Endpoints (pure). One entry per
 * service port: the virtual addresses it answers on (ClusterIP, externalIPs), the node port and the
 * LoadBalancer port it answers on at the node's own addresses, and the READY endpoints it balances over.
 */
type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface ServicePort {
  /** "ns/name/tcp/portname" (kube-proxy's servicePortName). */
  id: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
  clusterIP?: string;
  port: number;
  externalIPs: string[];
  nodePort?: number;
  /** LoadBalancer Services are published on the node's addresses at spec.ports[].port (k3s ServiceLB). */
  loadBalancerPort?: number;
  /** Ready endpoints only: a replica that fails its readiness probe gets no traffic. */
  endpoints: Endpoint[];
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIPv4(s: unknown): s is string {
  return typeof s === 'string' && IPV4.test(s) && s.split('.').every((x) => Number(x) <= 255);
}

/**
 * Service ports from Services and Endpoints (both as JSON). Services are taken oldest first, so when two
 * LoadBalancer Services ask for the same host port the older one keeps it (as k3s's ServiceLB does).
 */
export function buildModel(services: Any[], endpoints: Any[]): ServicePort[] {
  const eps = new Map<string, Any>();
  for (const e of endpoints) eps.set(`${e?.metadata?.namespace}/${e?.metadata?.name}`, e);
  const sorted = [...services].sort(
    (a, b) => String(a?.metadata?.creationTimestamp ?? '').localeCompare(String(b?.metadata?.creationTimestamp ?? '')) ||
      `${a?.metadata?.namespace}/${a?.metadata?.name}`.localeCompare(`${b?.metadata?.namespace}/${b?.metadata?.name}`),
  );
  const out: ServicePort[] = [];
  for (const svc of sorted) {
    const spec = svc?.spec;
    if (!spec || spec.type === 'ExternalName') continue;
    const ns = String(svc.metadata?.namespace ?? '');
    const name = String(svc.metadata?.name ?? '');
    const clusterIP = isIPv4(spec.clusterIP) ? spec.clusterIP : undefined;
    const externalIPs: string[] = (Array.isArray(spec.externalIPs) ? spec.externalIPs : []).filter(isIPv4);
    const e = eps.get(`${ns}/${name}`);
    for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
      const protocol = String(p?.protocol ?? 'TCP').toLowerCase() as Protocol;
      if (!['tcp', 'udp', 'sctp'].includes(protocol) || !Number.isInteger(p?.port)) continue;
      const portName = String(p.name ?? '');
      out.push({
        id: `${ns}/${name}/${protocol}/${portName}`,
        namespace: ns,
        name,
        portName,
        protocol,
        clusterIP,
        port: p.port,
        externalIPs,
        nodePort: (spec.type === 'NodePort' || spec.type === 'LoadBalancer') && Number.isInteger(p.nodePort) && p.nodePort > 0 ? p.nodePort : undefined,
        loadBalancerPort: spec.type === 'LoadBalancer' ? p.port : undefined,
        endpoints: readyEndpoints(e, portName, protocol),
      });
    }
  }
  return out;
}

/** The ready addresses of the Endpoints subsets that carry the named port. */
function readyEndpoints(e: Any, portName: string, protocol: Protocol): Endpoint[] {
  const out: Endpoint[] = [];
  const seen = new Set<string>();
  for (const s of Array.isArray(e?.subsets) ? e.subsets : []) {
    const port = (Array.isArray(s?.ports) ? s.ports : []).find(
      (p: Any) => String(p?.name ?? '') === portName && String(p?.protocol ?? 'TCP').toLowerCase() === protocol,
    );
    if (!port || !Number.isInteger(port.port)) continue;
    for (const a of Array.isArray(s.addresses) ? s.addresses : []) {
      if (!isIPv4(a?.ip)) continue;
      const k = `${a.ip}:${port.port}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ ip: a.ip, port: port.port });
    }
  }
  return out.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip.localeCompare(b.ip, 'en', { numeric: true })));
}
