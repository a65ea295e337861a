/** The CNI configuration list of a skiff network (pure). */
import type { ConfList } from './cni';
import { CNI_VERSION } from './cni';
import type { NetworkRecord } from './model';
import { broadcast, formatIp, parseCidr } from './ipv4';

/** CNI network name: appears in the plugins' iptables comments and names host-local's lease dir. */
export function cniName(n: Pick<NetworkRecord, 'id'>): string {
  return `skiff-${n.id.slice(0, 12)}`;
}

/**
 * withPortmap: portmap is in the list only for endpoints that publish ports (every plugin is an exec, and
 * `docker run` on the default network should not pay for one that has nothing to do).
 */
export function buildConfList(n: NetworkRecord, ipamDataDir: string, withPortmap = true): ConfList {
  const range: Record<string, string> = { subnet: n.subnet, gateway: n.gateway };
  if (n.ipRange) {
    // host-local wants explicit bounds for a sub-range of the subnet (Docker's --ip-range).
    const sub = parseCidr(n.subnet);
    const r = parseCidr(n.ipRange);
    range.rangeStart = formatIp(Math.max(r.base, sub.base + 1));
    range.rangeEnd = formatIp(Math.min(broadcast(r), broadcast(sub) - 1));
  }
  const mtu = Number(n.options['com.docker.network.driver.mtu'] ?? 0);
  const bridge: Record<string, unknown> = {
    type: 'bridge',
    bridge: n.bridge,
    isGateway: true,
    // Outbound NAT is one rule per network in SKIFF-POSTROUTING (firewall.ts), not the plugin's per-container
    // chain: fewer iptables execs per container and nothing per container to leak. --internal: no masquerade
    // and (below) no default route: the container reaches only its subnet.
    ipMasq: false,
    hairpinMode: true,
    capabilities: { ips: true, mac: true },
    ipam: {
      type: 'host-local',
      ranges: [[range]],
      routes: n.internal ? [] : [{ dst: '0.0.0.0/0' }],
      dataDir: ipamDataDir,
    },
  };
  if (mtu > 0) bridge.mtu = mtu;
  return {
    cniVersion: CNI_VERSION,
    name: cniName(n),
    plugins: [
      bridge as ConfList['plugins'][number],
      // snat: hairpin and 127.0.0.1 connections get masqueraded (portmap also turns on route_localnet on the
      // bridge for the loopback case); other clients keep their source address.
      ...(withPortmap ? [{ type: 'portmap', capabilities: { portMappings: true }, snat: true }] : []),
    ],
  };
}
