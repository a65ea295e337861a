/**
 * kubectl-like client verbs over the Kubernetes API: apply, get, describe, delete, scale. A thin client:
 * discovery to resolve types, server-side Tables for human output, server-side apply for `apply`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { loadKubeconfig } from '../../client/kubeconfig';
import { Rest, serverError, type Reply } from './rest';
import { Discovery, pathOf, typeName, type ApiResource } from './discovery';
import { formatColumns, tableRows, toJson, toYaml, type TableLike } from './printers';

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

export interface KubeFlags {
  namespace?: string;
  allNamespaces: boolean;
  output?: string;
  selector?: string;
  fieldSelector?: string;
  files: string[];
  kubeconfig?: string;
  replicas?: number;
  wait: boolean;
  args: string[];
}

/** Pure: argv → flags. */
export function parseKubeFlags(argv: string[]): KubeFlags {
  const f: KubeFlags = { allNamespaces: false, files: [], wait: true, args: [] };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v: string | undefined;
    if (a.startsWith('--') && a.includes('=')) (v = a.slice(a.indexOf('=') + 1)), (a = a.slice(0, a.indexOf('=')));
    else if (/^-[nolf]./.test(a)) (v = a.slice(2)), (a = a.slice(0, 2));
    const val = () => {
      if (v !== undefined) return v;
      const n = argv[++i];
      if (n === undefined) throw new Error(`flag needs an argument: ${a}`);
      return n;
    };
    switch (a) {
      case '-n':
      case '--namespace':
        f.namespace = val();
        break;
      case '-A':
      case '--all-namespaces':
        f.allNamespaces = true;
        break;
      case '-o':
      case '--output':
        f.output = val();
        break;
      case '-l':
      case '--selector':
        f.selector = val();
        break;
      case '--field-selector':
        f.fieldSelector = val();
        break;
      case '-f':
      case '--filename':
        f.files.push(val());
        break;
      case '--kubeconfig':
        f.kubeconfig = val();
        break;
      case '--replicas':
        f.replicas = Number(val());
        break;
      case '--wait':
        f.wait = v === undefined || v === 'true';
        break;
      default:
        if (a.startsWith('-') && a !== '-') throw new Error(`unknown flag: ${a}`);
        f.args.push(a);
    }
  }
  return f;
}

class Session {
  readonly rest: Rest;
  readonly disco: Discovery;
  readonly ns: string;
  out = '';
  err = '';

  constructor(readonly flags: KubeFlags) {
    const kc = flags.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0] ?? path.join(os.homedir(), '.kube', 'config');
    const cfg = loadKubeconfig(kc);
    this.rest = new Rest({ ...cfg, userAgent: 'skiff' });
    this.disco = new Discovery(this.rest);
    this.ns = flags.namespace ?? 'default';
  }
}

export async function runKubeVerb(verb: string, argv: string[]): Promise<number> {
  if (verb === 'service') return (await import('./service')).runService(argv);
  const impl: Record<string, (s: Session) => Promise<number>> = { get, apply, describe, delete: del, scale };
  if (!impl[verb]) {
    process.stderr.write(`skiff ${verb}: not implemented yet\n`);
    return 1;
  }
  let s: Session;
  try {
    s = new Session(parseKubeFlags(argv));
  } catch (e) {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  try {
    return await impl[verb](s);
  } catch (e) {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    s.rest.close();
  }
}

function print(text: string): void {
  process.stdout.write(text);
}

function fail(r: Reply): number {
  process.stderr.write(serverError(r) + '\n');
  return 1;
}

// ---- get ----

async function get(s: Session): Promise<number> {
  const f = s.flags;
  const [types, ...names] = f.args;
  if (!types) throw new Error('You must specify the type of resource to get.');
  const out = f.output ?? '';
  const objects: unknown[] = [];
  let printedAny = false;
  let code = 0;
  const resolved = await Promise.all(types.split(',').map((t) => s.disco.resolve(t)));
  const multi = resolved.length > 1;
  for (const r of resolved) {
    const ns = f.allNamespaces ? undefined : s.ns;
    const q = new URLSearchParams();
    if (f.selector) q.set('labelSelector', f.selector);
    if (f.fieldSelector) q.set('fieldSelector', f.fieldSelector);
    const qs = q.toString() ? `?${q}` : '';
    const human = out === '' || out === 'wide';
    const accept = human ? TABLE_ACCEPT : 'application/json';
    if (names.length) {
      for (const name of names) {
        const rep = await s.rest.request('GET', pathOf(r, ns ?? s.ns, name), { accept });
        if (rep.status !== 200) {
          code = fail(rep);
          continue;
        }
        if (human) {
          print(formatColumns(tableRows(rep.body as TableLike, { wide: out === 'wide', withNamespace: false, noHeaders: printedAny, kindPrefix: multi ? typeName(r) : undefined })));
          printedAny = true;
        } else objects.push(hideManagedFields(rep.body));
      }
      continue;
    }
    const rep = await s.rest.request('GET', pathOf(r, ns) + qs, { accept });
    if (rep.status !== 200) {
      code = fail(rep);
      continue;
    }
    if (human) {
      const t = rep.body as TableLike;
      if (t.rows.length === 0) continue;
      if (printedAny) print('\n');
      print(formatColumns(tableRows(t, { wide: out === 'wide', withNamespace: f.allNamespaces && r.namespaced, kindPrefix: multi ? typeName(r) : undefined })));
      printedAny = true;
    } else
      objects.push(
        ...(rep.body.items ?? []).map((o: Record<string, unknown>) =>
          hideManagedFields({ apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind, ...o }),
        ),
      );
  }
  if ((out === '' || out === 'wide') && !printedAny && !names.length) {
    process.stderr.write(f.allNamespaces ? 'No resources found\n' : `No resources found in ${s.ns} namespace.\n`);
  }
  if (out === 'name') print(objects.map((o) => nameOf(o)).join('\n') + (objects.length ? '\n' : ''));
  else if ((out === 'yaml' || out === 'json') && (objects.length > 0 || names.length === 0)) {
    const doc = names.length === 1 && objects.length === 1 && !multi ? objects[0] : { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: objects };
    print(out === 'yaml' ? toYaml(doc) : toJson(doc));
  } else if (out && !['wide', 'yaml', 'json'].includes(out)) throw new Error(`unable to match a printer suitable for the output format "${out}", allowed formats are: json,name,wide,yaml`);
  return code;
}

/** kubectl's default --show-managed-fields=false. */
function hideManagedFields<T>(o: T): T {
  const m = (o as { metadata?: { managedFields?: unknown } }).metadata;
  if (m) delete m.managedFields;
  return o;
}

function nameOf(o: unknown): string {
  const obj = o as { apiVersion?: string; kind?: string; metadata?: { name?: string } };
  const group = obj.apiVersion?.includes('/') ? obj.apiVersion.split('/')[0] : '';
  return `${(obj.kind ?? '').toLowerCase()}${group ? '.' + group : ''}/${obj.metadata?.name}`;
}

// ---- apply ----

/** Objects from -f files, directories (.yaml/.yml/.json) and '-' (stdin); multi-document YAML and Lists. */
export function readManifests(files: string[], readStdin: () => string = () => fs.readFileSync(0, 'utf8')): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  const addText = (text: string, src: string) => {
    for (const doc of YAML.parseAllDocuments(text)) {
      if (doc.errors.length) throw new Error(`error parsing ${src}: ${doc.errors[0].message}`);
      const v = doc.toJS();
      if (v === null || v === undefined) continue;
      if (v.kind && String(v.kind).endsWith('List') && Array.isArray(v.items)) out.push(...v.items);
      else out.push(v);
    }
  };
  for (const f of files) {
    if (f === '-') {
      addText(readStdin(), 'stdin');
      continue;
    }
    const st = fs.statSync(f);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(f).sort()) if (/\.(ya?ml|json)$/.test(e)) addText(fs.readFileSync(path.join(f, e), 'utf8'), path.join(f, e));
    } else addText(fs.readFileSync(f, 'utf8'), f);
  }
  return out;
}

async function apply(s: Session): Promise<number> {
  if (s.flags.files.length === 0) throw new Error('must specify one of -f and -k');
  let code = 0;
  for (const obj of readManifests(s.flags.files)) {
    const r = await s.disco.forKind(String(obj.apiVersion ?? ''), String(obj.kind ?? ''));
    const ns = r.namespaced ? (obj.metadata?.namespace ?? s.ns) : undefined;
    const name = obj.metadata?.name;
    if (!name) throw new Error(`error when applying: resource name may not be empty`);
    const before = await s.rest.request('GET', pathOf(r, ns, name));
    const rep = await s.rest.request('PATCH', `${pathOf(r, ns, name)}?fieldManager=skiff&force=true`, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
    if (rep.status >= 300) {
      code = fail(rep);
      continue;
    }
    const what =
      before.status === 404 ? 'created' : before.body?.metadata?.resourceVersion === rep.body?.metadata?.resourceVersion ? 'unchanged' : 'configured';
    print(`${typeName(r)}/${name} ${what}\n`);
  }
  return code;
}

// ---- delete ----

async function del(s: Session): Promise<number> {
  const targets: { r: ApiResource; ns?: string; name: string }[] = [];
  if (s.flags.files.length) {
    for (const obj of readManifests(s.flags.files)) {
      const r = await s.disco.forKind(String(obj.apiVersion ?? ''), String(obj.kind ?? ''));
      targets.push({ r, ns: r.namespaced ? (obj.metadata?.namespace ?? s.ns) : undefined, name: obj.metadata?.name });
    }
  } else {
    const [type, ...names] = s.flags.args;
    if (!type || names.length === 0) throw new Error('resource(s) were provided, but no name was specified');
    const r = await s.disco.resolve(type);
    for (const name of names) targets.push({ r, ns: r.namespaced ? s.ns : undefined, name });
  }
  let code = 0;
  const deleted: typeof targets = [];
  for (const t of targets) {
    const rep = await s.rest.request('DELETE', pathOf(t.r, t.ns, t.name), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
    if (rep.status >= 300) {
      code = fail(rep);
      continue;
    }
    print(`${typeName(t.r)} "${t.name}" deleted\n`);
    deleted.push(t);
  }
  if (s.flags.wait) {
    for (const t of deleted) {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && (await s.rest.request('GET', pathOf(t.r, t.ns, t.name))).status === 200) await new Promise((r) => setTimeout(r, 200));
    }
  }
  return code;
}

// ---- scale ----

async function scale(s: Session): Promise<number> {
  const [typeArg, nameArg] = s.flags.args;
  if (s.flags.replicas === undefined || !Number.isInteger(s.flags.replicas) || s.flags.replicas < 0) throw new Error('The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0');
  let type = typeArg;
  let name = nameArg;
  if (typeArg?.includes('/')) [type, name] = typeArg.split('/');
  if (!type || !name) throw new Error('resource(s) were provided, but no name was specified');
  const r = await s.disco.resolve(type);
  const rep = await s.rest.request('PATCH', pathOf(r, r.namespaced ? s.ns : undefined, name, 'scale'), {
    body: { spec: { replicas: s.flags.replicas } },
    contentType: 'application/merge-patch+json',
  });
  if (rep.status >= 300) return fail(rep);
  print(`${typeName(r)}/${name} scaled\n`);
  return 0;
}

// ---- describe ----

async function describe(s: Session): Promise<number> {
  let [type, ...names] = s.flags.args;
  if (type?.includes('/')) [type, ...names] = [type.split('/')[0], type.split('/')[1], ...names];
  if (!type) throw new Error('You must specify the type of resource to describe.');
  const r = await s.disco.resolve(type);
  const ns = r.namespaced ? s.ns : undefined;
  let objs: any[];
  if (names.length) {
    objs = [];
    for (const n of names) {
      const rep = await s.rest.request('GET', pathOf(r, ns, n));
      if (rep.status !== 200) return fail(rep);
      objs.push(rep.body);
    }
  } else {
    const rep = await s.rest.request('GET', pathOf(r, ns) + (s.flags.selector ? `?labelSelector=${encodeURIComponent(s.flags.selector)}` : ''));
    if (rep.status !== 200) return fail(rep);
    objs = rep.body.items ?? [];
  }
  const events = await s.disco.resolve('events').catch(() => undefined);
  const parts: string[] = [];
  for (const o of objs) parts.push(await describeOne(s, o, events));
  print(parts.join('\n\n'));
  return 0;
}

async function describeOne(s: Session, o: any, events: ApiResource | undefined): Promise<string> {
  const m = o.metadata ?? {};
  const kv = (x: Record<string, string> | undefined) => {
    const e = Object.entries(x ?? {}).filter(([k]) => k !== 'kubectl.kubernetes.io/last-applied-configuration');
    return e.length ? e.map(([k, v], i) => `${i ? ' '.repeat(19) : ''}${k}=${v}`).join('\n') : '<none>';
  };
  const lines = [
    ['Name:', m.name],
    ...(m.namespace ? [['Namespace:', m.namespace]] : []),
    ['Labels:', kv(m.labels)],
    ['Annotations:', kv(m.annotations)],
    ['CreationTimestamp:', m.creationTimestamp ? new Date(m.creationTimestamp).toUTCString().replace('GMT', '+0000') : '<unset>'],
  ].map(([k, v]) => `${k.padEnd(19)}${v}`);
  let text = lines.join('\n') + '\n';
  for (const key of Object.keys(o)) {
    if (['apiVersion', 'kind', 'metadata'].includes(key)) continue;
    const cap = key[0].toUpperCase() + key.slice(1);
    const body = toYaml(o[key]).trimEnd();
    text += `${cap}:\n${body.split('\n').map((l) => '  ' + l).join('\n')}\n`;
  }
  let evText = '<none>';
  if (events && m.uid) {
    const fs = `involvedObject.name=${m.name},involvedObject.uid=${m.uid}` + (m.namespace ? `,involvedObject.namespace=${m.namespace}` : '');
    const rep = await s.rest.request('GET', `${pathOf(events, m.namespace)}?fieldSelector=${encodeURIComponent(fs)}`);
    const items = rep.status === 200 ? (rep.body.items ?? []) : [];
    if (items.length) {
      const rows = [['Type', 'Reason', 'Age', 'From', 'Message'], ['----', '------', '----', '----', '-------']];
      for (const e of items) rows.push([e.type ?? '', e.reason ?? '', e.lastTimestamp ?? e.eventTime ?? '', e.source?.component ?? e.reportingComponent ?? '', e.message ?? '']);
      evText = '\n' + formatColumns(rows).trimEnd().split('\n').map((l) => '  ' + l).join('\n');
    }
  }
  return `${text}Events:  ${evText}\n`;
}
