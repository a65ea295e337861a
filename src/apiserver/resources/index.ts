/**
 * The catalogue of served kinds: everything kind-specific the REST machinery needs (see ../resource.ts).
 */
import type { ResourceInfo } from '../resource';
import { CORE_RESOURCES } from './core';
import { WORKLOAD_RESOURCES } from './workloads';
import { OTHER_RESOURCES, CONVERTED_RESOURCES } from './others';

/**
 * CONVERTED_RESOURCES: versions served from another version's storage (autoscaling/v1 HPAs, which kubectl 1.32
 * `autoscale` creates); the registry converts them on every read and write (ResourceInfo.conversion). They
 * come last so that the stored version stays the group's preferred one and wins name resolution.
 */
export const RESOURCES: ResourceInfo[] = [...CORE_RESOURCES, ...WORKLOAD_RESOURCES, ...OTHER_RESOURCES, ...CONVERTED_RESOURCES];

export { CONVERTED_RESOURCES };

const byPlural = new Map<string, ResourceInfo>();
const byKind = new Map<string, ResourceInfo>();
for (const r of RESOURCES) {
  byPlural.set(`${r.group}/${r.version}/${r.plural}`, r);
  byKind.set(`${r.group}/${r.version}/${r.kind}`, r);
}

/** The resource served at /api(s)/<group>/<version>/<plural>; group '' for core. */
export function findResource(group: string, version: string, plural: string): ResourceInfo | undefined {
  return byPlural.get(`${group}/${version}/${plural}`);
}

/** The resource for an object's apiVersion ("apps/v1", "v1") and kind. */
export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  const i = apiVersion.indexOf('/');
  const group = i < 0 ? '' : apiVersion.slice(0, i);
  const version = i < 0 ? apiVersion : apiVersion.slice(i + 1);
  return byKind.get(`${group}/${version}/${kind}`);
}

/**
 * Resolves what a user types (`kubectl get deploy`): plural, singular, short name or kind, optionally
 * qualified by group ("deployments.apps"). Core group wins ties, as kubectl's RESTMapper prefers it.
 */
export function resolveResource(name: string): ResourceInfo | undefined {
  const lower = name.toLowerCase();
  const dot = lower.indexOf('.');
  const base = dot < 0 ? lower : lower.slice(0, dot);
  const group = dot < 0 ? undefined : lower.slice(dot + 1);
  const candidates = RESOURCES.filter(
    (r) =>
      (group === undefined || r.group === group) &&
      (r.plural === base || r.singular === base || r.kind.toLowerCase() === base || (r.shortNames ?? []).includes(base)),
  );
  return candidates.find((r) => r.group === '') ?? candidates[0];
}

/** Groups and versions served, in discovery order. */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Set<string>();
  const out: { group: string; version: string }[] = [];
  for (const r of RESOURCES) {
    const k = `${r.group}/${r.version}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ group: r.group, version: r.version });
    }
  }
  return out;
}

export { parseQuantity, formatQuantity, canonicalQuantity, tryParseQuantity } from './quantity';
export { parseLabelSelector, selectorFromObject, matches, selectorMatches, formatLabelSelector, parseFieldSelector, fieldsMatch } from './labels';
