/**
 * Resource quantities as plain numbers for arithmetic in schedulers and autoscalers ("100m" → 0.1,
 * "1Gi" → 1073741824). Exactness is not needed here (the API server keeps the canonical form); floats hold
 * byte counts up to 2^53 exactly.
 */

const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** Parses a quantity; undefined when it is not one. Numbers pass through (JSON may carry raw numbers). */
export function quantityToNumber(q: string | number | undefined | null): number | undefined {
  if (q === undefined || q === null) return undefined;
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([a-zA-Z]*|[eE][+-]?[0-9]+)$/.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2];
  if (suffix in DECIMAL) return n * DECIMAL[suffix];
  if (suffix in BINARY) return n * BINARY[suffix];
  if (/^[eE]/.test(suffix)) return n * 10 ** Number(suffix.slice(1));
  return undefined;
}

/** CPU in millicores, rounded up like upstream's MilliValue. */
export function milliCpu(q: string | number | undefined): number {
  const v = quantityToNumber(q);
  return v === undefined ? 0 : Math.ceil(Math.round(v * 1e6) / 1e3);
}

/** Formats millicores the way upstream prints them ("250m", "2"). */
export function formatMilliCpu(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}
