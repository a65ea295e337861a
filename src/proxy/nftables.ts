/**
 * The node's service datapath as one nftables table, rendered from the model (pure). The whole table is
 * replaced in one `nft -f` transaction on every sync (add, delete, define again), so the datapath is never
 * half-programmed and an operator sees it all with `nft list table ip skiff`.
 *
 * Layout (after kube-proxy's nftables mode):
 *   nat prerouting/output  → services: ClusterIP/externalIP . proto . port  → svc-… (vmap @service-ips)
 *                                     local address: proto . nodePort/LB port → ext-… (vmap @service-nodeports)
 *   svc-…  balances at random over the ready endpoints (numgen random mod N) → sep-… (DNAT)
 *   ext-…  marks for masquerade (node port traffic), then svc-…
 *   sep-…  marks hairpin traffic (a pod reaching itself through its Service), DNAT to the endpoint
 *   nat postrouting: marked packets are masqueraded (host-originated traffic, hairpin, node ports)
 *   filter input/forward/output: new connections to a service port without ready endpoints are rejected
 *   (kube-proxy's REJECT); anything still addressed to the service range after DNAT is rejected too, so
 *   traffic to a virtual IP never leaves the host.
 */
import crypto from 'node:crypto';
import type { ServicePort } from './model';

export const MASQ_MARK = 0x4000;

export interface RenderOptions {
  table: string;
  /** Shown as the table's comment (who owns it). */
  comment: string;
  /** The ClusterIP range: traffic to it that no rule translated is refused here. */
  serviceCIDR?: string;
}

function hash(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex').slice(0, 8).toUpperCase();
}

/** nft identifiers: letters, digits and / _ . - (kube-proxy's chain names have the same shape). */
function ident(s: string): string {
  return s.replace(/[^a-zA-Z0-9/_.-]/g, '_');
}

export function chainNames(sp: ServicePort): { svc: string; ext: string; sep: (i: number) => string } {
  const h = hash(sp.id);
  const base = ident(`${sp.namespace}/${sp.name}/${sp.protocol}/${sp.portName}`);
  return {
    svc: `svc-${h}-${base}`,
    ext: `ext-${h}-${base}`,
    sep: (i: number) => ident(`sep-${h}-${base}__${sp.endpoints[i].ip}/${sp.endpoints[i].port}`),
  };
}

export function renderRuleset(ports: ServicePort[], o: RenderOptions): string {
  const mark = `0x${MASQ_MARK.toString(16)}`;
  const serviceIPs = new Map<string, string>(); // "ip . proto . port" -> verdict
  const nodePorts = new Map<string, string>(); // "proto . port" -> verdict
  const noEpServices = new Set<string>();
  const noEpNodePorts = new Set<string>();
  const chains: string[] = [];
  for (const sp of ports) {
    const names = chainNames(sp);
    const has = sp.endpoints.length > 0;
    const vips = [...(sp.clusterIP ? [{ ip: sp.clusterIP, ext: false }] : []), ...sp.externalIPs.map((ip) => ({ ip, ext: true }))];
    const local = [sp.nodePort, sp.loadBalancerPort].filter((p): p is number => p !== undefined);
    for (const v of vips) {
      const k = `${v.ip} . ${sp.protocol} . ${sp.port}`;
      if (serviceIPs.has(k) || noEpServices.has(k)) continue;
      if (has) serviceIPs.set(k, `goto ${v.ext ? names.ext : names.svc}`);
      else noEpServices.add(k);
    }
    let usesExt = vips.some((v) => v.ext);
    for (const p of local) {
      const k = `${sp.protocol} . ${p}`;
      if (nodePorts.has(k) || noEpNodePorts.has(k)) continue; // the older Service keeps a contested port
      if (has) {
        nodePorts.set(k, `goto ${names.ext}`);
        usesExt = true;
      } else noEpNodePorts.add(k);
    }
    if (!has) continue;
    const dispatch =
      sp.endpoints.length === 1
        ? `goto ${names.sep(0)}`
        : `numgen random mod ${sp.endpoints.length} vmap { ${sp.endpoints.map((_, i) => `${i} : goto ${names.sep(i)}`).join(', ')} }`;
    chains.push(`  chain ${names.svc} {\n    fib saddr type local meta mark set meta mark | ${mark}\n    ${dispatch}\n  }`);
    if (usesExt) chains.push(`  chain ${names.ext} {\n    meta mark set meta mark | ${mark}\n    goto ${names.svc}\n  }`);
    sp.endpoints.forEach((ep, i) => {
      chains.push(
        `  chain ${names.sep(i)} {\n    ip saddr ${ep.ip} meta mark set meta mark | ${mark}\n    meta l4proto ${sp.protocol} dnat to ${ep.ip}:${ep.port}\n  }`,
      );
    });
  }
  const elements = (items: Iterable<string>) => {
    const list = [...items];
    return list.length ? `\n    elements = { ${list.join(', ')} }` : '';
  };
  const t = o.table;
  const guard = o.serviceCIDR ? `\n    ip daddr ${o.serviceCIDR} reject` : '';
  return `table ip ${t}
delete table ip ${t}
table ip ${t} {
  comment ${JSON.stringify(o.comment)}
  map service-ips {
    type ipv4_addr . inet_proto . inet_service : verdict${elements([...serviceIPs].map(([k, v]) => `${k} : ${v}`))}
  }
  map service-nodeports {
    type inet_proto . inet_service : verdict${elements([...nodePorts].map(([k, v]) => `${k} : ${v}`))}
  }
  set no-endpoint-services {
    type ipv4_addr . inet_proto . inet_service${elements(noEpServices)}
  }
  set no-endpoint-nodeports {
    type inet_proto . inet_service${elements(noEpNodePorts)}
  }
  chain services {
    ip daddr . meta l4proto . th dport vmap @service-ips
    fib daddr type local meta l4proto . th dport vmap @service-nodeports
  }
  chain nat-prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump services
  }
  chain nat-output {
    type nat hook output priority -100; policy accept;
    jump services
  }
  chain nat-postrouting {
    type nat hook postrouting priority 100; policy accept;
    meta mark & ${mark} == ${mark} masquerade
  }
  chain filter-input {
    type filter hook input priority -110; policy accept;
    iifname != "lo" ip daddr 127.0.0.0/8 ct state != { established, related } drop
    ct state new fib daddr type local meta l4proto . th dport @no-endpoint-nodeports reject
  }
  chain filter-forward {
    type filter hook forward priority -110; policy accept;
    ct state new ip daddr . meta l4proto . th dport @no-endpoint-services reject
  }
  chain filter-output {
    type filter hook output priority -110; policy accept;
    ct state new ip daddr . meta l4proto . th dport @no-endpoint-services reject
    ct state new fib daddr type local meta l4proto . th dport @no-endpoint-nodeports reject
  }
  chain guard-forward {
    type filter hook forward priority 0; policy accept;${guard}
  }
  chain guard-output {
    type filter hook output priority 0; policy accept;${guard}
  }
${chains.join('\n')}
}
`;
}
