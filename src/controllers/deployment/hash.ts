/**
 * pod-template-hash: upstream computes FNV-32a over a dump of the Go PodTemplateSpec struct (plus the
 * collision count as 8 little-endian bytes) and encodes the decimal value with SafeEncodeString. The Go
 * struct dump cannot be reproduced byte for byte outside Go, so skiff hashes a canonical JSON of the
 * template instead — same algorithm, same alphabet and shape of value. Nothing outside the controller
 * recomputes the hash (kubectl compares templates ignoring the label), so only stability matters.
 */
import { PodTemplateSpec } from '../../client/types';

export const POD_TEMPLATE_HASH = 'pod-template-hash';

export function fnv32a(data: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of data) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** k8s.io/apimachinery/pkg/util/rand.SafeEncodeString: maps each character to a vowel-free alphabet. */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += ALPHANUMS[s.charCodeAt(i) % ALPHANUMS.length];
  return out;
}

/** JSON with object keys sorted, so logically equal templates hash equally. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

export function computeHash(template: PodTemplateSpec, collisionCount?: number): string {
  let h = fnv32a(Buffer.from(canonicalJson(template), 'utf8'));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(collisionCount >>> 0, 0);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}

/** Templates equal ignoring the pod-template-hash label (upstream's EqualIgnoreHash, what kubectl uses). */
export function templateWithoutHash(t: PodTemplateSpec): PodTemplateSpec {
  const copy = JSON.parse(JSON.stringify(t ?? {})) as PodTemplateSpec;
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH];
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  }
  if (copy.metadata && (copy.metadata as Record<string, unknown>).creationTimestamp === null) delete (copy.metadata as Record<string, unknown>).creationTimestamp;
  return copy;
}

export function equalIgnoreHash(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  return canonicalJson(templateWithoutHash(a)) === canonicalJson(templateWithoutHash(b));
}
