/**
 * Build-time generator: reads the Kubernetes model metadata shipped in @kubernetes/client-node (a dev
 * dependency: each model's attributeTypeMap for field names/types/formats, its .d.ts for descriptions and
 * required fields) and writes definitions.generated.ts: OpenAPI v3 schemas, upstream definition names, for
 * the kinds skiff serves and everything they reach. Runtime never needs the dev dependency.
 *
 * Run: npx tsc -p . && node dist/src/apiserver/schema/generate.js
 * Kubernetes-specific extensions (merge keys, list types, Quantity fields) are NOT taken from here: they live
 * in overlay.ts, applied when documents are built.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const MODELS = path.join(__dirname, '../../../../node_modules/@kubernetes/client-node/dist/gen/models');
const OUT = path.join(__dirname, '../../../../src/apiserver/schema/definitions.generated.ts');

/** Root kinds per package, in assignment order: a type belongs to the first package that reaches it. */
const ROOTS: [string, string[]][] = [
  ['io.k8s.api.core.v1', ['V1Namespace', 'V1Pod', 'V1PodTemplateSpec', 'V1Service', 'V1Endpoints', 'V1Node', 'CoreV1Event', 'V1ConfigMap', 'V1Secret', 'V1ServiceAccount', 'V1PersistentVolumeClaim', 'V1Binding']],
  ['io.k8s.api.apps.v1', ['V1Deployment', 'V1ReplicaSet', 'V1DaemonSet', 'V1StatefulSet']],
  ['io.k8s.api.autoscaling.v1', ['V1Scale', 'V1HorizontalPodAutoscaler']],
  ['io.k8s.api.batch.v1', ['V1Job', 'V1CronJob']],
  ['io.k8s.api.autoscaling.v2', ['V2HorizontalPodAutoscaler']],
  ['io.k8s.api.coordination.v1', ['V1Lease']],
  ['io.k8s.api.discovery.v1', ['V1EndpointSlice']],
  ['io.k8s.api.networking.v1', ['V1Ingress']],
  ['io.k8s.api.events.v1', ['EventsV1Event']],
  ['io.k8s.api.policy.v1', ['V1Eviction']],
];

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const FIXED: Record<string, string> = {
  V1ObjectMeta: `${META}.ObjectMeta`,
  V1ListMeta: `${META}.ListMeta`,
  V1LabelSelector: `${META}.LabelSelector`,
  V1LabelSelectorRequirement: `${META}.LabelSelectorRequirement`,
  V1ManagedFieldsEntry: `${META}.ManagedFieldsEntry`,
  V1OwnerReference: `${META}.OwnerReference`,
  V1Condition: `${META}.Condition`,
  V1Status: `${META}.Status`,
  V1StatusDetails: `${META}.StatusDetails`,
  V1StatusCause: `${META}.StatusCause`,
  V1DeleteOptions: `${META}.DeleteOptions`,
  V1Preconditions: `${META}.Preconditions`,
};
export const TIME = `${META}.Time`;
export const MICROTIME = `${META}.MicroTime`;
export const FIELDSV1 = `${META}.FieldsV1`;
export const INTORSTRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
export const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

interface Attr {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

function readAttrs(cls: string): Attr[] | undefined {
  const file = path.join(MODELS, `${cls}.js`);
  if (!fs.existsSync(file)) return undefined;
  const src = fs.readFileSync(file, 'utf8');
  const m = new RegExp(`${cls}\\.attributeTypeMap = (\\[[\\s\\S]*?\\n\\]);`).exec(src);
  return m ? (JSON.parse(m[1]) as Attr[]) : [];
}

function unescapeDoc(s: string): string {
  return s.replace(/\\(['"\\])/g, '$1').trim();
}

function readDocs(cls: string): { description?: string; fields: Record<string, string>; required: string[] } {
  const file = path.join(MODELS, `${cls}.d.ts`);
  const src = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const out = { description: undefined as string | undefined, fields: {} as Record<string, string>, required: [] as string[] };
  const cm = /\/\*\*\n\* ((?:(?!\*\/)[\s\S])*?)\n\*\/\nexport declare class/.exec(src);
  if (cm) out.description = unescapeDoc(cm[1].replace(/\n\* ?/g, '\n'));
  const re = /(?:\/\*\*\n\s*\* ((?:(?!\*\/)[\s\S])*?)\n\s*\*\/\n)?\s*'([^']+)'(\??): /g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src))) {
    if (m[1]) out.fields[m[2]] = unescapeDoc(m[1].replace(/\n\s*\* ?/g, '\n'));
    if (m[3] !== '?') out.required.push(m[2]);
  }
  return out;
}

const STRIP = /^(?:[A-Z][a-z]+)*V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])/;

type Schema = Record<string, unknown>;
const defs: Record<string, Schema> = {};
const nameOf: Record<string, string> = { ...FIXED };
const queue: [string, string][] = [];

function defName(cls: string, pkg: string): string {
  if (!nameOf[cls]) {
    nameOf[cls] = `${pkg}.${cls.replace(STRIP, '')}`;
    queue.push([cls, pkg]);
  }
  return nameOf[cls];
}

function ref(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

function typeSchema(t: string, format: string, pkg: string, field: string): Schema {
  let m: RegExpExecArray | null;
  if ((m = /^Array<(.+)>$/.exec(t))) return { type: 'array', items: typeSchema(m[1], '', pkg, field) };
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(t))) return { type: 'object', additionalProperties: typeSchema(m[1], '', pkg, field) };
  switch (t) {
    case 'string':
      return format === 'byte' ? { type: 'string', format: 'byte' } : { type: 'string' };
    case 'number':
      return format === 'double' ? { type: 'number', format: 'double' } : { type: 'integer', format: format || 'int32' };
    case 'boolean':
      return { type: 'boolean' };
    case 'Date':
      return ref(TIME);
    case 'V1MicroTime':
      return ref(MICROTIME);
    case 'IntOrString':
      return ref(INTORSTRING);
    case 'any':
      return field === 'fieldsV1' ? ref(FIELDSV1) : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  }
  if (/^[A-Z][A-Za-z0-9]*$/.test(t)) {
    queue.length; // keep order
    return ref(defName(t, pkg));
  }
  throw new Error(`unhandled type ${t}`);
}

function build(cls: string, pkg: string): void {
  const name = nameOf[cls];
  if (defs[name]) return;
  const attrs = readAttrs(cls);
  if (!attrs) throw new Error(`no model ${cls}`);
  const docs = readDocs(cls);
  const properties: Record<string, Schema> = {};
  for (const a of attrs) {
    const s = typeSchema(a.type, a.format, pkg, a.baseName);
    const d = docs.fields[a.name];
    if (d) s.description = d;
    properties[a.baseName] = s;
  }
  const schema: Schema = { type: 'object', properties };
  if (docs.description) schema.description = docs.description;
  const req = docs.required.filter((r) => properties[r]);
  if (req.length) schema.required = req;
  defs[name] = schema;
}

function main(): void {
  for (const [pkg, roots] of ROOTS) {
    for (const r of roots) defName(r, pkg);
    while (queue.length) {
      const [cls, p] = queue.shift()!;
      build(cls, FIXED[cls] ? META : p);
    }
  }
  for (const cls of Object.keys(FIXED)) {
    if (!defs[FIXED[cls]]) {
      queue.push([cls, META]);
      while (queue.length) {
        const [c, p] = queue.shift()!;
        build(c, p);
      }
    }
  }
  const sorted = Object.fromEntries(Object.keys(defs).sort().map((k) => [k, defs[k]]));
  const json = JSON.stringify(sorted);
  const banner =
    '/* Generated by generate.ts from @kubernetes/client-node model metadata (Apache-2.0). Do not edit. */\n' +
    '/* eslint-disable */\n';
  fs.writeFileSync(OUT, `${banner}export const DEFINITIONS: Record<string, any> = JSON.parse(${JSON.stringify(json)});\n`);
  process.stdout.write(`${Object.keys(defs).length} definitions, ${json.length} bytes -> ${OUT}\n`);
}

if (require.main === module) main();
