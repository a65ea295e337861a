/**
 * Docker's wire shape for networks and its list filters (pure). The Docker API edge serialises these
 * objects as they are; nothing here knows about HTTP.
 */
import type { NetworkRecord } from './model';
import { SkiffError } from '../common/errors';

export interface DockerEndpoint {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

export interface DockerNetwork {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string> | null; Config: { Subnet: string; Gateway: string; IPRange?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, DockerEndpoint>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export function toDockerNetwork(n: NetworkRecord, containers: Record<string, DockerEndpoint>): DockerNetwork {
  const cfg: { Subnet: string; Gateway: string; IPRange?: string } = { Subnet: n.subnet, Gateway: n.gateway };
  if (n.ipRange) cfg.IPRange = n.ipRange;
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [cfg] },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: n.options,
    Labels: n.labels,
  };
}

/** Docker's filter argument: {"name":{"x":true}} (current) or {"name":["x"]} (old clients). */
export type FilterArgs = Record<string, string[]>;

export function normalizeFilters(raw: unknown): FilterArgs {
  if (raw === undefined || raw === null || raw === '') return {};
  const obj = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  if (typeof obj !== 'object' || obj === null) throw new SkiffError('InvalidArgument', 'invalid filters');
  const out: FilterArgs = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v && typeof v === 'object') out[k] = Object.entries(v).filter(([, on]) => on).map(([s]) => s);
    else throw new SkiffError('InvalidArgument', `invalid filter '${k}'`);
  }
  return out;
}

const LIST_FILTERS = new Set(['name', 'id', 'label', 'driver', 'type', 'scope', 'dangling']);
const PRUNE_FILTERS = new Set(['label', 'label!', 'until']);

export function checkFilters(f: FilterArgs, prune = false): void {
  const allowed = prune ? PRUNE_FILTERS : LIST_FILTERS;
  for (const k of Object.keys(f)) {
    if (!allowed.has(k)) throw new SkiffError('InvalidArgument', `invalid filter '${k}'`);
  }
}

function labelMatches(labels: Record<string, string>, expr: string): boolean {
  const i = expr.indexOf('=');
  if (i < 0) return expr in labels;
  return labels[expr.slice(0, i)] === expr.slice(i + 1);
}

/** Docker's `until`: a unix timestamp, an RFC 3339 time, or a duration like 10m / 24h before now. */
export function parseUntil(v: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = /^(\d+)(ns|us|ms|s|m|h)$/.exec(v);
  if (d) {
    const mult = { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 }[d[2] as 'ns'];
    return now - Number(d[1]) * mult;
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new SkiffError('InvalidArgument', `invalid until filter value '${v}'`);
  return t;
}

export function matchesList(n: NetworkRecord, f: FilterArgs, inUse: boolean): boolean {
  const any = (k: string, pred: (v: string) => boolean) => !f[k]?.length || f[k].some(pred);
  return (
    // Docker's name filter is a substring match; id is a prefix match.
    any('name', (v) => n.name.includes(v)) &&
    any('id', (v) => n.id.startsWith(v)) &&
    (!f.label?.length || f.label.every((v) => labelMatches(n.labels, v))) &&
    any('driver', (v) => n.driver === v) &&
    any('scope', (v) => v === 'local') &&
    any('type', (v) => (v === 'builtin' ? n.isDefault : v === 'custom' ? !n.isDefault : false)) &&
    any('dangling', (v) => (v === 'true' || v === '1' ? !inUse && !n.isDefault : !(v === 'false' || v === '0') || inUse || n.isDefault))
  );
}

export function matchesPrune(n: NetworkRecord, f: FilterArgs, now = Date.now()): boolean {
  if (f.label?.length && !f.label.every((v) => labelMatches(n.labels, v))) return false;
  if (f['label!']?.length && f['label!'].some((v) => labelMatches(n.labels, v))) return false;
  if (f.until?.length && !f.until.every((v) => Date.parse(n.created) < parseUntil(v, now))) return false;
  return true;
}
