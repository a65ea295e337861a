/**
 * `skiff service` end to end against `skiff server` with its node and the real kubectl: create with a
 * published port (answered on 127.0.0.1 through the node's service proxy), ls / ps / inspect / logs, scale,
 * update --image, rollback, rm (Deployment, Service, pods gone, the port free again). Root only.
 * The published port is random (not 8080) so a test never captures another test's loopback port.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { startNodeCluster, eventually, type NodeCluster } from '../../agent/testing/node-cluster';

const root = process.getuid?.() === 0;
const SKIFF = path.resolve(__dirname, '../../../../bin/skiff');

let cl: NodeCluster;
let port = 0;

/** A loopback port nothing listens on right now. */
async function freeLoopbackPort(): Promise<number> {
  for (;;) {
    const p = 18000 + Math.floor(Math.random() * 2000);
    const busy = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: p });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (!busy) return p;
  }
}

before(async () => {
  if (!root) return;
  cl = await startNodeCluster({ args: ['--service-cidr', `10.96.${1 + Math.floor(Math.random() * 250)}.0/24`] });
  port = await freeLoopbackPort();
});

after(async () => {
  await cl?.stop();
});

function skiff(args: string[], allowFail = false) {
  return cl.sh(`${JSON.stringify(process.execPath)} ${JSON.stringify(SKIFF)} ${args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`, { allowFail, timeoutMs: 240_000 });
}

function get(p: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: p, path: '/', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body.trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(args: string[]): Promise<any> {
  return JSON.parse((await cl.kubectl([...args, '-o', 'json'])).stdout);
}

test('skiff service: create -p, ls, ps, inspect, logs, scale, update, rollback, rm', { skip: !root, timeout: 600_000 }, async () => {
  await cl.docker(['tag', 'busybox:latest', 'busybox:v2']);
  const cmd = 'echo started $(hostname); mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www';
  const created = await skiff(['service', 'create', '--name', 'web', '--replicas', '3', '-p', `${port}:80`, '--env', 'GREETING=hi', '--limit-cpu', '0.5', '--limit-memory', '64M', '--label', 'team=a', 'busybox', 'sh', '-c', cmd]);
  assert.match(created.stdout, /^[0-9a-f]{12}\n$/);
  assert.match(created.stderr, /verify: Service web converged/);

  // one object model: kubectl sees the Deployment and the LoadBalancer Service
  const dep = await json(['get', 'deployment', 'web']);
  assert.equal(dep.metadata.labels['skiff.io/service'], 'web');
  const svc = await json(['get', 'service', 'web']);
  assert.equal(svc.spec.type, 'LoadBalancer');
  assert.equal(svc.spec.ports[0].port, port);
  assert.equal(svc.spec.ports[0].nodePort, undefined);
  // the node reports itself as the LoadBalancer's ingress (kubectl's EXTERNAL-IP)
  await eventually(async () => (await json(['get', 'service', 'web'])).status?.loadBalancer?.ingress?.[0]?.ip, 'LoadBalancer ingress');

  const ls = await skiff(['service', 'ls']);
  assert.match(ls.stdout, /^ID\s+NAME\s+MODE\s+REPLICAS\s+IMAGE\s+PORTS\n/);
  assert.match(ls.stdout, new RegExp(`\\n[0-9a-f]{12}\\s+web\\s+replicated\\s+3/3\\s+busybox\\s+\\*:${port}->80/tcp\\n`));

  // the published port answers on loopback, spread over the replicas
  const pods = (await json(['get', 'pods', '-l', 'skiff.io/service=web'])).items.map((p: { metadata: { name: string } }) => p.metadata.name);
  const seen = await eventually(async () => {
    const s = new Set<string>();
    for (let i = 0; i < 30; i++) s.add(await get(port));
    return s.size >= 2 ? s : undefined;
  }, 'published port answered by several replicas', 60_000);
  assert.ok([...seen].every((h) => pods.includes(h)), `${[...seen]} vs ${pods}`);

  const ps = await skiff(['service', 'ps', 'web']);
  const rows = ps.stdout.trim().split('\n');
  assert.match(rows[0], /^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR\s+PORTS$/);
  assert.deepEqual(rows.slice(1).map((r) => r.split(/\s+/)[1]).sort(), ['web.1', 'web.2', 'web.3']);
  assert.ok(rows.slice(1).every((r) => /\sRunning\s+Running .* ago/.test(r)), ps.stdout);

  const ins = JSON.parse((await skiff(['service', 'inspect', 'web'])).stdout)[0];
  assert.equal(ins.Spec.Name, 'web');
  assert.equal(ins.Spec.Mode.Replicated.Replicas, 3);
  assert.deepEqual(ins.Spec.TaskTemplate.ContainerSpec.Env, ['GREETING=hi']);
  assert.deepEqual(ins.Spec.TaskTemplate.Resources.Limits, { CPU: '500m', Memory: '64Mi' });
  assert.deepEqual(ins.Spec.Labels, { team: 'a' });
  assert.deepEqual(ins.Spec.EndpointSpec.Ports, [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: port, PublishMode: 'ingress' }]);

  const logs = await skiff(['service', 'logs', 'web']);
  const lines = logs.stdout.trim().split('\n');
  assert.equal(lines.length, 3, logs.stdout);
  for (const l of lines) assert.match(l, /^web\.[123]\.[0-9a-f]{12}@\S+\s+\| started web-/);

  // scale
  const sc = await skiff(['service', 'scale', 'web=5']);
  assert.match(sc.stdout, /^web scaled to 5\n/);
  assert.match((await skiff(['service', 'ls'])).stdout, /\sweb\s+replicated\s+5\/5\s/);
  const ps5 = (await skiff(['service', 'ps', 'web'])).stdout.trim().split('\n').slice(1);
  assert.deepEqual(ps5.map((r) => r.split(/\s+/)[1]).sort(), ['web.1', 'web.2', 'web.3', 'web.4', 'web.5']);

  // update --image, then rollback
  const up = await skiff(['service', 'update', '--image', 'busybox:v2', '--env-add', 'MORE=1', 'web']);
  assert.equal(up.stdout, 'web\n');
  const d2 = await json(['get', 'deployment', 'web']);
  assert.equal(d2.spec.template.spec.containers[0].image, 'busybox:v2');
  assert.deepEqual(d2.spec.template.spec.containers[0].env, [{ name: 'GREETING', value: 'hi' }, { name: 'MORE', value: '1' }]);
  const psv2 = (await skiff(['service', 'ps', 'web'])).stdout.trim().split('\n').slice(1);
  assert.ok(psv2.length === 5 && psv2.every((r) => r.split(/\s+/)[2] === 'busybox:v2'), psv2.join('\n'));
  assert.ok(pods.includes(await get(port)) === false, 'new pods serve after the update');
  const rb = await skiff(['service', 'rollback', 'web']);
  assert.match(rb.stdout, /^web\nrollback: manually requested rollback\n/);
  const d3 = await json(['get', 'deployment', 'web']);
  assert.equal(d3.spec.template.spec.containers[0].image, 'busybox');
  assert.equal(d3.spec.template.spec.containers[0].env.length, 1);
  await get(port);

  // a second service may not take the same published port
  const clash = await skiff(['service', 'create', '--name', 'other', '-p', `${port}:80`, 'busybox'], true);
  assert.notEqual(clash.code, 0);
  assert.match(clash.stderr, new RegExp(`port '${port}' is already in use by service 'web'`));

  // rm: everything goes, the port is free again
  assert.equal((await skiff(['service', 'rm', 'web'])).stdout, 'web\n');
  await eventually(async () => (await cl.kubectl(['get', 'deployments,replicasets,services,pods', '-l', 'skiff.io/service=web', '-o', 'name'])).stdout.trim() === '', 'objects gone', 90_000);
  await eventually(async () => {
    try {
      await get(port);
      return false;
    } catch (e) {
      return /ECONNREFUSED/.test((e as Error).message);
    }
  }, 'published port closed', 30_000);
  assert.equal((await skiff(['service', 'ls'])).stdout, 'ID   NAME   MODE   REPLICAS   IMAGE   PORTS\n');
  const missing = await skiff(['service', 'ps', 'web'], true);
  assert.match(missing.stderr, /no such service: web/);
});
