/**
 * End to end with the real kubectl against `skiff server` with its node: a Deployment of 3 busybox httpd
 * pods (each serves its hostname) behind a NodePort Service. The ClusterIP answers from the host and from a
 * pod (also a pod reaching itself: hairpin), spreading over all 3 replicas; a replica failing its readiness
 * probe gets no traffic; the node port answers on 127.0.0.1; the Service's DNS name resolves inside a pod;
 * a Service without endpoints refuses connections; the nftables table is gone after the server stops.
 * Root only. The service range is private to this test and never routed off the host (the table rejects it).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { startNodeCluster, eventually, type NodeCluster } from '../agent/testing/node-cluster';
import { defaultTableName } from './proxy';

const root = process.getuid?.() === 0;
const CIDR = `10.97.${1 + Math.floor(Math.random() * 250)}.0/24`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: busybox
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && echo ok > /www/ready && exec httpd -f -p 80 -h /www"]
        ports: [{containerPort: 80, name: http}]
        readinessProbe:
          httpGet: {path: /ready, port: 80}
          periodSeconds: 1
          failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody}
  ports: [{port: 80}]
`;

let cl: NodeCluster;
let table = '';

before(async () => {
  if (!root) return;
  cl = await startNodeCluster({ args: ['--service-cidr', CIDR] });
  table = defaultTableName(cl.runDir);
});

after(async () => {
  if (!cl) return;
  await cl.stop();
  // the node removes its table when it stops; make sure (and fail loudly) if it did not
  const left = spawnSync('nft', ['list', 'table', 'ip', table], { encoding: 'utf8' }).status === 0;
  if (left) spawnSync('nft', ['delete', 'table', 'ip', table]);
  assert.equal(left, false, `table ${table} left behind`);
});

function get(host: string, port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** An HTTP GET from inside a pod (busybox nc: the static busybox's wget cannot resolve in a bare image). */
async function podGet(pod: string, host: string): Promise<string> {
  const r = await cl.kubectl(['exec', pod, '--', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${host} 80 | tail -n 1`]);
  return r.stdout.trim();
}

async function getJson(args: string[]): Promise<Obj> {
  return JSON.parse((await cl.kubectl([...args, '-o', 'json'])).stdout);
}

function nftTable(): string {
  return spawnSync('nft', ['list', 'table', 'ip', table], { encoding: 'utf8' }).stdout ?? '';
}

async function readyAddresses(name: string): Promise<string[]> {
  const e = await getJson(['get', 'endpoints', name]);
  return (e.subsets ?? []).flatMap((s: Obj) => (s.addresses ?? []).map((a: Obj) => a.ip)).sort();
}

/** Hostnames answering `n` requests from the host. */
async function spread(host: string, port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await get(host, port)).body);
  return seen;
}

test('Services end to end: ClusterIP, readiness, NodePort on loopback, DNS, hairpin, reject', { skip: !root, timeout: 300_000 }, async () => {
  await cl.kubectl(['apply', '-f', '-'], { input: WEB });
  const svc = await getJson(['get', 'service', 'web']);
  const ip: string = svc.spec.clusterIP;
  const nodePort: number = svc.spec.ports[0].nodePort;
  assert.ok(ip.startsWith(CIDR.split('.').slice(0, 3).join('.') + '.'), `ClusterIP ${ip} from ${CIDR}`);
  assert.ok(nodePort >= 30000 && nodePort <= 32767);
  const kube = await getJson(['get', 'service', 'kubernetes']);
  assert.equal(kube.spec.clusterIP, CIDR.replace(/0\/24$/, '1'));

  const pods = await eventually(async () => {
    const items = (await getJson(['get', 'pods', '-l', 'app=web'])).items.filter((p: Obj) => p.status?.podIP && p.status?.conditions?.some((c: Obj) => c.type === 'Ready' && c.status === 'True'));
    return items.length === 3 ? items : undefined;
  }, '3 ready web pods', 180_000);
  const names = new Set<string>(pods.map((p: Obj) => p.metadata.name));
  await eventually(async () => (await readyAddresses('web')).length === 3, 'endpoints with 3 ready addresses');
  // the datapath has the 3 endpoints before any packet goes to the virtual IP (which the table guards)
  await eventually(() => (nftTable().match(/chain sep-/g) ?? []).length === 3 && nftTable().includes(`${ip} . tcp . 80`), 'nft table programmed');

  // from the host: the ClusterIP spreads over all 3 replicas
  const fromHost = await eventually(async () => {
    const s = await spread(ip, 80, 40);
    return s.size === 3 ? s : undefined;
  }, 'ClusterIP answered by 3 replicas', 60_000);
  assert.deepEqual([...fromHost].sort(), [...names].sort());

  // the node port answers on 127.0.0.1
  const viaNodePort = await spread('127.0.0.1', nodePort, 30);
  assert.ok([...viaNodePort].every((h) => names.has(h)) && viaNodePort.size >= 2, `node port: ${[...viaNodePort]}`);

  // from a pod, by DNS name (search domains) and FQDN; its own replica is among the answers (hairpin)
  const client = pods[0].metadata.name;
  const ns = await cl.kubectl(['exec', client, '--', 'nslookup', 'web.default.svc.cluster.local']);
  assert.match(ns.stdout, new RegExp(`Address:\\s+${ip.replace(/\./g, '\\.')}`));
  const resolv = await cl.kubectl(['exec', client, '--', 'cat', '/etc/resolv.conf']);
  assert.match(resolv.stdout, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
  const fromPod = await eventually(async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 15; i++) {
      seen.add(await podGet(client, 'web.default.svc.cluster.local'));
    }
    return seen.has(client) && seen.size >= 2 ? seen : undefined;
  }, 'pod reaches the service, itself included', 120_000);
  assert.ok([...fromPod].every((h) => names.has(h)));
  assert.ok(names.has(await podGet(client, 'web')), 'short name through the search list');
  assert.ok(names.has(await podGet(client, ip)));

  // a replica that fails its readiness probe gets no traffic
  const sick = pods[1].metadata.name;
  await cl.kubectl(['exec', sick, '--', 'rm', '/www/ready']);
  await eventually(async () => (await readyAddresses('web')).length === 2, 'endpoints drop the not-ready replica', 60_000);
  await eventually(() => (nftTable().match(/chain sep-/g) ?? []).length === 2, 'nft table drops it');
  const after = await spread(ip, 80, 40);
  assert.equal(after.has(sick), false, `${sick} still got traffic`);
  assert.equal(after.size, 2);

  // a Service without endpoints refuses at once (REJECT), from the host
  const nobody = (await getJson(['get', 'service', 'nobody'])).spec.clusterIP;
  await eventually(() => nftTable().includes(`${nobody} . tcp . 80`), 'no-endpoint service in the table');
  await assert.rejects(get(nobody, 80), /ECONNREFUSED/);

  // delete: the ClusterIP and the node port are free again and leave the datapath
  await cl.kubectl(['delete', 'service', 'web']);
  await eventually(() => !nftTable().includes(`${ip} . tcp . 80`) && !nftTable().includes(`tcp . ${nodePort}`), 'service gone from the table');
  const again = await cl.kubectl(['create', '-f', '-', '-o', 'json'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'again' }, spec: { type: 'NodePort', clusterIP: ip, selector: { app: 'web' }, ports: [{ port: 80, nodePort }] } }),
  });
  assert.equal(JSON.parse(again.stdout).spec.clusterIP, ip);
  const dup = await cl.kubectl(['create', '-f', '-'], {
    allowFail: true,
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'dup' }, spec: { clusterIP: ip, ports: [{ port: 80 }] } }),
  });
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, new RegExp(`spec.clusterIPs: Invalid value: \\[\\]string\\{"${ip.replace(/\./g, '\\.')}"\\}: failed to allocate IP ${ip.replace(/\./g, '\\.')}: provided IP is already allocated`));
});
