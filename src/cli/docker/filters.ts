/**
 * docker's filters.Args: `--filter key=value` (repeatable) → the API's JSON `{"key":{"value":true}}`.
 * Pure.
 */
export function filtersJson(list: string[]): string | undefined {
  if (list.length === 0) return undefined;
  const o: Record<string, Record<string, boolean>> = {};
  for (const f of list) {
    const i = f.indexOf('=');
    if (i <= 0) throw new Error(`bad format of filter (expected name=value)`);
    const k = f.slice(0, i).trim().toLowerCase();
    (o[k] ??= {})[f.slice(i + 1).trim()] = true;
  }
  return JSON.stringify(o);
}

/** RFC3339Nano with fixed 9 digits in local time, like docker's jsonmessage.RFC3339NanoFixed. */
export function rfc3339NanoFixed(timeNano: bigint | number): string {
  const ns = BigInt(timeNano);
  const ms = Number(ns / 1_000_000n);
  const frac = String(ns % 1_000_000_000n).padStart(9, '0');
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const local = new Date(ms + off * 60_000);
  const base = local.toISOString().slice(0, 19);
  const tz = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}:${String(Math.abs(off) % 60).padStart(2, '0')}`;
  return `${base}.${frac}${tz}`;
}
