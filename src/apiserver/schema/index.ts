/**
 * OpenAPI v3 for kubectl: the /openapi/v3 index and one document per group-version, generated from the
 * project's schemas (definitions.generated.ts + overlay.ts) and the resource catalogue. Also the schema
 * navigation used by strict field validation, strategic merge patch and server-side apply.
 */
import { createHash } from 'node:crypto';
import type { KubeObject, ResourceInfo } from '../resource';
import { groupVersion } from '../resource';
import { RESOURCES } from '../resources/index';
import { DEFINITIONS } from './definitions.generated';
import { ATOMIC_MAP_FIELDS, ATOMIC_TYPES, FIELD_EXTENSIONS, QUANTITY_FIELDS, type FieldExt } from './overlay';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Schema = Record<string, Any>;

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const REF = '#/components/schemas/';
export const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
export const INTORSTRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

const SPECIAL: Record<string, Schema> = {
  [`${META}.Time`]: {
    description: 'Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.  Wrappers are provided for many of the factory methods that the time package offers.',
    type: 'string',
    format: 'date-time',
  },
  [`${META}.MicroTime`]: {
    description: 'MicroTime is version of Time with microsecond level precision.',
    type: 'string',
    format: 'date-time',
  },
  [INTORSTRING]: {
    description: 'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
    format: 'int-or-string',
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
  },
  [QUANTITY]: {
    description:
      'Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.\n\nThe serialization format is:\n\n``` <quantity>        ::= <signedNumber><suffix>\n\n\t(Note that <suffix> may be empty, from the "" case in <decimalSI>.)\n\n<digit>           ::= 0 | 1 | ... | 9 <digits>          ::= <digit> | <digit><digits> <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits> <sign>            ::= "+" | "-" <signedNumber>    ::= <number> | <sign><number> <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI> <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei\n\n\t(International System of units; See: http://physics.nist.gov/cuu/Units/binary.html)\n\n<decimalSI>       ::= m | "" | k | M | G | T | P | E\n\n\t(Note that 1024 = 1Ki but 1000 = 1k; I didn\'t choose the capitalization.)\n\n<decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber> ```',
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
  },
  [`${META}.FieldsV1`]: {
    description:
      "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.\n\nEach key is either a '.' representing the field itself, and will always map to an empty set, or a string representing a sub-field or item. The string will follow one of these four formats: 'f:<name>', where <name> is the name of a field in a struct, or key in a map 'v:<value>', where <value> is the exact json formatted value of a list item 'i:<index>', where <index> is position of a item in a list 'k:<keys>', where <keys> is a map of  a list item's key fields to their unique values If a key maps to an empty Fields value, the field that key represents is part of the set.\n\nThe exact format is defined in sigs.k8s.io/structured-merge-diff",
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
  },
  [`${META}.Patch`]: { description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.', type: 'object' },
};

const refName = (s: Schema | undefined): string | undefined =>
  typeof s?.$ref === 'string' ? s.$ref.slice(REF.length) : Array.isArray(s?.allOf) && s.allOf.length === 1 ? refName(s.allOf[0]) : undefined;

function wrapRef(prop: Schema, defs: Record<string, Schema>, required: boolean): Schema {
  // upstream's v3 form: {description, allOf:[{$ref}], default?}; description falls back to the type's own
  // without a field description of its own, a plain $ref carrying the type's description keeps kubectl
  // explain from printing the same text twice (it prints the field's and the type's descriptions)
  // (the model metadata gives some fields their type's description instead of their own: same thing)
  const name = prop.$ref.slice(REF.length);
  const target = defs[name];
  const own = prop.description && prop.description !== target?.description ? prop.description : undefined;
  const out: Schema = own ? { description: own, allOf: [{ $ref: prop.$ref }] } : { $ref: prop.$ref };
  if (!own && target?.description) out.description = target.description;
  if (required && target?.type === 'object') out.default = {};
  return out;
}

function buildSchemas(): Record<string, Schema> {
  const defs: Record<string, Schema> = structuredClone(DEFINITIONS) as Record<string, Schema>;
  Object.assign(defs, structuredClone(SPECIAL));
  for (const [name, def] of Object.entries(defs)) {
    if (ATOMIC_TYPES.has(name)) def['x-kubernetes-map-type'] = 'atomic';
    const props: Record<string, Schema> = def.properties ?? {};
    const required = new Set<string>(def.required ?? []);
    for (const [field, p] of Object.entries(props)) {
      const key = `${name}.${field}`;
      if (QUANTITY_FIELDS.has(key)) {
        if (p.additionalProperties) p.additionalProperties = { $ref: `${REF}${QUANTITY}` };
        else {
          delete p.type;
          p.$ref = `${REF}${QUANTITY}`;
        }
      }
      const ext: FieldExt | undefined = FIELD_EXTENSIONS[key];
      if (ext) {
        if (ext.mergeKey) p['x-kubernetes-patch-merge-key'] = ext.mergeKey;
        if (ext.strategy) p['x-kubernetes-patch-strategy'] = ext.strategy;
        if (ext.listType) p['x-kubernetes-list-type'] = ext.listType;
        if (ext.listMapKeys) p['x-kubernetes-list-map-keys'] = ext.listMapKeys;
      }
      if (ATOMIC_MAP_FIELDS.has(key)) p['x-kubernetes-map-type'] = 'atomic';
      if (p.$ref) props[field] = { ...wrapRef(p, defs, required.has(field)), ...Object.fromEntries(Object.entries(p).filter(([k]) => k.startsWith('x-'))) };
      if (p.items?.$ref && defs[p.items.$ref.slice(REF.length)]?.type === 'object') p.items = { allOf: [{ $ref: p.items.$ref }], default: {} };
      if (p.type === 'string' && !p.format && field === 'apiVersion') void 0;
    }
  }
  // root kinds: x-kubernetes-group-version-kind (and their List types)
  for (const r of allKinds()) {
    const def = defs[r.schemaName];
    if (!def) continue;
    def['x-kubernetes-group-version-kind'] = [{ group: r.group, kind: r.kind, version: r.version }];
    const listName = `${r.schemaName}List`;
    defs[listName] = {
      description: `${r.kind}List is a list of ${r.kind} objects.`,
      type: 'object',
      required: ['items'],
      properties: {
        apiVersion: def.properties?.apiVersion ?? { type: 'string' },
        kind: def.properties?.kind ?? { type: 'string' },
        items: { type: 'array', description: `items is the list of ${r.kind}.`, items: { allOf: [{ $ref: `${REF}${r.schemaName}` }], default: {} } },
        metadata: { description: "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds", allOf: [{ $ref: `${REF}${META}.ListMeta` }], default: {} },
      },
      'x-kubernetes-group-version-kind': [{ group: r.group, kind: `${r.kind}List`, version: r.version }],
    };
  }
  if (defs['io.k8s.api.autoscaling.v1.Scale'])
    defs['io.k8s.api.autoscaling.v1.Scale']['x-kubernetes-group-version-kind'] = [{ group: 'autoscaling', kind: 'Scale', version: 'v1' }];
  return defs;
}

function allKinds(): ResourceInfo[] {
  return RESOURCES;
}

let cached: Record<string, Schema> | undefined;
/** All component schemas (upstream definition names). */
export function schemas(): Record<string, Schema> {
  return (cached ??= buildSchemas());
}

/** Resolves $ref / single allOf to the referenced definition. */
export function resolveSchema(s: Schema | undefined): Schema | undefined {
  const name = refName(s);
  return name ? schemas()[name] : s;
}

export function schemaNameOf(s: Schema | undefined): string | undefined {
  return refName(s);
}

/** A property's schema (unresolved: carries the x-kubernetes-* extensions) of a resolved object schema. */
export function propertySchema(parent: Schema | undefined, key: string): Schema | undefined {
  const p = resolveSchema(parent);
  if (!p) return undefined;
  if (p.properties && p.properties[key]) return p.properties[key];
  if (p.additionalProperties && typeof p.additionalProperties === 'object') return p.additionalProperties;
  return undefined;
}

/** Item schema of an array schema. */
export function itemSchema(s: Schema | undefined): Schema | undefined {
  return resolveSchema(s)?.items ?? s?.items;
}

// --- unknown fields -------------------------------------------------------------------------------

/** Paths of fields in obj that the schema does not know ("spec.foo", "spec.template.spec.containers[0].bogus"). */
export function unknownFields(obj: KubeObject | unknown, schemaName: string): string[] {
  const out: string[] = [];
  walk(obj, schemas()[schemaName], '', out);
  return out;
}

function walk(v: unknown, schema: Schema | undefined, path: string, out: string[]): void {
  const s = resolveSchema(schema);
  if (!s || v === null || v === undefined || typeof v !== 'object') return;
  if (s['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(v)) {
    if (!s.items) return;
    v.forEach((x, i) => walk(x, s.items, `${path}[${i}]`, out));
    return;
  }
  if (s.properties) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const p = s.properties[k];
      const kp = path ? `${path}.${k}` : k;
      if (!p) out.push(kp);
      else walk(x, p, kp, out);
    }
  } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, s.additionalProperties, path ? `${path}.${k}` : k, out);
  }
}

// --- documents ------------------------------------------------------------------------------------

const q = (name: string, description: string, type = 'string', uniqueItems = true): Schema => ({
  name,
  in: 'query',
  description,
  schema: { type },
  ...(uniqueItems ? { uniqueItems: true } : {}),
});
const P = {
  pretty: q('pretty', "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."),
  dryRun: q('dryRun', 'When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed'),
  fieldManager: q('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  fieldValidation: q(
    'fieldValidation',
    'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict',
  ),
  force: q('force', 'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.', 'boolean'),
  labelSelector: q('labelSelector', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
  fieldSelector: q('fieldSelector', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
  limit: q('limit', 'limit is a maximum number of responses to return for a list call.', 'integer'),
  continue: q('continue', 'The continue option should be set when retrieving more results from the server.'),
  resourceVersion: q('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  resourceVersionMatch: q('resourceVersionMatch', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
  timeoutSeconds: q('timeoutSeconds', 'Timeout for the list/watch call.', 'integer'),
  watch: q('watch', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.', 'boolean'),
  allowWatchBookmarks: q('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK".', 'boolean'),
  gracePeriodSeconds: q('gracePeriodSeconds', 'The duration in seconds before the object should be deleted.', 'integer'),
  propagationPolicy: q('propagationPolicy', "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background', 'Foreground'."),
};
const pathParam = (name: string, description: string): Schema => ({ name, in: 'path', description, required: true, schema: { type: 'string', uniqueItems: true } });

const PATCH_TYPES = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+cbor'];

function response(name: string): Schema {
  const s = { schema: { $ref: `${REF}${name}` } };
  return { description: 'OK', content: { 'application/json': s, 'application/yaml': s, 'application/vnd.kubernetes.protobuf': s } };
}

function ops(r: ResourceInfo, gvk: Schema, kind: string, schemaName: string, sub: string, scope: 'collection' | 'item' | 'all'): Schema {
  const ns = r.namespaced ? 'Namespaced' : '';
  const cap = `${kind}${sub ? sub[0].toUpperCase() + sub.slice(1) : ''}`;
  const base = (action: string, verbName: string) => ({
    tags: [groupTag(r)],
    operationId: `${verbName}${groupOp(r)}${scope === 'all' ? '' : ns}${cap}${scope === 'all' ? 'ForAllNamespaces' : ''}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
  });
  const body = { content: { '*/*': { schema: { $ref: `${REF}${schemaName}` } } }, required: true };
  const out: Schema = {};
  if (scope === 'collection' || scope === 'all') {
    out.get = {
      ...base('list', 'list'),
      description: `list or watch objects of kind ${kind}`,
      parameters: [P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit, P.resourceVersion, P.resourceVersionMatch, P.timeoutSeconds, P.watch],
      responses: { '200': response(`${schemaName}List`) },
    };
    if (scope === 'collection') {
      out.post = {
        ...base('post', 'create'),
        description: `create a ${kind}`,
        parameters: [P.dryRun, P.fieldManager, P.fieldValidation],
        requestBody: body,
        responses: { '200': response(schemaName), '201': response(schemaName), '202': response(schemaName) },
      };
      if (r.verbs.includes('deletecollection'))
        out.delete = {
          ...base('deletecollection', 'deleteCollection'),
          description: `delete collection of ${kind}`,
          parameters: [P.continue, P.dryRun, P.fieldSelector, P.gracePeriodSeconds, P.labelSelector, P.limit, P.propagationPolicy, P.resourceVersion, P.timeoutSeconds],
          responses: { '200': response(`${META}.Status`) },
        };
    }
    return out;
  }
  out.get = { ...base('get', 'read'), description: `read the specified ${kind}`, responses: { '200': response(schemaName) } };
  out.put = {
    ...base('put', 'replace'),
    description: `replace the specified ${kind}`,
    parameters: [P.dryRun, P.fieldManager, P.fieldValidation],
    requestBody: body,
    responses: { '200': response(schemaName), '201': response(schemaName) },
  };
  out.patch = {
    ...base('patch', 'patch'),
    description: `partially update the specified ${kind}`,
    parameters: [P.dryRun, P.fieldManager, P.fieldValidation, P.force],
    requestBody: { content: Object.fromEntries(PATCH_TYPES.map((t) => [t, { schema: { $ref: `${REF}${META}.Patch` } }])), required: true },
    responses: { '200': response(schemaName), '201': response(schemaName) },
  };
  if (!sub)
    out.delete = {
      ...base('delete', 'delete'),
      description: `delete a ${kind}`,
      parameters: [P.dryRun, P.gracePeriodSeconds, P.propagationPolicy],
      responses: { '200': response(`${META}.Status`), '202': response(`${META}.Status`) },
    };
  return out;
}

function groupTag(r: ResourceInfo): string {
  const g = r.group ? r.group.replace(/\.k8s\.io$/, '').replace(/\./g, '_') : 'core';
  return `${g}_${r.version}`;
}
function groupOp(r: ResourceInfo): string {
  const g = r.group ? r.group.replace(/\.k8s\.io$/, '').split('.').map((x) => x[0].toUpperCase() + x.slice(1)).join('') : 'Core';
  return `${g}${r.version[0].toUpperCase()}${r.version.slice(1)}`;
}

/** "v1" | "api/v1" | "apps/v1" | "apis/apps/v1" → the served path form ("api/v1", "apis/apps/v1"). */
function normalizeGv(gv: string): string | undefined {
  const s = gv.replace(/^\/+/, '').replace(/^openapi\/v3\//, '');
  if (s.startsWith('api/') || s.startsWith('apis/')) return s;
  if (!s.includes('/')) return `api/${s}`;
  return `apis/${s}`;
}

function collectRefs(root: Schema, defs: Record<string, Schema>, into: Set<string>): void {
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (!v || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      stack.push(...v);
      continue;
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === '$ref' && typeof x === 'string') {
        const n = x.slice(REF.length);
        if (!into.has(n) && defs[n]) {
          into.add(n);
          stack.push(defs[n]);
        }
      } else stack.push(x);
    }
  }
}

const docCache = new Map<string, { doc: Schema; hash: string }>();

function buildDocument(pathGv: string): { doc: Schema; hash: string } | undefined {
  const hit = docCache.get(pathGv);
  if (hit) return hit;
  const rs = RESOURCES.filter((r) => (r.group ? `apis/${groupVersion(r)}` : `api/${r.version}`) === pathGv);
  if (rs.length === 0) return undefined;
  const defs = schemas();
  const paths: Schema = {};
  const prefix = `/${pathGv}`;
  const nsParam = pathParam('namespace', 'object name and auth scope, such as for teams and projects');
  for (const r of rs) {
    const gvk = { group: r.group, kind: r.kind, version: r.version };
    const coll = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.plural}` : `${prefix}/${r.plural}`;
    const nameParam = pathParam('name', `name of the ${r.kind}`);
    paths[coll] = { ...ops(r, gvk, r.kind, r.schemaName, '', 'collection'), parameters: [...(r.namespaced ? [nsParam] : []), P.pretty] };
    paths[`${coll}/{name}`] = { ...ops(r, gvk, r.kind, r.schemaName, '', 'item'), parameters: [nameParam, ...(r.namespaced ? [nsParam] : []), P.pretty] };
    if (r.namespaced) paths[`${prefix}/${r.plural}`] = { ...ops(r, gvk, r.kind, r.schemaName, '', 'all'), parameters: [P.pretty] };
    if (r.subresources.includes('status'))
      paths[`${coll}/{name}/status`] = { ...ops(r, gvk, r.kind, r.schemaName, 'status', 'item'), parameters: [nameParam, ...(r.namespaced ? [nsParam] : []), P.pretty] };
    if (r.subresources.includes('scale'))
      paths[`${coll}/{name}/scale`] = {
        ...ops(r, { group: 'autoscaling', kind: 'Scale', version: 'v1' }, r.kind, 'io.k8s.api.autoscaling.v1.Scale', 'scale', 'item'),
        parameters: [nameParam, ...(r.namespaced ? [nsParam] : []), P.pretty],
      };
  }
  const used = new Set<string>();
  collectRefs(paths, defs, used);
  const components = Object.fromEntries([...used].sort().map((n) => [n, defs[n]]));
  const doc = {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas: components, securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } } },
    security: [{ BearerToken: [] }],
  };
  const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase().slice(0, 128);
  const entry = { doc, hash };
  docCache.set(pathGv, entry);
  return entry;
}

/** The /openapi/v3 index: {paths: {"api/v1": {serverRelativeURL: "/openapi/v3/api/v1?hash=..."}, ...}}. */
export function openapiV3Index(): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const seen = new Set<string>();
  for (const r of RESOURCES) {
    const p = r.group ? `apis/${groupVersion(r)}` : `api/${r.version}`;
    if (seen.has(p)) continue;
    seen.add(p);
    const d = buildDocument(p)!;
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${d.hash}` };
  }
  return { paths };
}

/** The document for a group-version: accepts "v1", "apps/v1", "api/v1" or "apis/apps/v1"; undefined if not served. */
export function openapiV3Document(gv: string): Schema | undefined {
  const p = normalizeGv(gv);
  return p ? buildDocument(p)?.doc : undefined;
}

/** Content hash of a group-version's document (for ETag / the index's ?hash=). */
export function openapiV3Hash(gv: string): string | undefined {
  const p = normalizeGv(gv);
  return p ? buildDocument(p)?.hash : undefined;
}
