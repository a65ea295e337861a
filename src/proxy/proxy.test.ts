/** The service datapath's pure parts: model from Services/Endpoints, the nftables text, cluster DNS names. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from './model';
import { renderRuleset } from './nftables';
import { lookupClusterName, podSearchDomains } from './dns';
import { spawnSync } from 'node:child_process';

/** nft's own parser in check mode (-c: nothing is applied). */
function nftAccepts(text: string): void {
  const r = spawnSync('nft', ['-c', '-f', '-'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

const svc = (name: string, spec: object, ts = '2026-01-01T00:00:00Z') => ({ metadata: { name, namespace: 'default', creationTimestamp: ts }, spec });
const eps = (name: string, ready: string[], notReady: string[] = [], port = 80) => ({
  metadata: { name, namespace: 'default' },
  subsets: [{ addresses: ready.map((ip) => ({ ip })), notReadyAddresses: notReady.map((ip) => ({ ip })), ports: [{ port, protocol: 'TCP' }] }],
});

describe('service proxy model and ruleset', () => {
  it('balances over ready endpoints only', () => {
    const m = buildModel([svc('web', { type: 'ClusterIP', clusterIP: '10.43.0.9', ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] })], [
      eps('web', ['10.88.0.3', '10.88.0.2'], ['10.88.0.4'], 8080),
    ]);
    assert.equal(m.length, 1);
    assert.deepEqual(m[0].endpoints, [
      { ip: '10.88.0.2', port: 8080 },
      { ip: '10.88.0.3', port: 8080 },
    ]);
    const text = renderRuleset(m, { table: 't', comment: 'c', serviceCIDR: '10.43.0.0/16' });
    assert.match(text, /10\.43\.0\.9 \. tcp \. 80 : goto svc-/);
    assert.match(text, /numgen random mod 2 vmap \{ 0 : goto sep-\S+__10\.88\.0\.2\/8080, 1 : goto sep-\S+__10\.88\.0\.3\/8080 \}/);
    assert.match(text, /ip saddr 10\.88\.0\.2 meta mark set meta mark \| 0x4000/);
    assert.match(text, /meta l4proto tcp dnat to 10\.88\.0\.2:8080/);
    assert.doesNotMatch(text, /10\.88\.0\.4/);
    assert.match(text, /ip daddr 10\.43\.0\.0\/16 reject/);
    nftAccepts(text);
  });

  it('rejects services without endpoints; node ports and LoadBalancer ports on local addresses', () => {
    const m = buildModel(
      [
        svc('empty', { type: 'NodePort', clusterIP: '10.43.0.7', ports: [{ port: 80, protocol: 'TCP', nodePort: 30007 }] }),
        svc('lb', { type: 'LoadBalancer', clusterIP: '10.43.0.8', ports: [{ port: 8080, protocol: 'TCP', nodePort: 30008 }] }),
        svc('lb2', { type: 'LoadBalancer', clusterIP: '10.43.0.10', ports: [{ port: 8080, protocol: 'TCP', nodePort: 30010 }] }, '2026-02-01T00:00:00Z'),
      ],
      [eps('lb', ['10.88.0.5']), eps('lb2', ['10.88.0.6'])],
    );
    const text = renderRuleset(m, { table: 't', comment: 'c' });
    assert.match(text, /set no-endpoint-services \{\n\s+type [^\n]+\n\s+elements = \{ 10\.43\.0\.7 \. tcp \. 80 \}/);
    assert.match(text, /set no-endpoint-nodeports \{\n\s+type [^\n]+\n\s+elements = \{ tcp \. 30007 \}/);
    // the older LoadBalancer keeps host port 8080; the newer still has its node port
    assert.match(text, /tcp \. 30008 : goto ext-\S+default\/lb\/tcp\//);
    assert.match(text, /tcp \. 8080 : goto ext-\S+default\/lb\/tcp\//);
    assert.match(text, /tcp \. 30010 : goto ext-\S+default\/lb2\/tcp\//);
    assert.doesNotMatch(text, /tcp \. 8080 : goto ext-\S+default\/lb2\//);
    nftAccepts(text);
    nftAccepts(renderRuleset([], { table: 't', comment: 'c' }));
  });

  it('answers cluster names from Services and Endpoints', () => {
    const services: Record<string, any> = {
      web: { spec: { clusterIP: '10.43.0.9' } },
      db: { spec: { clusterIP: 'None' } },
    };
    const src = {
      service: (ns: string, n: string) => (ns === 'default' ? services[n] : undefined),
      endpoints: (_ns: string, n: string) => (n === 'db' ? eps('db', ['10.88.0.9', '10.88.0.8']) : undefined),
    };
    assert.deepEqual(lookupClusterName('web.default.svc.cluster.local', src), ['10.43.0.9']);
    assert.deepEqual(lookupClusterName('WEB.default.svc.cluster.local.', src), ['10.43.0.9']);
    assert.deepEqual(lookupClusterName('db.default.svc.cluster.local', src), ['10.88.0.8', '10.88.0.9']);
    assert.deepEqual(lookupClusterName('nope.default.svc.cluster.local', src), []);
    assert.deepEqual(lookupClusterName('web.default.svc.cluster.local.default.svc.cluster.local', src), []);
    assert.equal(lookupClusterName('example.com', src), undefined);
    assert.deepEqual(podSearchDomains('team'), ['team.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
  });
});

describe('stale table sweep (root: real nft)', { skip: process.getuid?.() !== 0 }, () => {
  it('removes tables of run dirs that are gone, keeps the others', async () => {
    const { sweepStaleTables, deleteTable, tableExists } = await import('./nft');
    const { applyRuleset } = await import('./nft');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const live = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-proxy-'));
    const suffix = Math.floor(Math.random() * 0xffffff).toString(16);
    const gone = `skiff-svc-0dead${suffix}`;
    const kept = `skiff-svc-0a11e${suffix}`;
    try {
      await applyRuleset(renderRuleset([], { table: gone, comment: `skiff service proxy; run-dir=${live}/no-such-dir` }));
      await applyRuleset(renderRuleset([], { table: kept, comment: `skiff service proxy; run-dir=${live}` }));
      const removed = await sweepStaleTables();
      assert.ok(removed.includes(gone));
      assert.equal(await tableExists(gone), false);
      assert.equal(await tableExists(kept), true);
    } finally {
      await deleteTable(gone);
      await deleteTable(kept);
      fs.rmSync(live, { recursive: true, force: true });
    }
  });
});
