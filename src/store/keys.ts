/**
 * Pure key-range helpers shared by the store backends.
 *
 * Keys are compared as byte strings (SQLite's BINARY collation on UTF-8, etcd's byte order); for the ASCII keys
 * the API server uses, that is the same order as JavaScript's string comparison.
 */

/** The highest code point: an upper bound above every key (its UTF-8 form F4 8F BF BF sorts last). */
export const KEY_MAX = '\u{10FFFF}';

/** The smallest string greater than every string starting with prefix, or undefined when there is none ('' prefix). */
export function prefixEnd(prefix: string): string | undefined {
  let p = prefix;
  while (p.length > 0) {
    const last = p.charCodeAt(p.length - 1);
    if (last < 0xffff) return p.slice(0, -1) + String.fromCharCode(last + 1);
    p = p.slice(0, -1);
  }
  return undefined;
}

/** The half-open key range [lo, hi) a prefix list covers, starting no earlier than startKey. */
export function listRange(prefix: string, startKey?: string): { lo: string; hi: string } {
  const lo = startKey !== undefined && startKey > prefix ? startKey : prefix;
  return { lo, hi: prefixEnd(prefix) ?? KEY_MAX };
}

/** The smallest key strictly after key (for "remaining after this page" counts). */
export function keyAfter(key: string): string {
  return key + '\0';
}
