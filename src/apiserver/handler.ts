/**
 * The HTTP edge of the Kubernetes API: authentication, discovery, OpenAPI, and the generic REST verbs
 * (plus subresources) for every served resource, translating to and from the Registry. Kind-agnostic.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import type { KubeObject, ResourceInfo } from './resource';
import { groupVersion } from './resource';
import { watchLine } from './watch-line';
import { parseRequestInfo, type RequestInfo } from './request-info';
import { Registry, type DeleteOptions, type ListOptions } from './registry';
import {
  aggregatedContentType,
  aggregatedDiscovery,
  aggregatedVersionAsked,
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
  versionInfo,
} from './discovery';
import { decodeBody, decodeObjectBody, mediaType, readBody } from './body';
import { toTable, wantsTable, type IncludeObject } from './table';
import { labelSelectorToString } from './selectors';
import { badRequest, failure, statusError, StatusError, success, toStatus, type KubeStatus } from './status';
import type { NodeConnector, PodStreamKind } from './node-connector';
import { clone } from './objects';
import type { Patcher } from './patching';
import { SkiffError } from '../common/errors';
import { mediaParams } from './table';

export interface OpenApiProvider {
  index(): object;
  /** The document for a path such as "api/v1" or "apis/apps/v1". */
  document(path: string): object | undefined;
}

export interface HandlerOptions {
  registry: Registry;
  /** Bearer tokens accepted (admin, agents). */
  tokens: () => Iterable<string>;
  openapi?: OpenApiProvider;
  nodeConnector?: NodeConnector;
  /** Server address for /api's serverAddressByClientCIDRs. */
  serverAddress: string;
  /** Idle interval between watch bookmarks (tests shorten it). */
  bookmarkIntervalMs?: number;
  /** Readiness (e.g. default namespaces created). */
  ready?: () => boolean;
}

const JSON_TYPE = 'application/json';

const PATCH_TYPES = new Set([
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
]);

export class ApiHandler {
  private readonly reg: Registry;

  constructor(private readonly opts: HandlerOptions) {
    this.reg = opts.registry;
  }

  /** node:http 'request' listener. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((err) => this.fail(res, err));
  };

  /** node:http 'upgrade' listener (exec, attach, portforward). */
  upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.dispatchUpgrade(req, socket, head).catch((err) => {
      const s = toStatus(err);
      writeRawStatus(socket, s);
    });
  };

  private authenticated(req: IncomingMessage): boolean {
    const h = req.headers.authorization;
    if (!h || !/^bearer /i.test(h)) return false;
    const given = Buffer.from(h.slice(7).trim());
    for (const t of this.opts.tokens()) {
      const want = Buffer.from(t);
      if (want.length === given.length && timingSafeEqual(want, given)) return true;
    }
    return false;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';

    if (/^\/(healthz|livez|readyz)(\/.*)?$/.test(path)) {
      const ok = !path.startsWith('/readyz') || (this.opts.ready?.() ?? true);
      res.writeHead(ok ? 200 : 500, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end(ok ? 'ok' : '[-]poststarthook/skiff-default-namespaces failed: not ready\nreadyz check failed');
      return;
    }
    if (path === '/version') return this.send(res, 200, versionInfo());
    if (!this.authenticated(req)) {
      req.resume();
      return this.send(res, 401, failure(401, 'Unauthorized', 'Unauthorized'));
    }
    if (path.startsWith('/openapi/')) return this.openapi(res, path);

    const info = parseRequestInfo(method, path, url.searchParams);
    if (!info.isResourceRequest) return this.discovery(req, res, info, path);

    // metrics.k8s.io is served by the node agent (never stored): see NodeConnector.metrics.
    if (info.group === 'metrics.k8s.io' && this.opts.nodeConnector?.metrics) {
      if (info.verb !== 'get' && info.verb !== 'list') {
        req.resume();
        return this.send(res, 405, failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
      }
      return this.send(res, 200, await this.opts.nodeConnector.metrics(info.resource, info.namespace, info.name, url.searchParams));
    }
    const r = this.reg.resource(info.group, info.version, info.resource);
    if (!r) return this.send(res, 404, failure(404, 'NotFound', 'the server could not find the requested resource'));
    if (r.namespaced === false && info.namespace && info.resource !== 'namespaces')
      return this.send(res, 404, failure(404, 'NotFound', 'the server could not find the requested resource'));
    if (info.subresource) return this.subresource(req, res, r, info, url.searchParams);
    return this.rest(req, res, r, info, url.searchParams);
  }

  // ---- discovery / openapi ----

  private discovery(req: IncomingMessage, res: ServerResponse, info: RequestInfo, path: string): void {
    const resources = this.reg.resources;
    const accept = String(req.headers.accept ?? '');
    if (path === '/api' || path === '/apis') {
      const agg = aggregatedVersionAsked(accept);
      if (agg) return this.send(res, 200, aggregatedDiscovery(resources, path === '/api', agg), aggregatedContentType(agg));
      return this.send(res, 200, path === '/api' ? apiVersions(this.opts.serverAddress) : apiGroupList(resources));
    }
    if (info.prefix === 'api' && info.parts.length === 1) {
      const doc = apiResourceList(resources, '', info.parts[0]);
      if (doc) return this.send(res, 200, doc);
    }
    if (info.prefix === 'apis' && info.parts.length === 1) {
      const doc = apiGroupDoc(resources, info.parts[0]);
      if (doc) return this.send(res, 200, doc);
    }
    if (info.prefix === 'apis' && info.parts.length === 2) {
      const doc = apiResourceList(resources, info.parts[0], info.parts[1]);
      if (doc) return this.send(res, 200, doc);
    }
    if (path === '/') {
      return this.send(res, 200, {
        paths: ['/api', '/api/v1', '/apis', ...apisPaths(resources), '/healthz', '/livez', '/openapi/v3', '/readyz', '/version'],
      });
    }
    this.send(res, 404, failure(404, 'NotFound', 'the server could not find the requested resource'));
  }

  private openapi(res: ServerResponse, path: string): void {
    const oa = this.opts.openapi;
    if (oa && path === '/openapi/v3') return this.send(res, 200, oa.index());
    if (oa && path.startsWith('/openapi/v3/')) {
      const doc = oa.document(path.slice('/openapi/v3/'.length));
      if (doc) {
        res.setHeader('Cache-Control', 'public, immutable');
        return this.send(res, 200, doc);
      }
    }
    this.send(res, 404, failure(404, 'NotFound', 'the server could not find the requested resource'));
  }

  // ---- REST verbs on the main resource ----

  private async rest(req: IncomingMessage, res: ServerResponse, r: ResourceInfo, info: RequestInfo, q: URLSearchParams): Promise<void> {
    const verb = info.verb;
    if (!verb || !(r.verbs as string[]).includes(verb) || (!info.name && (verb === 'update' || verb === 'patch')) || (info.name && verb === 'create')) {
      req.resume();
      return this.send(res, 405, failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    }
    const ns = info.namespace;
    if (r.namespaced && !ns && !['list', 'watch', 'deletecollection'].includes(verb) && verb !== 'create')
      return this.send(res, 404, failure(404, 'NotFound', 'the server could not find the requested resource'));
    const dryRun = q.getAll('dryRun').includes('All');
    const fieldManager = q.get('fieldManager') ?? defaultManager(req);
    switch (verb) {
      case 'get': {
        const obj = await this.reg.get(r, ns, info.name);
        return this.sendObject(req, res, r, 200, obj, q);
      }
      case 'list': {
        const lo = listOptions(q);
        const out = await this.reg.list(r, ns, lo);
        if (wantsTable(req.headers.accept)) {
          const meta: { resourceVersion: string; continue?: string; remainingItemCount?: number } = { resourceVersion: out.resourceVersion };
          if (out.continue) meta.continue = out.continue;
          if (out.remainingItemCount !== undefined) meta.remainingItemCount = out.remainingItemCount;
          return this.send(res, 200, toTable(r, out.items, meta, includeObject(q)));
        }
        const metadata: Record<string, unknown> = { resourceVersion: out.resourceVersion };
        if (out.continue) metadata.continue = out.continue;
        if (out.remainingItemCount !== undefined) metadata.remainingItemCount = out.remainingItemCount;
        return this.send(res, 200, { kind: `${r.kind}List`, apiVersion: groupVersion(r), metadata, items: out.items });
      }
      case 'watch':
        return this.watch(req, res, r, ns, q);
      case 'create': {
        if (r.namespaced && !ns) return this.send(res, 404, failure(404, 'NotFound', 'the server could not find the requested resource'));
        const body = await this.objectBody(req, r);
        const warnings = this.checkFields(r, body, q);
        // A JSON body is plain JSON data nobody else holds: the registry may take it without a copy (YAML and
        // protobuf decodes keep the copy, which also normalises what JSON cannot carry).
        const inputOwned = mediaType(req).endsWith('json');
        const created = await this.reg.create(r, ns, body as KubeObject, { dryRun, fieldManager, inputOwned });
        this.warn(res, warnings);
        return this.sendObject(req, res, r, 201, created, q);
      }
      case 'update': {
        const body = await this.objectBody(req, r);
        const warnings = this.checkFields(r, body, q);
        const updated = await this.reg.update(r, ns, info.name, body as KubeObject, { dryRun, fieldManager });
        this.warn(res, warnings);
        return this.sendObject(req, res, r, 200, updated, q);
      }
      case 'patch':
        return this.patch(req, res, r, info, q, undefined);
      case 'delete': {
        const opts = await this.deleteOptions(req, q);
        const out = await this.reg.delete(r, ns, info.name, { ...opts, dryRun });
        if (!out.deleted) return this.sendObject(req, res, r, 200, out.object, q);
        return this.send(
          res,
          200,
          success({ name: info.name, group: r.group, kind: r.plural, uid: out.object.metadata?.uid }),
        );
      }
      case 'deletecollection': {
        const opts = await this.deleteOptions(req, q);
        const lo = listOptions(q);
        const items = await this.reg.deleteCollection(r, ns, lo, { ...opts, dryRun });
        return this.send(res, 200, { kind: `${r.kind}List`, apiVersion: groupVersion(r), metadata: {}, items });
      }
    }
  }

  private async patch(
    req: IncomingMessage,
    res: ServerResponse,
    r: ResourceInfo,
    info: RequestInfo,
    q: URLSearchParams,
    sub: 'status' | undefined,
  ): Promise<void> {
    const type = mediaType(req);
    if (!PATCH_TYPES.has(type)) {
      req.resume();
      throw statusError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
    }
    const buf = await readBody(req);
    const patch = decodeBody(buf, type === 'application/apply-patch+yaml' ? 'application/yaml' : 'application/json');
    const dryRun = q.getAll('dryRun').includes('All');
    const ns = info.namespace;
    const p = this.reg.patcher;
    if (type === 'application/apply-patch+yaml') {
      const manager = q.get('fieldManager');
      if (!manager) throw badRequest('PATCH of type application/apply-patch+yaml requires fieldManager');
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw badRequest('apply patch must be an object');
      const applied = patch as KubeObject;
      this.checkKind(r, applied);
      const warnings = this.checkFields(r, applied, q);
      const force = q.get('force') === 'true';
      const applyOpts = { manager, force, schemaName: r.schemaName, apiVersion: groupVersion(r), subresource: sub };
      const cur = await this.reg.tryGet(r, ns, info.name);
      if (!cur) {
        if (sub) throw statusError(404, 'NotFound', `${r.plural} "${info.name}" not found`);
        const obj = p.apply(undefined, applied, applyOpts);
        obj.metadata = { ...(obj.metadata ?? {}), name: info.name };
        const created = await this.reg.create(r, ns, obj, { dryRun });
        this.warn(res, warnings);
        return this.sendObject(req, res, r, 201, created, q);
      }
      const updated = await this.reg.guaranteedUpdate(r, ns, info.name, (live) => p.apply(live, applied, applyOpts), {
        dryRun,
        subresource: sub,
      });
      this.warn(res, warnings);
      return this.sendObject(req, res, r, 200, updated, q);
    }
    const fieldManager = q.get('fieldManager') ?? defaultManager(req);
    const apply = (live: KubeObject): KubeObject => {
      let out: KubeObject;
      if (type === 'application/json-patch+json') out = applyJsonPatch(p, live, patch);
      // live is the registry's private copy for this attempt (guaranteedUpdate): merge into it without a copy.
      else if (type === 'application/merge-patch+json') out = p.mergeOwned ? p.mergeOwned(live, patch) : p.merge(live, patch);
      else out = p.strategic(live, patch, r.schemaName);
      if (out === null || typeof out !== 'object' || Array.isArray(out)) throw badRequest('the patch produced a non-object');
      return out;
    };
    // A resourceVersion in the patch is a precondition (upstream semantics), otherwise retry on conflicts.
    const pinned =
      patch && typeof patch === 'object' && !Array.isArray(patch)
        ? ((patch as KubeObject).metadata?.resourceVersion ?? undefined)
        : undefined;
    let warnings: string[] = [];
    const updated = await this.reg.guaranteedUpdate(
      r,
      info.namespace,
      info.name,
      (live) => {
        const out = apply(live);
        warnings = this.checkFields(r, out as Record<string, unknown>, q);
        if (!pinned && out.metadata) out.metadata.resourceVersion = live.metadata?.resourceVersion;
        return out;
      },
      { dryRun, fieldManager, subresource: sub, pinnedRV: pinned },
    );
    this.warn(res, warnings);
    return this.sendObject(req, res, r, 200, updated, q);
  }

  // ---- subresources ----

  private async subresource(req: IncomingMessage, res: ServerResponse, r: ResourceInfo, info: RequestInfo, q: URLSearchParams): Promise<void> {
    const sub = info.subresource;
    if (!r.subresources.includes(sub) || !info.name) {
      req.resume();
      return this.send(res, 404, failure(404, 'NotFound', 'the server could not find the requested resource'));
    }
    const ns = info.namespace;
    const method = req.method ?? 'GET';
    const fieldManager = q.get('fieldManager') ?? defaultManager(req);
    const dryRun = q.getAll('dryRun').includes('All');
    switch (sub) {
      case 'status': {
        if (method === 'GET') return this.sendObject(req, res, r, 200, await this.reg.get(r, ns, info.name), q);
        if (method === 'PUT') {
          const body = await this.objectBody(req, r);
          const rv = (body as KubeObject).metadata?.resourceVersion;
          const out = await this.reg.guaranteedUpdate(r, ns, info.name, () => clone(body as KubeObject), {
            subresource: 'status',
            fieldManager,
            dryRun,
            pinnedRV: rv || undefined,
          });
          return this.sendObject(req, res, r, 200, out, q);
        }
        if (method === 'PATCH') return this.patch(req, res, r, info, q, 'status');
        break;
      }
      case 'scale':
        return this.scale(req, res, r, info, q);
      case 'finalize': {
        // Namespaces: a PUT that writes spec.finalizers only (how finalizers are released upstream).
        if (method !== 'PUT') break;
        const body = (await this.objectBody(req, r)) as KubeObject;
        const finalizers = (body.spec as { finalizers?: unknown } | undefined)?.finalizers;
        const out = await this.reg.guaranteedUpdate(
          r,
          ns,
          info.name,
          (cur) => {
            const spec = { ...((cur.spec ?? {}) as Record<string, unknown>) };
            if (finalizers === undefined) delete spec.finalizers;
            else spec.finalizers = finalizers;
            cur.spec = spec;
            return cur;
          },
          { fieldManager, dryRun, pinnedRV: body.metadata?.resourceVersion || undefined },
        );
        return this.sendObject(req, res, r, 200, out, q);
      }
      case 'binding': {
        if (method !== 'POST') break;
        const body = await this.objectBody(req, undefined);
        const target = (body as { target?: { name?: string } }).target;
        if (!target?.name) throw badRequest('binding target name is required');
        // One write and one watch event: nodeName and the PodScheduled condition together, as upstream's
        // binding (assignPod) stores them.
        await this.reg.guaranteedUpdate(
          r,
          ns,
          info.name,
          (pod) => {
            const spec = (pod.spec ?? {}) as Record<string, unknown>;
            if (pod.metadata?.deletionTimestamp) throw statusError(409, 'Conflict', `pod ${info.name} is being deleted, cannot be assigned to a host`);
            if (spec.nodeName) throw statusError(409, 'Conflict', `pod ${info.name} is already assigned to node "${spec.nodeName}"`);
            spec.nodeName = target.name;
            pod.spec = spec;
            const st = (pod.status ?? {}) as { conditions?: Record<string, unknown>[] };
            const conds = (st.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
            conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
            st.conditions = conds;
            pod.status = st;
            return pod;
          },
          { subresource: 'binding' },
        );
        return this.send(res, 201, success());
      }
      case 'eviction': {
        if (method !== 'POST') break;
        const body = await this.objectBody(req, undefined);
        const delOpts = ((body as { deleteOptions?: DeleteOptions }).deleteOptions ?? {}) as DeleteOptions;
        await this.reg.delete(r, ns, info.name, { ...delOpts, dryRun });
        return this.send(res, 201, success());
      }
      case 'log': {
        if (method !== 'GET') break;
        const pod = await this.reg.get(r, ns, info.name);
        const nc = this.opts.nodeConnector;
        if (!nc) throw noAgent('logs', info.name);
        const ac = new AbortController();
        res.on('close', () => ac.abort());
        try {
          await nc.podLogs(pod, q, res, ac.signal);
        } catch (e) {
          if (!res.headersSent) throw e;
          res.destroy();
        }
        return;
      }
      case 'exec':
      case 'attach':
      case 'portforward': {
        req.resume();
        const pod = await this.reg.get(r, ns, info.name);
        if (!this.opts.nodeConnector) throw noAgent(sub, info.name, pod);
        throw badRequest('Upgrade request required');
      }
    }
    req.resume();
    return this.send(res, 405, failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
  }

  private async dispatchUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!this.authenticated(req)) return writeRawStatus(socket, failure(401, 'Unauthorized', 'Unauthorized'));
    const info = parseRequestInfo(req.method ?? 'GET', url.pathname, url.searchParams);
    const kind = info.subresource as PodStreamKind;
    const r = info.isResourceRequest ? this.reg.resource(info.group, info.version, info.resource) : undefined;
    if (!r || !['exec', 'attach', 'portforward'].includes(kind) || !r.subresources.includes(kind))
      return writeRawStatus(socket, failure(404, 'NotFound', 'the server could not find the requested resource'));
    const pod = await this.reg.get(r, info.namespace, info.name);
    if (!this.opts.nodeConnector) throw noAgent(kind, info.name, pod);
    this.opts.nodeConnector.podStream(kind, pod, url.searchParams, req, socket, head);
  }

  private async scale(req: IncomingMessage, res: ServerResponse, r: ResourceInfo, info: RequestInfo, q: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    const ns = info.namespace;
    const fieldManager = q.get('fieldManager') ?? defaultManager(req);
    const dryRun = q.getAll('dryRun').includes('All');
    if (method === 'GET') return this.send(res, 200, toScale(await this.reg.get(r, ns, info.name)));
    let desired: (scale: KubeObject) => KubeObject;
    let pinned: string | undefined;
    if (method === 'PUT') {
      const body = (await this.objectBody(req, undefined)) as KubeObject;
      pinned = body.metadata?.resourceVersion || undefined;
      desired = () => body;
    } else if (method === 'PATCH') {
      const type = mediaType(req);
      if (!PATCH_TYPES.has(type) || type === 'application/apply-patch+yaml') {
        req.resume();
        throw statusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
      }
      const patch = decodeBody(await readBody(req), 'application/json');
      const p = this.reg.patcher;
      desired = (scale) =>
        type === 'application/json-patch+json' ? applyJsonPatch(p, scale, patch) : p.merge(scale, patch);
    } else {
      req.resume();
      return this.send(res, 405, failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    }
    const updated = await this.reg.guaranteedUpdate(
      r,
      ns,
      info.name,
      (obj) => {
        const scale = desired(toScale(obj));
        const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
        if (replicas !== undefined && (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0))
          throw statusError(422, 'Invalid', `Scale.autoscaling "${info.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, {
            name: info.name,
            group: 'autoscaling',
            kind: 'Scale',
            causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, field: 'spec.replicas' }],
          });
        obj.spec = { ...((obj.spec ?? {}) as object), replicas: replicas ?? 0 };
        return obj;
      },
      { fieldManager, dryRun, pinnedRV: pinned },
    );
    return this.send(res, 200, toScale(updated));
  }

  // ---- watch ----

  private async watch(req: IncomingMessage, res: ServerResponse, r: ResourceInfo, ns: string, q: URLSearchParams): Promise<void> {
    const ac = new AbortController();
    const lo = listOptions(q);
    // Validate selectors before answering 200.
    this.reg.parseSelectors(r, lo);
    const timeoutSec = Number(q.get('timeoutSeconds')) || 1800 + Math.floor(Math.random() * 1800);
    const timer = setTimeout(() => ac.abort(), timeoutSec * 1000);
    const onClose = () => ac.abort();
    res.on('close', onClose);
    const table = wantsTable(req.headers.accept);
    const include = includeObject(q);
    res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    let first = true;
    try {
      for await (const ev of this.reg.watch(r, ns, {
        ...lo,
        allowWatchBookmarks: q.get('allowWatchBookmarks') === 'true',
        signal: ac.signal,
        progressIntervalMs: this.opts.bookmarkIntervalMs,
      })) {
        if (ac.signal.aborted) break;
        let object: unknown = ev.object;
        if (table && (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED')) {
          object = toTable(r, [ev.object as KubeObject], { resourceVersion: (ev.object as KubeObject).metadata?.resourceVersion }, include, first);
          first = false;
        }
        const ok = res.write(object === ev.object ? watchLine(ev.type, object) : JSON.stringify({ type: ev.type, object }) + '\n');
        if (!ok) await new Promise<void>((resolve) => {
          const done = () => (res.off('drain', done), ac.signal.removeEventListener('abort', done), resolve());
          res.once('drain', done);
          ac.signal.addEventListener('abort', done);
        });
        if (ev.type === 'ERROR') break;
      }
    } catch (e) {
      if (!ac.signal.aborted) res.write(JSON.stringify({ type: 'ERROR', object: toStatus(e) }) + '\n');
    } finally {
      clearTimeout(timer);
      res.off('close', onClose);
      ac.abort();
      if (!res.writableEnded) res.end();
    }
  }

  // ---- helpers ----

  private async objectBody(req: IncomingMessage, r: ResourceInfo | undefined): Promise<Record<string, unknown>> {
    const buf = await readBody(req);
    const body = decodeObjectBody(buf, mediaType(req));
    if (r) this.checkKind(r, body as KubeObject);
    if (body.metadata !== undefined && (typeof body.metadata !== 'object' || body.metadata === null || Array.isArray(body.metadata)))
      throw badRequest(`${r?.kind ?? 'object'} in version "${r?.version ?? 'v1'}" cannot be handled as a ${r?.kind ?? 'object'}: json: cannot unmarshal ${Array.isArray(body.metadata) ? 'array' : typeof body.metadata} into Go struct field .metadata of type v1.ObjectMeta`);
    return body;
  }

  private checkKind(r: ResourceInfo, body: KubeObject): void {
    const gv = groupVersion(r);
    if (body.apiVersion !== undefined && body.apiVersion !== gv)
      throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${gv})`);
    if (body.kind !== undefined && body.kind !== r.kind)
      throw badRequest(`${String(body.kind)} in version "${r.version}" cannot be handled as a ${r.kind}: the object kind does not match the resource`);
  }

  /** fieldValidation=Strict|Warn|Ignore: unknown fields → 400 (Strict) or warnings (Warn, the default). */
  private checkFields(r: ResourceInfo, body: Record<string, unknown>, q: URLSearchParams): string[] {
    const mode = q.get('fieldValidation') ?? 'Warn';
    if (mode !== 'Strict' && mode !== 'Warn' && mode !== 'Ignore')
      throw badRequest(`fieldValidation parameter unsupported: ${mode}. Must be one of: Strict, Warn, Ignore`);
    const uf = this.reg.patcher.unknownFields;
    if (mode === 'Ignore' || !uf) return [];
    const unknown = uf(body as KubeObject, r.schemaName);
    if (unknown.length === 0) return [];
    const msgs = unknown.map((f) => `unknown field "${f}"`);
    if (mode === 'Strict')
      throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ${msgs.join(', ')}`);
    return msgs;
  }

  private warn(res: ServerResponse, warnings: string[]): void {
    if (warnings.length) res.setHeader('Warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`));
  }

  private async deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
    const buf = await readBody(req);
    let opts: DeleteOptions = {};
    if (buf.length > 0 && buf.toString('utf8').trim() !== '') opts = decodeObjectBody(buf, mediaType(req)) as DeleteOptions;
    const pp = q.get('propagationPolicy');
    if (pp) opts.propagationPolicy = pp as DeleteOptions['propagationPolicy'];
    if (opts.propagationPolicy && !['Background', 'Foreground', 'Orphan'].includes(opts.propagationPolicy))
      throw statusError(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`);
    const gp = q.get('gracePeriodSeconds');
    if (gp !== null) opts.gracePeriodSeconds = Number(gp);
    return opts;
  }

  private sendObject(req: IncomingMessage, res: ServerResponse, r: ResourceInfo, code: number, obj: KubeObject, q: URLSearchParams): void {
    if (wantsTable(req.headers.accept)) {
      return this.send(res, code, toTable(r, [obj], { resourceVersion: obj.metadata?.resourceVersion }, includeObject(q)));
    }
    this.send(res, code, obj);
  }

  private send(res: ServerResponse, code: number, body: unknown, contentType = JSON_TYPE): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
    res.end(text);
  }

  private fail(res: ServerResponse, err: unknown): void {
    const s = toStatus(err);
    if (s.code >= 500 && !(err instanceof StatusError)) process.stderr.write(`apiserver: ${err instanceof Error ? err.stack : String(err)}\n`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.send(res, s.code, s);
  }
}

/** Upstream: an undecodable JSON patch is 400, one that fails to apply is 422 (kubectl: "The request is invalid"). */
function applyJsonPatch(p: Patcher, obj: KubeObject, patch: unknown): KubeObject {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  try {
    return p.json(obj, patch);
  } catch (e) {
    if (e instanceof SkiffError && e.code === 'InvalidArgument') throw statusError(422, 'Invalid', e.message);
    throw e;
  }
}

function noAgent(what: string, name: string, _pod?: KubeObject): StatusError {
  return statusError(
    503,
    'ServiceUnavailable',
    `pod "${name}": ${what} is not available: no node agent is connected to this server (started with --disable-agent?)`,
  );
}

function writeRawStatus(socket: Duplex, s: KubeStatus): void {
  const text = JSON.stringify(s);
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' }[s.code] ?? 'Error';
  try {
    socket.end(
      `HTTP/1.1 ${s.code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  } catch {
    socket.destroy();
  }
}

function apisPaths(resources: ResourceInfo[]): string[] {
  const s = new Set<string>();
  for (const r of resources) if (r.group) s.add(`/apis/${r.group}`), s.add(`/apis/${r.group}/${r.version}`);
  return [...s].sort();
}

function listOptions(q: URLSearchParams): ListOptions {
  const limit = Number(q.get('limit') ?? '0');
  return {
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
    limit: Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : undefined,
    continue: q.get('continue') || undefined,
    resourceVersion: q.get('resourceVersion') ?? undefined,
    resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
  };
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

/** Upstream's default field manager: the user agent's program name. */
function defaultManager(req: IncomingMessage): string {
  const ua = String(req.headers['user-agent'] ?? 'unknown');
  return ua.split('/')[0] || 'unknown';
}

/** autoscaling/v1 Scale view of an object with spec.replicas. */
export function toScale(obj: KubeObject): KubeObject {
  const m = obj.metadata ?? {};
  const spec = (obj.spec ?? {}) as { replicas?: number; selector?: unknown };
  const status = (obj.status ?? {}) as { replicas?: number };
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, selector: labelSelectorToString(spec.selector) },
  };
}


