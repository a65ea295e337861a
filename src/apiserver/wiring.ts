/**
 * Where the generic machinery meets the per-kind knowledge of src/apiserver/{resources,schema,patch}.
 * Kept in one place so the machinery itself imports none of it (tests pass their own resources).
 */
import type { ResourceInfo } from './resource';
import type { OpenApiProvider } from './handler';
import type { Patcher } from './patching';
import { RESOURCES } from './resources';
import { openapiV3Document, openapiV3Index } from './schema';
import { kindsPatcher } from './patch';

/** Upstream's --event-ttl default, applied here unless the kind sets its own. */
const EVENT_TTL_SECONDS = 3600;

export function resources(): ResourceInfo[] {
  return RESOURCES.map((r) => (r.plural === 'events' && r.ttlSeconds === undefined ? { ...r, ttlSeconds: EVENT_TTL_SECONDS } : r));
}

export function patcher(): Patcher {
  return kindsPatcher;
}

export function openapi(): OpenApiProvider | undefined {
  return { index: openapiV3Index, document: (p) => openapiV3Document(p) };
}
