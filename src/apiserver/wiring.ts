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
import type { Registry } from './registry';
import { attachServiceNetwork, type ServiceNetworkOptions } from './allocators';

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

/** Set up on the registry before the API server listens: ClusterIP/NodePort allocation, the `kubernetes` Service. */
export function extensions(opts: { serviceNetwork?: ServiceNetworkOptions } = {}): Array<(registry: Registry) => Promise<void>> {
  return [async (registry) => void (await attachServiceNetwork(registry, opts.serviceNetwork))];
}
