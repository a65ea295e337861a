/**
 * Kubernetes resource quantities ("100m", "1Gi", "1e3", "0.5"), parsed exactly and formatted canonically
 * as upstream's apimachinery/pkg/api/resource does.
 *
 * A value is kept as an exact decimal (unscaled × 10^scale, both exact) so that "1536Mi" and "1.5Gi" compare
 * equal and round-trip without float error. The suffix family (binary, decimal SI, decimal exponent) is kept
 * because upstream's canonical form preserves it.
 */

export type QuantityFormat = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

export interface Quantity {
  /** value = unscaled × 10^scale */
  unscaled: bigint;
  scale: number;
  format: QuantityFormat;
}

/** Upstream's regular expression, quoted verbatim in its validation messages. */
export const QUANTITY_REGEXP = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';

const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXP: Record<number, string> = { [-9]: 'n', [-6]: 'u', [-3]: 'm', 0: '', 3: 'k', 6: 'M', 9: 'G', 12: 'T', 15: 'P', 18: 'E' };
const BINARY_BY_EXP: Record<number, string> = { 0: '', 10: 'Ki', 20: 'Mi', 30: 'Gi', 40: 'Ti', 50: 'Pi', 60: 'Ei' };

const NUMBER = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/;

/** Parses a quantity; returns undefined when the string is not one. */
export function tryParseQuantity(input: string): Quantity | undefined {
  if (typeof input !== 'string' || input.length === 0) return undefined;
  const m = NUMBER.exec(input.trim() === input ? input : '');
  if (!m) return undefined;
  const [, sign, whole, frac = '', suffix] = m;
  if (whole.length === 0 && frac.length === 0) return undefined;
  let unscaled = BigInt((whole || '0') + frac);
  let scale = -frac.length;
  let format: QuantityFormat;
  if (suffix in DECIMAL_SUFFIXES) {
    scale += DECIMAL_SUFFIXES[suffix];
    format = 'DecimalSI';
  } else if (suffix in BINARY_SUFFIXES) {
    unscaled *= 1n << BigInt(BINARY_SUFFIXES[suffix]);
    format = 'BinarySI';
  } else if (/^[eE][+-]?[0-9]+$/.test(suffix)) {
    const exp = Number(suffix.slice(1));
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 1000) return undefined;
    scale += exp;
    format = 'DecimalExponent';
  } else {
    return undefined;
  }
  if (sign === '-') unscaled = -unscaled;
  return normalize({ unscaled, scale, format });
}

export function parseQuantity(input: string): Quantity {
  const q = tryParseQuantity(input);
  if (!q) throw new Error(`quantities must match the regular expression '${QUANTITY_REGEXP}'`);
  return q;
}

export function isQuantity(input: unknown): boolean {
  return typeof input === 'string' && tryParseQuantity(input) !== undefined;
}

/** Rounds up to nano precision (upstream's limit) and strips trailing zeros into the scale. */
function normalize(q: Quantity): Quantity {
  let { unscaled, scale } = q;
  if (scale < -9) {
    const div = 10n ** BigInt(-9 - scale);
    const neg = unscaled < 0n;
    const abs = neg ? -unscaled : unscaled;
    let r = abs / div;
    if (r * div !== abs) r += 1n; // upstream rounds away from zero
    unscaled = neg ? -r : r;
    scale = -9;
  }
  if (unscaled === 0n) return { unscaled: 0n, scale: 0, format: q.format };
  while (unscaled % 10n === 0n) {
    unscaled /= 10n;
    scale += 1;
  }
  return { unscaled, scale, format: q.format };
}

/** The exact integer value when the quantity is integral (scale ≥ 0), else undefined. */
function asInteger(q: Quantity): bigint | undefined {
  return q.scale >= 0 ? q.unscaled * 10n ** BigInt(q.scale) : undefined;
}

/** Upstream's canonical string (what the API server stores and returns). */
export function formatQuantity(q: Quantity): string {
  let format = q.format;
  if (q.unscaled === 0n) return '0';
  if (format === 'BinarySI') {
    const int = asInteger(q);
    if (int === undefined || (int > -1024n && int < 1024n)) format = 'DecimalSI';
    else {
      let exp = 0;
      let mant = int;
      while (exp < 60 && mant % 1024n === 0n) {
        mant /= 1024n;
        exp += 10;
      }
      return `${mant}${BINARY_BY_EXP[exp]}`;
    }
  }
  // Decimal: the largest exponent (a multiple of 3) that keeps the mantissa integral.
  let exp = Math.floor(q.scale / 3) * 3;
  if (format === 'DecimalSI') exp = Math.min(Math.max(exp, -9), 18);
  const mant = q.unscaled * 10n ** BigInt(q.scale - exp);
  if (format === 'DecimalExponent') return exp === 0 ? `${mant}` : `${mant}e${exp}`;
  return `${mant}${DECIMAL_BY_EXP[exp]}`;
}

/** Canonical form of a quantity string; the input unchanged when it does not parse. */
export function canonicalQuantity(input: string): string {
  const q = tryParseQuantity(input);
  return q ? formatQuantity(q) : input;
}

export function compareQuantities(a: Quantity, b: Quantity): number {
  const s = Math.min(a.scale, b.scale);
  const x = a.unscaled * 10n ** BigInt(a.scale - s);
  const y = b.unscaled * 10n ** BigInt(b.scale - s);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function quantitySign(q: Quantity): number {
  return q.unscaled < 0n ? -1 : q.unscaled > 0n ? 1 : 0;
}

/** Value as a float (for display and ratios, not for comparisons that must be exact). */
export function quantityToNumber(q: Quantity): number {
  return Number(q.unscaled) * 10 ** q.scale;
}

/** Value in thousandths, rounded up (upstream's MilliValue): CPU in millicores. */
export function quantityMilliValue(q: Quantity): bigint {
  const s = q.scale + 3;
  if (s >= 0) return q.unscaled * 10n ** BigInt(s);
  const div = 10n ** BigInt(-s);
  const r = q.unscaled / div;
  return r * div === q.unscaled ? r : q.unscaled > 0n ? r + 1n : r;
}

/** Value as an integer, rounded up (upstream's Value): bytes, counts. */
export function quantityValue(q: Quantity): bigint {
  if (q.scale >= 0) return q.unscaled * 10n ** BigInt(q.scale);
  const div = 10n ** BigInt(-q.scale);
  const r = q.unscaled / div;
  return r * div === q.unscaled ? r : q.unscaled > 0n ? r + 1n : r;
}
