/**
 * ClusterIP / NodePort allocation through the real Registry over SQLite: dynamic and requested values,
 * upstream's error messages, no double allocation, release on delete and on type change, dry runs and failed
 * writes give back what they took, and a restart (new registry over the same database) sees what is taken.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../store/sqlite';
import { RESOURCES } from '../resources';
import { Registry } from '../registry';
import { NamespaceController } from '../namespaces';
import { StatusError } from '../status';
import type { KubeObject } from '../resource';
import { attachServiceNetwork, ServiceAllocator } from './index';
import { RangeBitmap, dynamicOffset, parseCidr, parsePortRange } from './range';

const SVC = RESOURCES.find((r) => r.plural === 'services')!;

function svc(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } };
}

async function refusal(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StatusError) return { code: e.status.code ?? 0, message: e.status.message ?? '' };
    throw e;
  }
  assert.fail('expected the write to be refused');
}

describe('range bitmap (pure)', () => {
  it('hands every value out once, upper band first, then the lower band', () => {
    const b = new RangeBitmap(40);
    assert.equal(b.offset, dynamicOffset(40));
    const seen = new Set<number>();
    for (let k = 0; k < 40; k++) {
      const i = b.allocateNext()!;
      assert.ok(i !== undefined && !seen.has(i));
      if (k < 40 - b.offset) assert.ok(i >= b.offset, `dynamic ${i} should come from the upper band first`);
      seen.add(i);
    }
    assert.equal(b.allocateNext(), undefined);
    b.release(7);
    assert.equal(b.allocateNext(), 7);
    assert.equal(b.allocate(7), false);
  });
  it('parses CIDRs and port ranges', () => {
    assert.deepEqual(parseCidr('10.43.7.9/16'), { text: '10.43.0.0/16', base: 0x0a2b0000, prefix: 16, size: 65536 });
    assert.deepEqual(parsePortRange('30000-32767'), { text: '30000-32767', base: 30000, size: 2768 });
    assert.throws(() => parseCidr('10.0.0.0/31'));
    assert.throws(() => parsePortRange('10-5'));
  });
});

describe('service allocators over the registry', () => {
  let dir: string;
  let store: SqliteStore;
  let reg: Registry;
  let nsc: NamespaceController;
  let alloc: ServiceAllocator;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-alloc-'));
    store = new SqliteStore({ file: path.join(dir, 'state.db'), retainRevisions: 0 });
    reg = new Registry(store, RESOURCES);
    nsc = new NamespaceController(reg);
    await nsc.start();
    alloc = await attachServiceNetwork(reg, { serviceCIDR: '10.99.0.0/24', nodePortRange: '30000-30019' });
  });
  after(async () => {
    nsc.stop();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the kubernetes Service on the first address', async () => {
    const k = await reg.get(SVC, 'default', 'kubernetes');
    assert.equal((k.spec as any).clusterIP, '10.99.0.1');
    assert.deepEqual((k.spec as any).clusterIPs, ['10.99.0.1']);
    assert.ok(alloc.isAllocatedIP('10.99.0.1'));
  });

  it('allocates a ClusterIP from the range and fills clusterIPs/ipFamilies', async () => {
    const s = await reg.create(SVC, 'default', svc('a'));
    const spec = s.spec as any;
    assert.match(spec.clusterIP, /^10\.99\.0\.\d+$/);
    assert.deepEqual(spec.clusterIPs, [spec.clusterIP]);
    assert.deepEqual(spec.ipFamilies, ['IPv4']);
    assert.ok(alloc.isAllocatedIP(spec.clusterIP));
    // dynamic allocations come from the upper band (offset 16 in a /24)
    assert.ok(Number(spec.clusterIP.split('.')[3]) > 16);
  });

  it('refuses a taken or out-of-range ClusterIP with upstream messages', async () => {
    await reg.create(SVC, 'default', svc('fixed', { clusterIP: '10.99.0.10' }));
    const taken = await refusal(reg.create(SVC, 'default', svc('fixed2', { clusterIP: '10.99.0.10' })));
    assert.equal(taken.code, 422);
    assert.equal(
      taken.message,
      'Service "fixed2" is invalid: spec.clusterIPs: Invalid value: []string{"10.99.0.10"}: failed to allocate IP 10.99.0.10: provided IP is already allocated',
    );
    const out = await refusal(reg.create(SVC, 'default', svc('far', { clusterIP: '10.1.2.3' })));
    assert.equal(
      out.message,
      'Service "far" is invalid: spec.clusterIPs: Invalid value: []string{"10.1.2.3"}: failed to allocate IP 10.1.2.3: the provided IP (10.1.2.3) is not in the valid range. The range of valid IPs is 10.99.0.0/24',
    );
    const headless = await reg.create(SVC, 'default', svc('headless', { clusterIP: 'None' }));
    assert.equal((headless.spec as any).clusterIP, 'None');
  });

  it('allocates node ports, refuses taken and out-of-range ones, keeps them on update', async () => {
    const np = await reg.create(SVC, 'default', svc('np', { type: 'NodePort', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81, nodePort: 30001 }] }));
    const ports = (np.spec as any).ports;
    assert.ok(ports[0].nodePort >= 30000 && ports[0].nodePort <= 30019 && ports[0].nodePort !== 30001);
    assert.equal(ports[1].nodePort, 30001);
    const taken = await refusal(reg.create(SVC, 'default', svc('np2', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] })));
    assert.equal(taken.message, 'Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: 30001: provided port is already allocated');
    const range = await refusal(reg.create(SVC, 'default', svc('np3', { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] })));
    assert.equal(range.message, 'Service "np3" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-30019');
    // the refused creates took nothing: np2 and np3 got no ClusterIP for good
    const before = alloc.usedIPs;
    // a PUT that leaves clusterIP and node ports out keeps them
    const put = await reg.update(SVC, 'default', 'np', { metadata: { name: 'np' }, spec: { type: 'NodePort', selector: { app: 'np' }, ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] } });
    assert.equal((put.spec as any).clusterIP, (np.spec as any).clusterIP);
    assert.deepEqual((put.spec as any).ports.map((p: any) => p.nodePort), ports.map((p: any) => p.nodePort));
    assert.equal(alloc.usedIPs, before);
    // back to ClusterIP: the node ports are released
    await reg.guaranteedUpdate(SVC, 'default', 'np', (cur) => ({ ...cur, spec: { ...(cur.spec as object), type: 'ClusterIP' } }));
    const after = await reg.get(SVC, 'default', 'np');
    assert.ok((after.spec as any).ports.every((p: any) => p.nodePort === undefined));
    assert.equal(alloc.isAllocatedPort(30001), false);
    assert.equal(alloc.isAllocatedPort(ports[0].nodePort), false);
  });

  it('dry runs and failed validation take nothing; delete releases', async () => {
    const used = alloc.usedIPs;
    const dry = await reg.create(SVC, 'default', svc('dry', { type: 'NodePort' }), { dryRun: true });
    assert.match((dry.spec as any).clusterIP, /^10\.99\.0\./);
    assert.equal(alloc.usedIPs, used);
    assert.equal(alloc.usedPorts, 0);
    await refusal(reg.create(SVC, 'default', svc('Bad_Name', { clusterIP: '10.99.0.11' })));
    assert.equal(alloc.isAllocatedIP('10.99.0.11'), false);
    await reg.delete(SVC, 'default', 'fixed');
    assert.equal(alloc.isAllocatedIP('10.99.0.10'), false);
    await reg.create(SVC, 'default', svc('fixed3', { clusterIP: '10.99.0.10' }));
  });

  it('never hands an address out twice until the range is full, then says so', async () => {
    const ips = new Set<string>();
    for (const o of (await reg.list(SVC, '')).items) if ((o.spec as any).clusterIP !== 'None') ips.add((o.spec as any).clusterIP);
    for (let i = 0; ; i++) {
      try {
        const s = await reg.create(SVC, 'default', svc(`fill-${i}`));
        const ip = (s.spec as any).clusterIP;
        assert.ok(!ips.has(ip), `${ip} handed out twice`);
        ips.add(ip);
      } catch (e) {
        assert.ok(e instanceof StatusError);
        assert.equal(e.status.message, 'Internal error occurred: failed to allocate a serviceIP: range is full');
        break;
      }
    }
    assert.equal(ips.size, 254);
  });

  it('a restarted server (new registry, same database) knows what is taken', async () => {
    const reg2 = new Registry(store, RESOURCES);
    const alloc2 = await attachServiceNetwork(reg2, { serviceCIDR: '10.99.0.0/24', nodePortRange: '30000-30019' });
    assert.equal(alloc2.usedIPs, alloc.usedIPs);
    const r = await refusal(reg2.create(SVC, 'default', svc('again', { clusterIP: '10.99.0.10' })));
    assert.match(r.message, /provided IP is already allocated/);
    await reg2.delete(SVC, 'default', 'fill-0');
    const s = await reg2.create(SVC, 'default', svc('again2'));
    assert.match((s.spec as any).clusterIP, /^10\.99\.0\./);
  });
});
