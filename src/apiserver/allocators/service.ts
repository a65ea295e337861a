/**
 * ClusterIP and NodePort allocation for Services (upstream's service REST storage with its ipallocator and
 * portallocator). The bitmaps live in memory; the Services in the store are the record of what is taken, and
 * load() rebuilds the bitmaps from them at start (upstream's repair controllers do the same), so nothing is
 * handed out twice across restarts and nothing leaks after a crash between a write and its bookkeeping.
 *
 * Pure over plain objects: the Registry calls beginWrite before defaulting and validation (the allocation
 * fills spec.clusterIP / spec.ports[].nodePort) and commits or reverts once it knows whether the write
 * happened; deleted() gives everything back.
 */
import type { FieldCause } from '../../common/errors';
import type { KubeObject } from '../resource';
import type { ObjectHooks, WriteTxn } from '../registry';
import { invalidStatus, statusError } from '../status';
import { intToIpv4, ipv4ToInt, parseCidr, parsePortRange, RangeBitmap, type Cidr, type PortRange } from './range';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';
export const DEFAULT_NODE_PORT_RANGE = '30000-32767';

export interface ServiceAllocatorOptions {
  serviceCIDR?: string;
  nodePortRange?: string;
  random?: () => number;
}

/** What one Service holds. */
interface Holdings {
  ips: number[]; // bitmap indices
  ports: number[]; // node port numbers
}

export class ServiceAllocator implements ObjectHooks {
  readonly cidr: Cidr;
  readonly portRange: PortRange;
  private readonly ips: RangeBitmap;
  private readonly ports: RangeBitmap;

  constructor(opts: ServiceAllocatorOptions = {}) {
    this.cidr = parseCidr(opts.serviceCIDR ?? DEFAULT_SERVICE_CIDR);
    this.portRange = parsePortRange(opts.nodePortRange ?? DEFAULT_NODE_PORT_RANGE);
    // The network and broadcast addresses are never handed out: index i is address base + 1 + i.
    this.ips = new RangeBitmap(this.cidr.size - 2, opts.random);
    this.ports = new RangeBitmap(this.portRange.size, opts.random);
  }

  /** The first address of the range: the `kubernetes` Service's ClusterIP, as upstream. */
  get firstIP(): string {
    return intToIpv4(this.cidr.base + 1);
  }

  /** An address of the range as "ip", or undefined when it is outside the usable range. */
  private ipIndex(ip: string): number | undefined {
    const n = ipv4ToInt(ip);
    if (n === undefined) return undefined;
    const i = n - this.cidr.base - 1;
    return i >= 0 && i < this.ips.size ? i : undefined;
  }

  isAllocatedIP(ip: string): boolean {
    const i = this.ipIndex(ip);
    return i !== undefined && this.ips.has(i);
  }

  isAllocatedPort(port: number): boolean {
    return this.ports.has(port - this.portRange.base);
  }

  get usedIPs(): number {
    return this.ips.used;
  }

  get usedPorts(): number {
    return this.ports.used;
  }

  /** Marks what existing Services hold (start-up). Returns descriptions of conflicts (two owners of one value). */
  load(services: KubeObject[]): string[] {
    const problems: string[] = [];
    for (const svc of services) {
      const h = this.holdings(svc);
      const who = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
      for (const i of h.ips) if (!this.ips.allocate(i)) problems.push(`ClusterIP ${intToIpv4(this.cidr.base + 1 + i)} of ${who} is also held by another service`);
      for (const p of h.ports) if (!this.ports.allocate(p - this.portRange.base)) problems.push(`nodePort ${p} of ${who} is also held by another service`);
    }
    return problems;
  }

  /** What svc holds of this allocator's ranges (values outside them are not ours to track). */
  private holdings(svc: KubeObject | undefined): Holdings {
    const out: Holdings = { ips: [], ports: [] };
    const spec: Any = svc?.spec;
    if (!spec || typeof spec !== 'object' || spec.type === 'ExternalName') return out;
    const ips: unknown[] = Array.isArray(spec.clusterIPs) && spec.clusterIPs.length ? spec.clusterIPs : [spec.clusterIP];
    for (const ip of ips) {
      const i = typeof ip === 'string' ? this.ipIndex(ip) : undefined;
      if (i !== undefined && !out.ips.includes(i)) out.ips.push(i);
    }
    const nps: unknown[] = [...(Array.isArray(spec.ports) ? spec.ports.map((p: Any) => p?.nodePort) : []), spec.healthCheckNodePort];
    for (const np of nps) {
      if (typeof np === 'number' && this.inPortRange(np) && !out.ports.includes(np)) out.ports.push(np);
    }
    return out;
  }

  private inPortRange(p: number): boolean {
    return Number.isInteger(p) && p >= this.portRange.base && p < this.portRange.base + this.portRange.size;
  }

  deleted(svc: KubeObject): void {
    const h = this.holdings(svc);
    for (const i of h.ips) this.ips.release(i);
    for (const p of h.ports) this.ports.release(p - this.portRange.base);
  }

  /**
   * Allocates what `next` needs beyond what `old` (the stored object on update) already holds, filling
   * spec.clusterIP(s) and spec.ports[].nodePort. Throws 422 (taken / out of range) or 500 (range full) with
   * upstream's messages, having given back anything it took.
   */
  beginWrite(next: KubeObject, old: KubeObject | undefined): WriteTxn {
    const spec: Any = next.spec;
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return { commit: () => undefined, revert: () => undefined };
    const oldHeld = this.holdings(old);
    const takenIPs: number[] = [];
    const takenPorts: number[] = [];
    const revert = () => {
      for (const i of takenIPs) this.ips.release(i);
      for (const p of takenPorts) this.ports.release(p - this.portRange.base);
      takenIPs.length = 0;
      takenPorts.length = 0;
    };
    const causes: FieldCause[] = [];
    try {
      this.clusterIP(spec, old?.spec as Any, oldHeld, takenIPs, causes);
      this.nodePorts(spec, old?.spec as Any, oldHeld, takenPorts, causes);
    } catch (e) {
      revert();
      throw e;
    }
    if (causes.length) {
      revert();
      throw invalidStatus('Service', '', next.metadata?.name ?? '', causes);
    }
    return {
      // The write happened: what the old object held and the new one does not goes back.
      commit: () => {
        const now = this.holdings(next);
        for (const i of oldHeld.ips) if (!now.ips.includes(i)) this.ips.release(i);
        for (const p of oldHeld.ports) if (!now.ports.includes(p)) this.ports.release(p - this.portRange.base);
      },
      revert,
    };
  }

  private clusterIP(spec: Any, oldSpec: Any, oldHeld: Holdings, taken: number[], causes: FieldCause[]): void {
    const type = spec.type ?? 'ClusterIP';
    if (type === 'ExternalName') return;
    let want: unknown = spec.clusterIP;
    if ((want === undefined || want === '') && Array.isArray(spec.clusterIPs) && typeof spec.clusterIPs[0] === 'string') want = spec.clusterIPs[0];
    // An update that leaves the address out keeps the one it has (upstream's patchAllocatedValues).
    if ((want === undefined || want === '') && oldSpec?.clusterIP && oldSpec.type !== 'ExternalName') {
      spec.clusterIP = oldSpec.clusterIP;
      if (oldSpec.clusterIPs) spec.clusterIPs = [...oldSpec.clusterIPs];
      return;
    }
    if (want === 'None') return;
    if (want === undefined || want === '') {
      const i = this.ips.allocateNext();
      if (i === undefined) throw statusError(500, 'InternalError', 'Internal error occurred: failed to allocate a serviceIP: range is full');
      taken.push(i);
      spec.clusterIP = intToIpv4(this.cidr.base + 1 + i);
      spec.clusterIPs = [spec.clusterIP];
      return;
    }
    if (typeof want !== 'string' || ipv4ToInt(want) === undefined) return; // validation reports it
    const i = this.ipIndex(want);
    const value = `[]string{${JSON.stringify(want)}}`;
    if (i === undefined) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'spec.clusterIPs',
        message: `Invalid value: ${value}: failed to allocate IP ${want}: the provided IP (${want}) is not in the valid range. The range of valid IPs is ${this.cidr.text}`,
      });
      return;
    }
    if (oldHeld.ips.includes(i)) return;
    if (!this.ips.allocate(i)) {
      causes.push({ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: ${value}: failed to allocate IP ${want}: provided IP is already allocated` });
      return;
    }
    taken.push(i);
    if (spec.clusterIP === undefined || spec.clusterIP === '') spec.clusterIP = want;
  }

  private nodePorts(spec: Any, oldSpec: Any, oldHeld: Holdings, taken: number[], causes: FieldCause[]): void {
    const type = spec.type ?? 'ClusterIP';
    const ports: Any[] = Array.isArray(spec.ports) ? spec.ports : [];
    const oldPorts: Any[] = Array.isArray(oldSpec?.ports) ? oldSpec.ports : [];
    const needs = type === 'NodePort' || (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
    const mine = new Set<number>();
    ports.forEach((p: Any, idx: number) => {
      if (!p || typeof p !== 'object') return;
      const f = `spec.ports[${idx}].nodePort`;
      if (!needs && type !== 'LoadBalancer') {
        // Leaving NodePort/LoadBalancer: node ports the client merely carried over are dropped (upstream's
        // dropTypeDependentFields); a newly asked one stays for validation to refuse.
        if (p.nodePort && oldPorts.some((o) => o?.nodePort === p.nodePort)) delete p.nodePort;
        return;
      }
      if (!p.nodePort) {
        if (!needs) return;
        // Keep the node port this service port already had (same name, else same port and protocol).
        const prev =
          oldPorts.find((o) => o?.name && o.name === p.name && o.nodePort) ??
          oldPorts.find((o) => o?.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP') && o.nodePort);
        if (prev && oldHeld.ports.includes(prev.nodePort) && !mine.has(prev.nodePort)) {
          p.nodePort = prev.nodePort;
          mine.add(p.nodePort);
          return;
        }
        const i = this.ports.allocateNext();
        if (i === undefined) throw statusError(500, 'InternalError', 'Internal error occurred: failed to allocate a nodePort: range is full');
        p.nodePort = this.portRange.base + i;
        taken.push(p.nodePort);
        mine.add(p.nodePort);
        return;
      }
      const np = p.nodePort;
      if (typeof np !== 'number' || !Number.isInteger(np)) return; // validation reports it
      if (mine.has(np) || oldHeld.ports.includes(np)) {
        mine.add(np);
        return;
      }
      if (!this.inPortRange(np)) {
        causes.push({
          reason: 'FieldValueInvalid',
          field: f,
          message: `Invalid value: ${np}: provided port is not in the valid range. The range of valid ports is ${this.portRange.text}`,
        });
        return;
      }
      if (!this.ports.allocate(np - this.portRange.base)) {
        causes.push({ reason: 'FieldValueInvalid', field: f, message: `Invalid value: ${np}: provided port is already allocated` });
        return;
      }
      taken.push(np);
      mine.add(np);
    });
  }
}
