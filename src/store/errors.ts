/**
 * The store's error vocabulary, shared by the backends (etcd.ts, sqlite.ts, sqlite-writer.ts) so that every
 * Store says the same thing, with the same code and details, for the same failure.
 */
import { SkiffError, alreadyExists, conflict, gone, invalid, notFound } from '../common/errors';

/** A call on a store after close(); `which` names it (the SQLite file) where there may be several. */
export function storeClosed(which?: string): SkiffError {
  return new SkiffError('Unavailable', which ? `Store ${which} is closed` : 'Store is closed');
}

export function keyExists(key: string, currentRevision: number | undefined): SkiffError {
  return alreadyExists(`Key ${key} already exists`, { name: key, currentRevision });
}

export function keyNotFound(key: string): SkiffError {
  return notFound(`Key ${key} not found`, { name: key });
}

/** A compare-and-swap lost: the key is at revision `at`, the caller expected `expected`. */
export function revisionConflict(key: string, at: number, expected: number): SkiffError {
  return conflict(`Key ${key} is at revision ${at}, not ${expected}`, { name: key, currentRevision: at });
}

export function leaseNotFound(lease: number): SkiffError {
  return notFound(`Lease ${lease} not found`, { kind: 'lease', name: String(lease) });
}

export function badLeaseTtl(ttlSeconds: number): SkiffError {
  return invalid(`Lease TTL must be positive, got ${ttlSeconds}`);
}

export function watchCompacted(from: number, compacted: number): SkiffError {
  return gone(`Watch from revision ${from} is no longer possible: compacted revision is ${compacted}`, {
    compactRevision: compacted,
  });
}
