/**
 * A bitmap over a contiguous range of integers (service IP offsets, node ports), with upstream's allocation
 * strategy: dynamic allocations prefer the upper part of the range so the lower part stays free for
 * explicitly requested values (KEP-3070 "reserved service IP ranges"; node ports do the same, KEP-3668), and
 * start at a random point so two servers racing rarely pick the same value. Pure: no I/O.
 */
export class RangeBitmap {
  private readonly bits: Uint8Array;
  private count = 0;
  /** Dynamic allocations try [offset, size) first, then [0, offset). */
  readonly offset: number;

  constructor(readonly size: number, private readonly random: () => number = Math.random) {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`invalid range size ${size}`);
    this.bits = new Uint8Array(Math.ceil(size / 8));
    this.offset = dynamicOffset(size);
  }

  has(i: number): boolean {
    return i >= 0 && i < this.size && (this.bits[i >> 3] & (1 << (i & 7))) !== 0;
  }

  /** Marks i used; false when it already was (or is outside the range). */
  allocate(i: number): boolean {
    if (!Number.isInteger(i) || i < 0 || i >= this.size || this.has(i)) return false;
    this.bits[i >> 3] |= 1 << (i & 7);
    this.count++;
    return true;
  }

  release(i: number): void {
    if (!this.has(i)) return;
    this.bits[i >> 3] &= ~(1 << (i & 7));
    this.count--;
  }

  /** A free index (preferring the upper band, from a random start), marked used; undefined when full. */
  allocateNext(): number | undefined {
    if (this.count >= this.size) return undefined;
    const bands: Array<[number, number]> = [
      [this.offset, this.size],
      [0, this.offset],
    ];
    for (const [lo, hi] of bands) {
      const n = hi - lo;
      if (n <= 0) continue;
      const start = Math.floor(this.random() * n);
      for (let k = 0; k < n; k++) {
        const i = lo + ((start + k) % n);
        if (this.allocate(i)) return i;
      }
    }
    return undefined;
  }

  get used(): number {
    return this.count;
  }
}

/** Upstream's calculateRangeOffset: size/16 clamped to [16, 256]; no static band for tiny ranges. */
export function dynamicOffset(size: number): number {
  const min = 16;
  const max = 256;
  const step = 16;
  if (size < min) return 0;
  return Math.max(min, Math.min(max, Math.floor(size / step)));
}

// ---- IPv4 helpers ----

export function ipv4ToInt(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  text: string;
  base: number;
  prefix: number;
  /** Addresses in the block. */
  size: number;
}

export function parseCidr(s: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s.trim());
  const ip = m ? ipv4ToInt(m[1]) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(prefix >= 8 && prefix <= 30)) throw new RangeError(`invalid service CIDR "${s}" (an IPv4 block from /8 to /30)`);
  const size = 2 ** (32 - prefix);
  const base = Math.floor(ip / size) * size;
  return { text: `${intToIpv4(base)}/${prefix}`, base, prefix, size };
}

export interface PortRange {
  text: string;
  base: number;
  size: number;
}

/** "30000-32767" (upstream's --service-node-port-range syntax; "30000+2768" also accepted). */
export function parsePortRange(s: string): PortRange {
  const m = /^(\d+)(?:-(\d+)|\+(\d+))$/.exec(s.trim());
  if (!m) throw new RangeError(`invalid port range "${s}"`);
  const base = Number(m[1]);
  const last = m[2] !== undefined ? Number(m[2]) : base + Number(m[3]) - 1;
  if (base < 1 || last > 65535 || last < base) throw new RangeError(`invalid port range "${s}"`);
  return { text: `${base}-${last}`, base, size: last - base + 1 };
}
