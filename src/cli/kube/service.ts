/**
 * `skiff service create|ls|ps|inspect|scale|update|rollback|logs|rm`: Swarm's verbs over a Deployment (and a
 * LoadBalancer Service for published ports) through the Kubernetes API. Finds the server as kubectl does
 * (--kubeconfig, KUBECONFIG, ~/.kube/config). The objects are ordinary: kubectl sees and edits the same ones.
 */
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { loadKubeconfig, type ClientConfig } from '../../client/kubeconfig';
import { Rest, serverError, type Reply } from './rest';
import { formatColumns } from './printers';
import {
  assignSlots,
  deploymentFor,
  envList,
  inspectDoc,
  lsRow,
  parseKV,
  parsePublish,
  publishedOf,
  resourcesOf,
  serviceFor,
  SERVICE_LABEL,
  shortId,
  SLOT_ANNOTATION,
  taskState,
  type PortSpec,
  type ServiceCreateFlags,
} from './service-spec';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const USAGE = `Usage:  skiff service COMMAND

Manage Swarm-style services (a Deployment, plus a Service for published ports)

Commands:
  create      Create a new service
  inspect     Display detailed information on one or more services
  logs        Fetch the logs of a service
  ls          List services
  ps          List the tasks of one or more services
  rm          Remove one or more services
  rollback    Revert changes to a service's configuration
  scale       Scale one or multiple replicated services
  update      Update a service
`;

class ServiceError extends Error {}

interface Common {
  kubeconfig?: string;
  namespace: string;
  detach: boolean;
  quiet: boolean;
}

/** Generic flag reader: value flags (repeatable ones collect), booleans; stops at the first positional for create/update. */
function parseFlags(
  argv: string[],
  spec: { values: string[]; repeat?: string[]; bools?: string[]; alias?: Record<string, string> },
  stopAtPositional = false,
): { v: Record<string, string>; r: Record<string, string[]>; b: Set<string>; pos: string[] } {
  const v: Record<string, string> = {};
  const r: Record<string, string[]> = {};
  const b = new Set<string>();
  const pos: string[] = [];
  const known = new Set([...spec.values, ...(spec.repeat ?? []), ...(spec.bools ?? []), 'kubeconfig', 'namespace', 'detach', 'quiet']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (stopAtPositional && pos.length > 0) {
      pos.push(a);
      continue;
    }
    if (a === '--') {
      pos.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      pos.push(a);
      continue;
    }
    let name = a.replace(/^--?/, '');
    let val: string | undefined;
    const eq = name.indexOf('=');
    if (eq > 0) (val = name.slice(eq + 1)), (name = name.slice(0, eq));
    name = spec.alias?.[name] ?? ({ n: 'namespace', d: 'detach', q: 'quiet' } as Record<string, string>)[name] ?? name;
    if (!known.has(name)) throw new ServiceError(`unknown flag: ${a}`);
    if (spec.bools?.includes(name) || name === 'detach' || name === 'quiet') {
      if (val === undefined || val === 'true') b.add(name);
      continue;
    }
    if (val === undefined) {
      val = argv[++i];
      if (val === undefined) throw new ServiceError(`flag needs an argument: ${a}`);
    }
    if (spec.repeat?.includes(name)) (r[name] ??= []).push(val);
    else v[name] = val;
  }
  return { v, r, b, pos };
}

class Api {
  readonly rest: Rest;
  constructor(readonly config: ClientConfig, readonly ns: string) {
    this.rest = new Rest({ ...config, userAgent: 'skiff' });
  }
  close(): void {
    this.rest.close();
  }
  private async call(method: string, p: string, body?: unknown, contentType?: string, okMissing = false): Promise<Any> {
    const r: Reply = await this.rest.request(method, p, { body, contentType });
    if (okMissing && r.status === 404) return undefined;
    if (r.status < 200 || r.status >= 300) throw new ServiceError(serverError(r));
    return r.body;
  }
  dep(name: string, okMissing = false) {
    return this.call('GET', `/apis/apps/v1/namespaces/${this.ns}/deployments/${name}`, undefined, undefined, okMissing);
  }
  svc(name: string) {
    return this.call('GET', `/api/v1/namespaces/${this.ns}/services/${name}`, undefined, undefined, true);
  }
  async service(name: string): Promise<Any> {
    const d = await this.dep(name, true);
    if (!d || d.metadata?.labels?.[SERVICE_LABEL] !== name) throw new ServiceError(`Error: no such service: ${name}`);
    return d;
  }
  list(p: string, selector: string): Promise<Any> {
    return this.call('GET', `${p}?labelSelector=${encodeURIComponent(selector)}`);
  }
  create(p: string, body: Any) {
    return this.call('POST', p, body);
  }
  put(p: string, body: Any) {
    return this.call('PUT', p, body);
  }
  patch(p: string, body: Any) {
    return this.call('PATCH', p, body, 'application/merge-patch+json');
  }
  del(p: string, body?: Any) {
    return this.call('DELETE', p, body, undefined, true);
  }
  depPath(name = '') {
    return `/apis/apps/v1/namespaces/${this.ns}/deployments${name ? `/${name}` : ''}`;
  }
  svcPath(name = '') {
    return `/api/v1/namespaces/${this.ns}/services${name ? `/${name}` : ''}`;
  }
  podsPath(name = '') {
    return `/api/v1/namespaces/${this.ns}/pods${name ? `/${name}` : ''}`;
  }
  async pods(name: string): Promise<Any[]> {
    return (await this.list(this.podsPath(), `${SERVICE_LABEL}=${name}`)).items ?? [];
  }
}

function api(c: Common): Api {
  const kc = c.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0] ?? path.join(os.homedir(), '.kube', 'config');
  return new Api(loadKubeconfig(kc), c.namespace);
}

function common(p: { v: Record<string, string>; b: Set<string> }): Common {
  return { kubeconfig: p.v.kubeconfig, namespace: p.v.namespace ?? 'default', detach: p.b.has('detach'), quiet: p.b.has('quiet') };
}

const out = (s: string) => process.stdout.write(s);

export async function runService(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const verbs: Record<string, (a: string[]) => Promise<number>> = { create, ls, list: ls, ps, inspect, scale, update, rollback, logs, rm, remove: rm };
  if (!sub || sub === '--help' || sub === '-h') {
    out(USAGE);
    return sub ? 0 : 1;
  }
  const fn = verbs[sub];
  if (!fn) {
    process.stderr.write(`skiff service: unknown command "${sub}"\n${USAGE}`);
    return 1;
  }
  try {
    return await fn(rest);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(msg.startsWith('Error') ? `${msg}\n` : `Error: ${msg}\n`);
    return 1;
  }
}

// ---- create ----

async function create(argv: string[]): Promise<number> {
  const p = parseFlags(
    argv,
    {
      values: ['name', 'replicas', 'limit-cpu', 'limit-memory', 'reserve-cpu', 'reserve-memory', 'workdir', 'user', 'mode'],
      repeat: ['env', 'label', 'container-label', 'publish'],
      alias: { e: 'env', l: 'label', p: 'publish', w: 'workdir', u: 'user' },
    },
    true,
  );
  const c = common(p);
  const [image, ...args] = p.pos;
  if (!image) throw new ServiceError('"skiff service create" requires at least 1 argument.\nUsage:  skiff service create [OPTIONS] IMAGE [COMMAND] [ARG...]');
  if (p.v.mode && p.v.mode !== 'replicated') throw new ServiceError(`mode ${p.v.mode} is not supported (replicated only)`);
  const name = p.v.name ?? `${image.replace(/[:@].*$/, '').replace(/.*\//, '')}-${Math.random().toString(36).slice(2, 7)}`;
  const replicas = p.v.replicas !== undefined ? Number(p.v.replicas) : 1;
  if (!Number.isInteger(replicas) || replicas < 0) throw new ServiceError(`invalid replicas value "${p.v.replicas}"`);
  const flags: ServiceCreateFlags = {
    name,
    replicas,
    image,
    args,
    env: p.r.env ?? [],
    labels: p.r.label ?? [],
    containerLabels: p.r['container-label'] ?? [],
    publish: (p.r.publish ?? []).map(parsePublish),
    limitCpu: p.v['limit-cpu'],
    limitMemory: p.v['limit-memory'],
    reserveCpu: p.v['reserve-cpu'],
    reserveMemory: p.v['reserve-memory'],
    workdir: p.v.workdir,
    user: p.v.user,
  };
  const a = api(c);
  try {
    if (await a.dep(name, true)) throw new ServiceError(`Error response from daemon: rpc error: code = AlreadyExists desc = service ${name} already exists`);
    await checkPortsFree(a, flags.publish, name);
    const dep = await a.create(a.depPath(), deploymentFor(flags, c.namespace));
    if (flags.publish.length) {
      try {
        await a.create(a.svcPath(), serviceFor(name, c.namespace, flags.publish, parseKV(flags.labels, 'label')));
      } catch (e) {
        await a.del(a.depPath(name), { propagationPolicy: 'Background' });
        throw e;
      }
    }
    out(`${shortId(dep.metadata?.uid)}\n`);
    if (!c.detach) await converge(a, name, c.quiet);
    return 0;
  } finally {
    a.close();
  }
}

/** Swarm refuses a published port another service already publishes. */
async function checkPortsFree(a: Api, ports: PortSpec[], self: string): Promise<void> {
  if (!ports.length) return;
  const all = (await a.rest.request('GET', '/api/v1/services')).body?.items ?? [];
  for (const s of all) {
    if (s.metadata?.name === self && s.metadata?.namespace === a.ns) continue;
    for (const p of ports) {
      const clash = (s.spec?.ports ?? []).some(
        (q: Any) => (q.protocol ?? 'TCP') === p.protocol && ((s.spec.type === 'LoadBalancer' && q.port === p.published) || q.nodePort === p.published),
      );
      if (clash)
        throw new ServiceError(
          `Error response from daemon: rpc error: code = InvalidArgument desc = port '${p.published}' is already in use by service '${s.metadata.name}' (${shortId(s.metadata.uid)}) as an ingress port`,
        );
    }
  }
}

/** Waits until the Deployment's rollout is complete (Swarm prints progress and "verify: Service converged"). */
async function converge(a: Api, name: string, quiet: boolean, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await a.dep(name);
    const want = d.spec?.replicas ?? 1;
    const st = d.status ?? {};
    const done =
      (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
      (st.updatedReplicas ?? 0) === want &&
      (st.readyReplicas ?? 0) === want &&
      (st.replicas ?? 0) === want;
    if (done) {
      if (!quiet) process.stderr.write(`overall progress: ${want} out of ${want} tasks\nverify: Service ${name} converged\n`);
      return;
    }
    if (Date.now() > deadline) throw new ServiceError(`service ${name} did not converge: ${st.readyReplicas ?? 0}/${want} tasks running`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// ---- ls / inspect ----

async function ls(argv: string[]): Promise<number> {
  const p = parseFlags(argv, { values: ['filter', 'format'], alias: { f: 'filter' } });
  const c = common(p);
  const a = api(c);
  try {
    let sel = SERVICE_LABEL;
    if (p.v.filter) {
      const [k, v] = p.v.filter.split('=');
      if (k === 'name') sel = `${SERVICE_LABEL}=${v}`;
      else if (k === 'label') sel = `${SERVICE_LABEL},${v}`;
    }
    const deps = (await a.list(a.depPath(), sel)).items ?? [];
    const svcs = (await a.list(a.svcPath(), SERVICE_LABEL)).items ?? [];
    const byName = new Map<string, Any>(svcs.map((s: Any) => [s.metadata.name, s]));
    deps.sort((x: Any, y: Any) => String(x.metadata.name).localeCompare(String(y.metadata.name)));
    if (c.quiet) out(deps.map((d: Any) => shortId(d.metadata.uid) + '\n').join(''));
    else out(formatColumns([['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'], ...deps.map((d: Any) => lsRow(d, byName.get(d.metadata.name)))]));
    return 0;
  } finally {
    a.close();
  }
}

async function inspect(argv: string[]): Promise<number> {
  const p = parseFlags(argv, { values: ['format'], bools: ['pretty'], alias: { f: 'format' } });
  const c = common(p);
  if (!p.pos.length) throw new ServiceError('"skiff service inspect" requires at least 1 argument.');
  const a = api(c);
  try {
    const docs = [];
    for (const name of p.pos) docs.push(inspectDoc(await a.service(name), await a.svc(name)));
    if (p.b.has('pretty')) {
      for (const d of docs) {
        out(`\nID:\t\t${d.ID}\nName:\t\t${d.Spec.Name}\nService Mode:\tReplicated\n Replicas:\t${d.Spec.Mode.Replicated.Replicas}\n`);
        out(`ContainerSpec:\n Image:\t\t${d.Spec.TaskTemplate.ContainerSpec.Image}\n`);
        if (d.Spec.TaskTemplate.ContainerSpec.Args) out(` Args:\t\t${d.Spec.TaskTemplate.ContainerSpec.Args.join(' ')}\n`);
        if (d.Spec.EndpointSpec.Ports.length) out(`Ports:\n${d.Spec.EndpointSpec.Ports.map((x: Any) => ` PublishedPort = ${x.PublishedPort}\n  Protocol = ${x.Protocol}\n  TargetPort = ${x.TargetPort}\n  PublishMode = ingress\n`).join('')}`);
      }
    } else out(JSON.stringify(docs, null, 4) + '\n');
    return 0;
  } finally {
    a.close();
  }
}

// ---- ps ----

async function ps(argv: string[]): Promise<number> {
  const p = parseFlags(argv, { values: ['filter', 'format'], bools: ['no-trunc'], alias: { f: 'filter' } });
  const c = common(p);
  if (!p.pos.length) throw new ServiceError('"skiff service ps" requires at least 1 argument.');
  const a = api(c);
  try {
    const rows: string[][] = [['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS']];
    const ids: string[] = [];
    for (const name of p.pos) {
      await a.service(name);
      const pods = await a.pods(name);
      const { slots, fresh } = assignSlots(pods);
      // Slots are remembered on the pods themselves, so web.2's replacement is web.2 again.
      for (const f of fresh) await a.patch(a.podsPath(f.pod.metadata.name), { metadata: { annotations: { [SLOT_ANNOTATION]: String(f.slot) } } }).catch(() => undefined);
      const now = Date.now();
      pods.sort((x: Any, y: Any) => slots.get(x.metadata.uid)! - slots.get(y.metadata.uid)! || String(x.metadata.creationTimestamp).localeCompare(String(y.metadata.creationTimestamp)));
      for (const pod of pods) {
        const [desired, current, error] = taskState(pod, now);
        ids.push(shortId(pod.metadata.uid));
        rows.push([shortId(pod.metadata.uid), `${name}.${slots.get(pod.metadata.uid)}`, pod.spec?.containers?.[0]?.image ?? '', pod.spec?.nodeName ?? '', desired, current, error, '']);
      }
    }
    out(c.quiet ? ids.map((i) => i + '\n').join('') : formatColumns(rows));
    return 0;
  } finally {
    a.close();
  }
}

// ---- scale ----

async function scale(argv: string[]): Promise<number> {
  const p = parseFlags(argv, { values: [] });
  const c = common(p);
  if (!p.pos.length) throw new ServiceError('"skiff service scale" requires at least 1 argument.\nUsage:  skiff service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]');
  const a = api(c);
  let code = 0;
  try {
    const done: string[] = [];
    for (const arg of p.pos) {
      const m = /^([^=]+)=(\d+)$/.exec(arg);
      if (!m) {
        process.stderr.write(`invalid scale specifier '${arg}'.\nSee 'skiff service scale --help'.\n`);
        code = 1;
        continue;
      }
      await a.service(m[1]);
      await a.patch(a.depPath(m[1]), { spec: { replicas: Number(m[2]) } });
      out(`${m[1]} scaled to ${m[2]}\n`);
      done.push(m[1]);
    }
    if (!c.detach) for (const n of done) await converge(a, n, c.quiet);
    return code;
  } finally {
    a.close();
  }
}

// ---- update / rollback ----

async function update(argv: string[]): Promise<number> {
  const p = parseFlags(argv, {
    values: ['image', 'replicas', 'limit-cpu', 'limit-memory', 'reserve-cpu', 'reserve-memory', 'args'],
    repeat: ['env-add', 'env-rm', 'label-add', 'label-rm', 'publish-add', 'publish-rm'],
    bools: ['force'],
  });
  const c = common(p);
  const [name] = p.pos;
  if (!name || p.pos.length !== 1) throw new ServiceError('"skiff service update" requires exactly 1 argument.\nUsage:  skiff service update [OPTIONS] SERVICE');
  const a = api(c);
  try {
    for (let attempt = 0; ; attempt++) {
      const dep = await a.service(name);
      const tpl = dep.spec.template;
      const ctr = tpl.spec.containers[0];
      if (p.v.image) ctr.image = p.v.image;
      if (p.v.args !== undefined) ctr.args = p.v.args.split(/\s+/).filter(Boolean);
      if (p.v.replicas !== undefined) dep.spec.replicas = Number(p.v.replicas);
      if (p.r['env-add'] || p.r['env-rm']) {
        const env = new Map<string, Any>((ctr.env ?? []).map((e: Any) => [e.name, e]));
        for (const k of p.r['env-rm'] ?? []) env.delete(k.split('=')[0]);
        for (const e of envList(parseKV(p.r['env-add'] ?? [], 'env'))) env.set(e.name, e);
        ctr.env = [...env.values()];
        if (!ctr.env.length) delete ctr.env;
      }
      const res = resourcesOf({ limitCpu: p.v['limit-cpu'], limitMemory: p.v['limit-memory'], reserveCpu: p.v['reserve-cpu'], reserveMemory: p.v['reserve-memory'] });
      if (res.limits) ctr.resources = { ...(ctr.resources ?? {}), limits: { ...(ctr.resources?.limits ?? {}), ...res.limits } };
      // Requests the user did not reserve keep their value (the '0' default only fills a missing one).
      if (res.requests) ctr.resources = { ...(ctr.resources ?? {}), requests: { ...res.requests, ...(ctr.resources?.requests ?? {}), ...(resourcesOf({ reserveCpu: p.v['reserve-cpu'], reserveMemory: p.v['reserve-memory'] }).requests ?? {}) } };
      const labels = { ...(dep.metadata.labels ?? {}), ...parseKV(p.r['label-add'] ?? [], 'label') };
      for (const k of p.r['label-rm'] ?? []) if (k !== SERVICE_LABEL) delete labels[k];
      dep.metadata.labels = labels;
      // --force: a new rollout with nothing else changed (kubectl rollout restart's annotation).
      if (p.b.has('force')) tpl.metadata.annotations = { ...(tpl.metadata.annotations ?? {}), 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() };
      const svc = await a.svc(name);
      let ports = publishedOf(svc);
      if (p.r['publish-rm'] || p.r['publish-add']) {
        const rm = new Set((p.r['publish-rm'] ?? []).map((s) => String(s.includes(':') ? s.split(':')[0] : s.split('/')[0])));
        ports = ports.filter((x) => !rm.has(String(x.published)) && !rm.has(String(x.target)));
        const add = (p.r['publish-add'] ?? []).map(parsePublish);
        await checkPortsFree(a, add, name);
        ports = [...ports.filter((x) => !add.some((y) => y.published === x.published)), ...add];
        ctr.ports = ports.map((x) => ({ containerPort: x.target, protocol: x.protocol }));
      }
      const r = await a.rest.request('PUT', a.depPath(name), { body: dep });
      if (r.status === 409 && attempt < 5) continue;
      if (r.status < 200 || r.status >= 300) throw new ServiceError(serverError(r));
      if (p.r['publish-rm'] || p.r['publish-add']) {
        if (!ports.length) await a.del(a.svcPath(name));
        else if (!svc) await a.create(a.svcPath(), serviceFor(name, c.namespace, ports));
        else await a.patch(a.svcPath(name), { spec: { ports: serviceFor(name, c.namespace, ports).spec.ports } });
      }
      break;
    }
    out(`${name}\n`);
    if (!c.detach) await converge(a, name, c.quiet);
    return 0;
  } finally {
    a.close();
  }
}

/** The previous revision's pod template back in the Deployment (kubectl rollout undo's algorithm). */
async function rollback(argv: string[]): Promise<number> {
  const p = parseFlags(argv, { values: [] });
  const c = common(p);
  const [name] = p.pos;
  if (!name || p.pos.length !== 1) throw new ServiceError('"skiff service rollback" requires exactly 1 argument.');
  const a = api(c);
  try {
    const dep = await a.service(name);
    const rss = ((await a.list(`/apis/apps/v1/namespaces/${c.namespace}/replicasets`, `${SERVICE_LABEL}=${name}`)).items ?? []).filter((rs: Any) =>
      (rs.metadata.ownerReferences ?? []).some((o: Any) => o.uid === dep.metadata.uid),
    );
    const rev = (rs: Any) => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
    rss.sort((x: Any, y: Any) => rev(y) - rev(x));
    const current = rev(rss[0] ?? {});
    const prev = rss.find((rs: Any) => rev(rs) < current);
    if (!prev) throw new ServiceError(`Error response from daemon: rpc error: code = FailedPrecondition desc = service ${shortId(dep.metadata.uid)} does not have a previous spec`);
    const tpl = JSON.parse(JSON.stringify(prev.spec.template));
    if (tpl.metadata?.labels) delete tpl.metadata.labels['pod-template-hash'];
    await a.rest
      .request('PATCH', a.depPath(name), { body: [{ op: 'replace', path: '/spec/template', value: tpl }], contentType: 'application/json-patch+json' })
      .then((r) => {
        if (r.status >= 300) throw new ServiceError(serverError(r));
      });
    out(`${name}\nrollback: manually requested rollback\n`);
    if (!c.detach) await converge(a, name, c.quiet);
    return 0;
  } finally {
    a.close();
  }
}

// ---- rm ----

async function rm(argv: string[]): Promise<number> {
  const p = parseFlags(argv, { values: [] });
  const c = common(p);
  if (!p.pos.length) throw new ServiceError('"skiff service rm" requires at least 1 argument.');
  const a = api(c);
  let code = 0;
  try {
    for (const name of p.pos) {
      try {
        await a.service(name);
      } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        code = 1;
        continue;
      }
      // Background propagation: the garbage collector removes the ReplicaSets and their pods.
      await a.del(a.depPath(name), { propagationPolicy: 'Background' });
      const svc = await a.svc(name);
      if (svc?.metadata?.labels?.[SERVICE_LABEL] === name) await a.del(a.svcPath(name));
      out(`${name}\n`);
    }
    return code;
  } finally {
    a.close();
  }
}

// ---- logs ----

async function logs(argv: string[]): Promise<number> {
  const p = parseFlags(argv, { values: ['tail', 'since'], bools: ['follow', 'timestamps', 'no-task-ids', 'no-trunc', 'raw'], alias: { f: 'follow', t: 'timestamps', n: 'tail' } });
  const c = common(p);
  const [name] = p.pos;
  if (!name) throw new ServiceError('"skiff service logs" requires exactly 1 argument.');
  const a = api(c);
  try {
    await a.service(name);
    const pods = await a.pods(name);
    const { slots } = assignSlots(pods);
    const q = new URLSearchParams({ container: name });
    if (p.b.has('follow')) q.set('follow', 'true');
    if (p.b.has('timestamps')) q.set('timestamps', 'true');
    if (p.v.tail && p.v.tail !== 'all') q.set('tailLines', p.v.tail);
    if (p.v.since) q.set('sinceSeconds', String(parseSince(p.v.since)));
    const prefixes = pods.map((pod: Any) => {
      if (p.b.has('raw')) return '';
      const id = p.b.has('no-task-ids') ? '' : `.${p.b.has('no-trunc') ? pod.metadata.uid.replace(/-/g, '') : shortId(pod.metadata.uid)}`;
      return `${name}.${slots.get(pod.metadata.uid)}${id}@${pod.spec?.nodeName ?? ''}`;
    });
    const width = Math.max(0, ...prefixes.map((x: string) => x.length));
    await Promise.all(
      pods.map((pod: Any, i: number) =>
        streamLines(a.config, `${a.podsPath(pod.metadata.name)}/log?${q}`, (line) => out(prefixes[i] ? `${prefixes[i].padEnd(width)}    | ${line}\n` : `${line}\n`)).catch((e) =>
          process.stderr.write(`error from ${pod.metadata.name}: ${(e as Error).message}\n`),
        ),
      ),
    );
    return 0;
  } finally {
    a.close();
  }
}

function parseSince(s: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(s);
  if (m) return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new ServiceError(`invalid value for "since": ${s}`);
  return Math.max(1, Math.ceil((Date.now() - t) / 1000));
}

/** GET a streamed body line by line (pod logs, also with follow). */
function streamLines(cfg: ClientConfig, p: string, onLine: (l: string) => void): Promise<void> {
  const url = new URL(cfg.server);
  const tls = url.protocol === 'https:';
  const headers: http.OutgoingHttpHeaders = { Accept: '*/*', 'User-Agent': 'skiff' };
  if (cfg.token) headers.Authorization = `Bearer ${cfg.token}`;
  const opts: https.RequestOptions = { hostname: url.hostname, port: url.port, path: p, headers, ca: cfg.caData, cert: cfg.certData, key: cfg.keyData, rejectUnauthorized: !cfg.insecureSkipTLSVerify };
  return new Promise((resolve, reject) => {
    const req = (tls ? https : http).get(opts, (res) => {
      let buf = '';
      if ((res.statusCode ?? 0) >= 300) {
        res.on('data', (d) => (buf += d));
        res.on('end', () => {
          let msg = buf;
          try {
            msg = JSON.parse(buf).message ?? buf;
          } catch {
            /* text */
          }
          reject(new Error(msg));
        });
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      res.on('end', () => {
        if (buf) onLine(buf);
        resolve();
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
