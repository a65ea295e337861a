/**
 * Where the generic machinery meets the per-kind knowledge of src/apiserver/{resources,schema,patch}.
 * Kept in one place so the machinery itself imports none of it (tests pass their own resources).
 */
import type { ResourceInfo } from './resource';
import type { OpenApiProvider } from './handler';
import { fallbackPatcher, type Patcher } from './patching';
import { RESOURCES } from './resources';
import { openapiV3Document, openapiV3Index, unknownFields } from './schema';

export function resources(): ResourceInfo[] {
  return RESOURCES;
}

export function patcher(): Patcher {
  return { ...fallbackPatcher, unknownFields };
}

export function openapi(): OpenApiProvider | undefined {
  return { index: openapiV3Index, document: (p) => openapiV3Document(p) };
}
