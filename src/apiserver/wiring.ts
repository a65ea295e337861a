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

export function resources(): ResourceInfo[] {
  return RESOURCES;
}

export function patcher(): Patcher {
  return kindsPatcher;
}

export function openapi(): OpenApiProvider | undefined {
  return { index: openapiV3Index, document: (p) => openapiV3Document(p) };
}
