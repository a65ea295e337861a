/** sha256 digests ("sha256:<64 hex>") and layer chain ids: pure helpers. */
import crypto from 'node:crypto';
import { invalid } from '../../common/errors';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** Throws InvalidArgument unless `s` is a sha256 digest; the only algorithm the store accepts. */
export function checkDigest(s: string): string {
  if (!isDigest(s)) throw invalid(`invalid digest "${s}": expected sha256:<64 lowercase hex>`);
  return s;
}

export function hexOf(digest: string): string {
  return checkDigest(digest).slice('sha256:'.length);
}

export function sha256(data: Buffer | string): string {
  return 'sha256:' + crypto.createHash('sha256').update(data).digest('hex');
}

/** Docker's short id: the first 12 hex chars of a digest (without the algorithm). */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/**
 * OCI chain ids: chain(0) = diff(0), chain(n) = sha256(chain(n-1) + " " + diff(n)). A layer's identity on disk:
 * the same diff over different parents is a different layer.
 */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  }
  return out;
}
