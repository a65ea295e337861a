/** IPv4 address and subnet arithmetic (pure). */

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function parseIp(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) throw new Error(`invalid IPv4 address ${JSON.stringify(s)}`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) throw new Error(`invalid IPv4 address ${JSON.stringify(s)}`);
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIpv4(s: string): boolean {
  try {
    parseIp(s);
    return true;
  } catch {
    return false;
  }
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/n". With strict, host bits must be zero (Docker rejects 10.0.0.1/24 as a subnet). */
export function parseCidr(s: string, strict = false): Cidr {
  const [ip, len, extra] = s.trim().split('/');
  const prefix = Number(len);
  if (extra !== undefined || len === undefined || !/^\d+$/.test(len) || prefix > 32) {
    throw new Error(`invalid CIDR ${JSON.stringify(s)}`);
  }
  const addr = parseIp(ip);
  const base = (addr & maskOf(prefix)) >>> 0;
  if (strict && base !== addr) throw new Error(`invalid subnet ${s}: host bits set (did you mean ${formatCidr({ base, prefix })}?)`);
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ((ip & maskOf(c.prefix)) >>> 0) === c.base;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const m = maskOf(p);
  return ((a.base & m) >>> 0) === ((b.base & m) >>> 0);
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** First usable host address (Docker's default gateway). */
export function firstHost(c: Cidr): number {
  return c.base + 1;
}

export function broadcast(c: Cidr): number {
  return (c.base + cidrSize(c) - 1) >>> 0;
}

/**
 * Docker's default address pools, in its order: 172.17-31.0.0/16, then 192.168.0.0/20 steps.
 * The first candidate that overlaps none of `taken` wins.
 */
export function* defaultPoolCandidates(): Generator<Cidr> {
  for (let b = 17; b <= 31; b++) yield parseCidr(`172.${b}.0.0/16`);
  for (let c = 0; c < 256; c += 16) yield parseCidr(`192.168.${c}.0/20`);
  for (let b = 0; b < 256; b++) yield parseCidr(`10.${b}.0.0/16`);
}

export function pickFreeSubnet(taken: Cidr[]): Cidr | undefined {
  for (const cand of defaultPoolCandidates()) {
    if (!taken.some((t) => cidrsOverlap(t, cand))) return cand;
  }
  return undefined;
}

/** Docker's MAC for an address: 02:42 followed by the four address bytes. */
export function macForIp(ip: number): string {
  const bytes = [0x02, 0x42, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
