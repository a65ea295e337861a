/**
 * Faults: kill -9 of the server during a stream of writes (every acknowledged write survives, objects are
 * whole, watches resume from their revision), and hostile or wrong requests (malformed JSON/YAML, huge and
 * deeply nested bodies, invalid names, stale updates) answered with clean Status errors, the store unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ServerProc } from './testutil';

const CMS = '/api/v1/namespaces/default/configmaps';

describe('faults', () => {
  const srv = new ServerProc();
  before(async () => {
    await srv.start();
  });
  after(async () => {
    await srv.cleanup();
  });

  it('answers bad requests with Status errors and leaves the store unchanged', async () => {
    const created = await srv.request('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep' }, data: { a: '1' } });
    assert.equal(created.status, 201);
    const rv = created.json().metadata.resourceVersion;
    const before = (await srv.request('GET', CMS)).json();

    const expectStatus = async (r: Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }>, code: number, reason: string) => {
      const res = await r;
      assert.equal(res.status, code, res.text);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const s = JSON.parse(res.text);
      assert.equal(s.kind, 'Status');
      assert.equal(s.apiVersion, 'v1');
      assert.equal(s.status, 'Failure');
      assert.equal(s.reason, reason);
      assert.equal(s.code, code);
      return s;
    };
    await expectStatus(srv.request('POST', CMS, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":'), 400, 'BadRequest');
    await expectStatus(srv.request('POST', CMS, 'metadata: {name: [unclosed\n  bad: : :', { 'Content-Type': 'application/yaml' }), 400, 'BadRequest');
    await expectStatus(srv.request('POST', CMS, '[1,2,3]'), 400, 'BadRequest');
    await expectStatus(srv.request('POST', CMS, '{"apiVersion":"v1","kind":"ConfigMap","metadata":"nope"}'), 400, 'BadRequest');
    const huge = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'huge' }, data: { x: 'y'.repeat(4 * 1024 * 1024) } });
    await expectStatus(srv.request('POST', CMS, huge), 413, 'RequestEntityTooLarge');
    const deep = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":' + '['.repeat(200_000) + ']'.repeat(200_000) + '}';
    await expectStatus(srv.request('POST', CMS, deep), 400, 'BadRequest');
    const yamlDeep = 'metadata:\n  name: deepy\ndata: ' + '['.repeat(50_000) + ']'.repeat(50_000) + '\n';
    await expectStatus(srv.request('POST', CMS, yamlDeep, { 'Content-Type': 'application/yaml' }), 400, 'BadRequest');
    const inv = await expectStatus(srv.request('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_Valid!' } }), 422, 'Invalid');
    assert.equal(inv.details.causes[0].field, 'metadata.name');
    await expectStatus(srv.request('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a/b' } }), 422, 'Invalid');
    await expectStatus(srv.request('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep' } }), 409, 'AlreadyExists');
    await expectStatus(srv.request('PUT', `${CMS}/keep`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep', resourceVersion: '1' }, data: { a: '2' } }), 409, 'Conflict');
    await expectStatus(srv.request('PATCH', `${CMS}/keep`, '{}', { 'Content-Type': 'text/plain' }), 415, 'UnsupportedMediaType');
    await expectStatus(srv.request('PATCH', `${CMS}/keep`, '[{"op":"replace","path":"/data/zz/y","value":1}]', { 'Content-Type': 'application/json-patch+json' }), 422, 'Invalid');
    await expectStatus(srv.request('PATCH', `${CMS}/keep`, '{"data":', { 'Content-Type': 'application/merge-patch+json' }), 400, 'BadRequest');
    await expectStatus(srv.request('PUT', CMS, '{}'), 405, 'MethodNotAllowed');
    await expectStatus(srv.request('GET', `${CMS}/missing`), 404, 'NotFound');
    await expectStatus(srv.request('GET', '/api/v1/nope'), 404, 'NotFound');
    await expectStatus(srv.request('GET', CMS, undefined, { Authorization: 'Bearer wrong' }), 401, 'Unauthorized');
    await expectStatus(srv.request('GET', `${CMS}?labelSelector=${encodeURIComponent('a in (b')}`), 400, 'BadRequest');
    await expectStatus(srv.request('GET', `${CMS}?fieldSelector=spec.nothing%3Dx`), 400, 'BadRequest');
    // Protobuf asked first: still JSON.
    const pb = await srv.request('GET', `${CMS}/keep`, undefined, { Accept: 'application/vnd.kubernetes.protobuf,application/json' });
    assert.equal(pb.status, 200);
    assert.match(String(pb.headers['content-type']), /^application\/json/);

    const afterList = (await srv.request('GET', CMS)).json();
    assert.deepEqual(afterList.items, before.items);
    assert.equal((await srv.request('GET', `${CMS}/keep`)).json().metadata.resourceVersion, rv);
  });

  it('keeps every acknowledged write across kill -9 and resumes watches from their revision', async () => {
    const acked = new Map<string, number>(); // name → highest acknowledged counter
    let maxAckedRv = 0;
    const startRv = Number((await srv.request('GET', CMS)).json().metadata.resourceVersion);
    for (let round = 0; round < 3; round++) {
      let stop = false;
      const worker = async (w: number) => {
        let n = 0;
        while (!stop) {
          const name = `crash-${w}-${n % 5}`;
          const counter = round * 100000 + n;
          try {
            const exists = acked.has(name);
            const res = exists
              ? await srv.request('PATCH', `${CMS}/${name}`, { data: { v: String(counter) } }, { 'Content-Type': 'application/merge-patch+json' })
              : await srv.request('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v: String(counter) } });
            if (res.status === 200 || res.status === 201) {
              acked.set(name, counter);
              maxAckedRv = Math.max(maxAckedRv, Number(res.json().metadata.resourceVersion));
            } else if (res.status === 409 && !exists) {
              acked.set(name, -1); // created by an unacknowledged request before the crash
            }
          } catch {
            // connection refused/reset: the server is down
          }
          n++;
        }
      };
      const workers = [0, 1, 2, 3].map((w) => worker(w));
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 600));
      await srv.kill9();
      stop = true;
      await Promise.all(workers);
      await srv.start();
      for (const [name, counter] of acked) {
        const got = await srv.request('GET', `${CMS}/${name}`);
        assert.equal(got.status, 200, `${name} lost after kill -9: ${got.text}`);
        const obj = got.json();
        assert.equal(obj.kind, 'ConfigMap');
        assert.ok(Number(obj.data.v) >= counter, `${name}: stored ${obj.data.v} older than acknowledged ${counter}`);
      }
    }
    assert.ok(acked.size > 0, 'some writes were acknowledged');
    // A watch from the revision before the writes replays them all in order after the restarts.
    const events = await watchLines(srv, `${CMS}?watch=true&resourceVersion=${startRv}&timeoutSeconds=5`, (evs) =>
      evs.some((e) => Number(e.object?.metadata?.resourceVersion) >= maxAckedRv),
    );
    const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
    assert.deepEqual([...rvs].sort((a, b) => a - b), rvs, 'events in revision order');
    assert.ok(rvs[0] > startRv);
    const names = new Set(events.map((e) => e.object.metadata.name));
    for (const name of acked.keys()) assert.ok(names.has(name), `watch replay misses ${name}`);
  });
});

describe('garbage collection across a crash', () => {
  const srv = new ServerProc();
  after(async () => {
    await srv.cleanup();
  });

  it('collects dependents of an owner deleted just before kill -9, after restart', async () => {
    await srv.start();
    const owner = (await srv.request('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner' } })).json();
    const ref = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }];
    for (let i = 0; i < 20; i++)
      assert.equal((await srv.request('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `dep-${i}`, ownerReferences: ref } })).status, 201);
    // Foreground: the owner stays (with its finalizer) until the dependents are gone — also across the crash.
    const del = await srv.request('DELETE', `${CMS}/owner`, { propagationPolicy: 'Foreground' });
    assert.equal(del.status, 200, del.text);
    await srv.kill9();
    await srv.start();
    const deadline = Date.now() + 60_000;
    let left = -1;
    while (Date.now() < deadline) {
      const list = (await srv.request('GET', CMS)).json();
      left = list.items.filter((o: any) => o.metadata.name.startsWith('dep-') || o.metadata.name === 'owner').length;
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(left, 0, 'owner and dependents all gone after restart');
  });
});

function watchLines(srv: ServerProc, path: string, enough: (evs: any[]) => boolean): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const evs: any[] = [];
    const req = http.get({ host: '127.0.0.1', port: srv.insecurePort, path, headers: { Authorization: `Bearer ${srv.token}` } }, (res) => {
      let buf = '';
      res.on('data', (c) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          evs.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
        if (enough(evs)) {
          req.destroy();
          resolve(evs);
        }
      });
      res.on('end', () => resolve(evs));
    });
    req.on('error', (e) => (evs.length ? resolve(evs) : reject(e)));
  });
}

