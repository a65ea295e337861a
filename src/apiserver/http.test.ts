/**
 * Wire details over HTTP(S): TLS with the generated CA, health endpoints, aggregated and legacy discovery,
 * OpenAPI v3, Tables (also in watches), watch semantics (resourceVersion absent/"0"/N, bookmarks,
 * timeoutSeconds, 410 after compaction), subresources (status, scale, binding, eviction, log/exec without agent).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ServerProc } from './testutil';

const CMS = '/api/v1/namespaces/default/configmaps';
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

function watch(srv: ServerProc, path: string, headers: Record<string, string>, until: (evs: any[]) => boolean, timeoutMs = 20_000): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const evs: any[] = [];
    const timer = setTimeout(() => (req.destroy(), resolve(evs)), timeoutMs);
    const req = http.get({ host: '127.0.0.1', port: srv.insecurePort, path, headers: { Authorization: `Bearer ${srv.token}`, ...headers } }, (res) => {
      assert.equal(res.statusCode, 200);
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          evs.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
        if (until(evs)) {
          clearTimeout(timer);
          req.destroy();
          resolve(evs);
        }
      });
      res.on('end', () => (clearTimeout(timer), resolve(evs)));
    });
    req.on('error', (e) => (evs.length ? resolve(evs) : reject(e)));
  });
}

describe('API wire details', () => {
  const srv = new ServerProc({ env: { SKIFF_WATCH_BOOKMARK_MS: '300' } });
  before(async () => {
    await srv.start();
  });
  after(async () => {
    await srv.cleanup();
  });

  it('serves HTTPS with the generated CA, health without auth, 401 otherwise', async () => {
    for (const p of ['/healthz', '/livez', '/readyz']) assert.deepEqual(await srv.secureRequest('GET', p), { status: 200, text: 'ok' });
    const unauth = await srv.secureRequest('GET', '/api/v1/namespaces');
    assert.equal(unauth.status, 401);
    assert.equal(JSON.parse(unauth.text).reason, 'Unauthorized');
    assert.equal((await srv.secureRequest('GET', '/api/v1/namespaces', srv.token)).status, 200);
  });

  it('answers aggregated discovery only for the exact version asked, legacy otherwise', async () => {
    const v2 = await srv.request('GET', '/apis', undefined, { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
    assert.equal(v2.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const apps = v2.json().items.find((g: any) => g.metadata.name === 'apps');
    const dep = apps.versions[0].resources.find((r: any) => r.resource === 'deployments');
    assert.equal(dep.scope, 'Namespaced');
    assert.deepEqual(dep.subresources.find((s: any) => s.subresource === 'scale').responseKind, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
    const beta = await srv.request('GET', '/api', undefined, { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList' });
    assert.equal(beta.json().apiVersion, 'apidiscovery.k8s.io/v2beta1');
    assert.equal(beta.json().items[0].metadata.name, '');
    const legacy = await srv.request('GET', '/apis', undefined, { Accept: 'application/json' });
    assert.equal(legacy.json().kind, 'APIGroupList');
    const v1 = (await srv.request('GET', '/api/v1')).json();
    assert.equal(v1.kind, 'APIResourceList');
    const names = v1.resources.map((r: any) => r.name);
    for (const n of ['pods', 'pods/status', 'pods/log', 'pods/exec', 'pods/binding', 'pods/eviction', 'namespaces', 'nodes/status']) assert.ok(names.includes(n), n);
    assert.equal((await srv.request('GET', '/apis/apps')).json().kind, 'APIGroup');
  });

  it('serves OpenAPI v3 index and documents', async () => {
    const idx = (await srv.request('GET', '/openapi/v3')).json();
    const url = idx.paths['apis/apps/v1'].serverRelativeURL;
    assert.match(url, /^\/openapi\/v3\/apis\/apps\/v1\?hash=/);
    const doc = (await srv.request('GET', url)).json();
    assert.ok(doc.components.schemas['io.k8s.api.apps.v1.Deployment']);
  });

  it('returns Tables for lists, single objects and watches', async () => {
    await srv.request('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 't1', labels: { t: 'x' } }, data: { a: '1', b: '2' } });
    const t = (await srv.request('GET', `${CMS}?labelSelector=t%3Dx`, undefined, { Accept: TABLE })).json();
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(t.columnDefinitions.map((c: any) => c.name), ['Name', 'Data', 'Age']);
    assert.equal(t.columnDefinitions[0].format, 'name');
    assert.deepEqual(t.rows[0].cells.slice(0, 2), ['t1', 2]);
    assert.equal(t.rows[0].object.kind, 'PartialObjectMetadata');
    assert.equal(t.rows[0].object.metadata.name, 't1');
    assert.ok(t.metadata.resourceVersion);
    const full = (await srv.request('GET', `${CMS}/t1?includeObject=Object`, undefined, { Accept: TABLE })).json();
    assert.deepEqual(full.rows[0].object.data, { a: '1', b: '2' });
    const rv = t.metadata.resourceVersion;
    const evsP = watch(srv, `${CMS}?watch=true&resourceVersion=${rv}`, { Accept: TABLE }, (e) => e.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    await srv.request('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 't2' } });
    await srv.request('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 't3' } });
    const evs = await evsP;
    assert.equal(evs[0].type, 'ADDED');
    assert.equal(evs[0].object.kind, 'Table');
    assert.equal(evs[0].object.columnDefinitions.length, 3);
    assert.equal(evs[0].object.rows[0].cells[0], 't2');
    assert.equal(evs[1].object.columnDefinitions.length, 0, 'column definitions only in the first event');
  });

  it('watch semantics: initial ADDED for absent/"0", only later changes for N, bookmarks, timeoutSeconds, 410', async () => {
    const initial = await watch(srv, `${CMS}?watch=true&resourceVersion=0`, {}, (e) => e.length >= 3);
    assert.ok(initial.every((e) => e.type === 'ADDED'));
    const noRv = await watch(srv, `${CMS}?watch=true`, {}, (e) => e.length >= 3);
    assert.deepEqual(noRv.map((e) => e.object.metadata.name).sort(), ['t1', 't2', 't3']);

    const list = (await srv.request('GET', CMS)).json();
    const t0 = Date.now();
    const bm = await watch(srv, `${CMS}?watch=true&resourceVersion=${list.metadata.resourceVersion}&allowWatchBookmarks=true&timeoutSeconds=2`, {}, () => false);
    assert.ok(Date.now() - t0 < 15_000, 'timeoutSeconds ends the stream');
    // Bookmarks come while idle and carry a resourceVersion; no object events happened.
    await srv.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bump' } });
    const bm2 = await watch(
      srv,
      `${CMS}?watch=true&resourceVersion=${list.metadata.resourceVersion}&allowWatchBookmarks=true&timeoutSeconds=5`,
      {},
      (e) => e.some((x) => x.type === 'BOOKMARK'),
    );
    const b = bm2.find((e) => e.type === 'BOOKMARK');
    assert.ok(b, `a bookmark arrived (first watch saw ${bm.length} events)`);
    assert.equal(b.object.kind, 'ConfigMap');
    assert.ok(Number(b.object.metadata.resourceVersion) > Number(list.metadata.resourceVersion));
    assert.ok(bm2.every((e) => e.type === 'BOOKMARK'));

    const bad = await watch(srv, `${CMS}?watch=true&resourceVersion=1`, {}, (e) => e.length >= 1, 5000);
    // Revision 1 is only gone after compaction; either replay or a 410 ERROR is correct here.
    if (bad[0]?.type === 'ERROR') assert.equal(bad[0].object.code, 410);
  });

  it('namespaces/finalize releases a terminating namespace', async () => {
    const N = '/api/v1/namespaces';
    assert.equal((await srv.request('POST', N, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fin' } })).status, 201);
    const ns = (await srv.request('GET', `${N}/fin`)).json();
    assert.deepEqual(ns.spec.finalizers, ['kubernetes']);
    const put = await srv.request('PUT', `${N}/fin/finalize`, { ...ns, spec: { finalizers: [] } });
    assert.equal(put.status, 200, put.text);
    assert.equal((await srv.request('DELETE', `${N}/fin`)).status, 200);
    assert.equal((await srv.request('GET', `${N}/fin`)).status, 404, 'no finalizer left: deleted at once');
  });

  it('status and scale subresources, binding, eviction, log/exec without an agent', async () => {
    const dep = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'sc' },
      spec: { replicas: 1, selector: { matchLabels: { a: 'sc' } }, template: { metadata: { labels: { a: 'sc' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
    };
    const D = '/apis/apps/v1/namespaces/default/deployments';
    assert.equal((await srv.request('POST', D, dep)).status, 201);
    const scale = (await srv.request('GET', `${D}/sc/scale`)).json();
    assert.deepEqual({ kind: scale.kind, apiVersion: scale.apiVersion, spec: scale.spec, status: scale.status }, {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 1 },
      status: { replicas: 0, selector: 'a=sc' },
    });
    const patched = await srv.request('PATCH', `${D}/sc/scale`, { spec: { replicas: 4 } }, { 'Content-Type': 'application/merge-patch+json' });
    assert.equal(patched.json().spec.replicas, 4);
    const put = await srv.request('PUT', `${D}/sc/scale`, { ...scale, spec: { replicas: 2 } });
    assert.equal(put.status, 409, 'stale resourceVersion in Scale');
    const st = await srv.request('PATCH', `${D}/sc/status`, { status: { replicas: 2, observedGeneration: 2 }, spec: { replicas: 99 } }, { 'Content-Type': 'application/merge-patch+json' });
    assert.equal(st.status, 200, st.text);
    assert.equal(st.json().status.replicas, 2);
    assert.equal(st.json().spec.replicas, 4);

    const P = '/api/v1/namespaces/default/pods';
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    const created = await srv.request('POST', P, pod);
    assert.equal(created.status, 201);
    const bind = await srv.request('POST', `${P}/p/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' } });
    assert.equal(bind.status, 201, bind.text);
    const bound = (await srv.request('GET', `${P}/p`)).json();
    assert.equal(bound.spec.nodeName, 'node-1');
    assert.equal(bound.status.conditions.find((c: any) => c.type === 'PodScheduled').status, 'True');
    // One write (one watch event for every watcher), as upstream's assignPod: nodeName and PodScheduled together.
    const since = (await srv.request('GET', `${P}?watch=true&resourceVersion=${created.json().metadata.resourceVersion}&timeoutSeconds=1`)).text;
    const evs = since.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.object.metadata.name === 'p');
    assert.deepEqual(evs.map((e) => [e.type, e.object.spec.nodeName, e.object.status?.conditions?.[0]?.type]), [['MODIFIED', 'node-1', 'PodScheduled']]);
    assert.equal((await srv.request('POST', `${P}/p/binding`, { target: { name: 'node-2' } })).status, 409);
    const log = await srv.request('GET', `${P}/p/log`);
    assert.equal(log.status, 503);
    assert.match(log.json().message, /no node agent/);
    const ev = await srv.request('POST', `${P}/p/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p' } });
    assert.equal(ev.status, 201, ev.text);
    assert.equal((await srv.request('GET', `${P}/p`)).status, 404);
  });
});
