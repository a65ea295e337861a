/** Small pure helpers shared by the per-kind files. */

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ak = Object.keys(a as object).filter((k) => (a as Any)[k] !== undefined);
  const bk = Object.keys(b as object).filter((k) => (b as Any)[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => deepEqual((a as Any)[k], (b as Any)[k]));
}

export function clone<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/** Field selectors reading `<ref>.<key>` of an object reference (events: involvedObject.kind, regarding.name...). */
export function refFieldSelectors(ref: string, keys: string[]): Record<string, (o: Any) => string> {
  return Object.fromEntries(keys.map((k) => [`${ref}.${k}`, (o: Any) => o[ref]?.[k] ?? '']));
}

/** Returns obj[key], creating an empty object there first when absent. */
export function ensureObject(obj: Any, key: string): Any {
  if (obj[key] === undefined || obj[key] === null || typeof obj[key] !== 'object') obj[key] = {};
  return obj[key];
}

export function setDefault(obj: Any, key: string, value: unknown): void {
  if (obj && typeof obj === 'object' && (obj[key] === undefined || obj[key] === null)) obj[key] = value;
}

/**
 * Upstream's duration.HumanDuration (k8s.io/apimachinery/pkg/util/duration) as kubectl prints ages ("5s",
 * "3m2s", "4h", "2d3h", "3y45d"). Whole seconds truncate toward zero as Go's int(d.Seconds()) does, so a
 * clock up to 2 s ahead still reads "0s".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const dy = days % 365;
    return dy === 0 ? `${years}y` : `${years}y${dy}d`;
  }
  return `${years}y`;
}

/** kubectl's translateTimestampSince: "<unknown>" for a missing time. */
export function since(ts: unknown, now = Date.now()): string {
  if (typeof ts !== 'string' || !ts) return '<unknown>';
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(now - t);
}
