/**
 * Crash recovery (root): a child process doing setups and teardowns is killed (with its CNI plugins, the
 * whole process group) at random points, several times; reconcile(live) afterwards must leave no namespace,
 * veth, lease, nat rule or record of the dead owners, and keep the live one working.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NetworkManager } from './manager';
import { cniName } from './conflist';
import { portmapChainName } from './firewall';
import { run } from './exec';
import type { NetworkRecord } from './model';
import { isRoot, natRulesMentioning, portFree, randomSuffix, waitFor, inNetns } from './testutil';

// 10.202.0.0/16 belongs to this file.
const SUBNET = '10.202.1.0/24';

const CHILD_JS = `
const { NetworkManager } = require(process.argv[1]);
const [dataDir, runDir, network, round] = process.argv.slice(2);
(async () => {
  const m = await NetworkManager.open({ dataDir, runDir, noDefaultNetwork: true, upstreamResolvers: [] });
  console.log('ready');
  for (let i = 0; ; i++) {
    const id = 'r' + round + 'c' + i;
    await m.setup({ id, name: id, hostname: id, endpoints: [{ network, aliases: ['a' + i] }],
      portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 },
                     { containerPort: 53, protocol: 'udp', hostIp: '', hostPort: 0 }] });
    if (i % 3 === 2) await m.teardown(id);
  }
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('reconcile after crashes (root, real CNI)', { skip: !isRoot && 'needs root' }, () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-netrec-'));
  const dataDir = path.join(tmp, 'data');
  const runDir = path.join(tmp, 'run');
  const childJs = path.join(tmp, 'child.js');
  const sfx = randomSuffix();
  let net: NetworkRecord;
  let m: NetworkManager | undefined;

  before(async () => {
    writeFileSync(childJs, CHILD_JS);
    const first = await NetworkManager.open({ dataDir, runDir, noDefaultNetwork: true, upstreamResolvers: [] });
    net = await first.createNetwork({ name: `crash${sfx}`, subnet: SUBNET });
    first.close();
  });

  after(async () => {
    m?.close();
    const last = await NetworkManager.open({ dataDir, runDir, noDefaultNetwork: true, upstreamResolvers: [] });
    await last.reconcile([]);
    for (const n of last.listNetworks()) await last.removeNetwork(n.id).catch(() => undefined);
    last.close();
    await run('ip', ['link', 'del', net.bridge], { allowFail: true });
    rmSync(tmp, { recursive: true, force: true });
  });

  it('leaves nothing of dead owners behind and keeps the live one', async () => {
    // A live sandbox that must survive every reconcile.
    m = await NetworkManager.open({ dataDir, runDir, noDefaultNetwork: true, upstreamResolvers: [] });
    const keeper = await m.setup({ id: `keep${sfx}`, name: 'keeper', hostname: 'k', endpoints: [{ network: net.name }], portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 }] });
    const keeperPort = keeper.ports[0].hostPort;
    m.close(); // the engine "stops" (its reservations go), the sandbox stays

    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const child = spawn(process.execPath, ['-e', CHILD_JS, path.join(__dirname, 'manager.js'), dataDir, runDir, net.name, String(round)], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      child.stderr.on('data', (b) => (out += b));
      const exited = new Promise((r) => child.on('exit', r));
      await waitFor(async () => out.includes('ready') || child.exitCode !== null, 'child ready', 60_000);
      assert.equal(child.exitCode, null, out);
      // Random point: somewhere in the middle of the setup/teardown loop (plugins included).
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 2500)));
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    }
    const leftBefore = readdirSync(path.join(runDir, 'netns')).length;
    assert.ok(leftBefore > 1, `the children made sandboxes (${leftBefore})`);

    m = await NetworkManager.open({ dataDir, runDir, noDefaultNetwork: true, upstreamResolvers: [] });
    const { removed } = await m.reconcile([`keep${sfx}`]);
    assert.ok(removed.length > 0);

    // Namespaces, records, leases: only the keeper's.
    assert.deepEqual(readdirSync(path.join(runDir, 'netns')), [`keep${sfx}`]);
    assert.deepEqual(readdirSync(path.join(dataDir, 'sandboxes')).filter((f) => f.endsWith('.json')), [`keep${sfx}.json`]);
    const ipamDir = path.join(dataDir, 'ipam', cniName(net));
    const leases = readdirSync(ipamDir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    assert.deepEqual(leases, [keeper.endpoints[0].ipAddress]);
    // Interfaces: one veth on the bridge (the keeper's).
    await waitFor(async () => {
      const links = (await run('ip', ['-o', 'link', 'show', 'master', net.bridge])).stdout.trim().split('\n').filter(Boolean);
      return links.length === 1;
    }, 'only the keeper veth on the bridge');
    // Rules: only the keeper's nat rules mention this network.
    const rules = await natRulesMentioning(cniName(net));
    assert.ok(rules.length > 0 && rules.every((r) => r.includes(`keep${sfx}`)), rules.join('\n'));
    // Portmap chains left: only the keeper's (whose rules name the subnet for hairpin traffic).
    const chains = new Set((await natRulesMentioning(SUBNET)).filter((r) => r.startsWith('-A CNI-DN-')).map((r) => r.split(' ')[1]));
    assert.deepEqual([...chains], [portmapChainName(cniName(net), `keep${sfx}`)]);
    // Host ports of dead owners are free; the keeper's is held again by this engine.
    assert.equal(await portFree('tcp', keeperPort), false, 'keeper port re-reserved');
    // The keeper still works.
    const ping = await inNetns(keeper.netnsPath, ['busybox', 'ping', '-c', '1', '-W', '5', net.gateway]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);

    // A second reconcile has nothing to do; then the keeper goes too and nothing of the network's users is left.
    assert.deepEqual((await m.reconcile([`keep${sfx}`])).removed, []);
    await m.reconcile([]);
    assert.deepEqual(readdirSync(path.join(runDir, 'netns')), []);
    assert.deepEqual(readdirSync(ipamDir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)), []);
    assert.deepEqual(await natRulesMentioning(cniName(net)), []);
    // Including portmap chains whose jump was never added (plugin killed mid-ADD): they name the subnet.
    assert.deepEqual((await natRulesMentioning(SUBNET)).filter((r) => r.startsWith('-A CNI-DN-')), []);
    assert.equal(existsSync(keeper.netnsPath), false);
    assert.equal(await portFree('tcp', keeperPort), true);
  });

  it('sets up again over a namespace and lease left without a record for a live owner', async () => {
    m?.close();
    const m1 = await NetworkManager.open({ dataDir, runDir, noDefaultNetwork: true, upstreamResolvers: [] });
    const id = `stale${sfx}`;
    await m1.setup({ id, name: 'stale', hostname: '', endpoints: [{ network: net.name }], portBindings: [] });
    m1.close();
    // The crash: the record never made it to disk.
    rmSync(path.join(dataDir, 'sandboxes', `${id}.json`));
    m = await NetworkManager.open({ dataDir, runDir, noDefaultNetwork: true, upstreamResolvers: [] });
    await m.reconcile([id]); // the owner lives: its namespace and lease are kept for now
    const again = await m.setup({ id, name: 'stale', hostname: '', endpoints: [{ network: net.name }], portBindings: [] });
    const ipamDir = path.join(dataDir, 'ipam', cniName(net));
    const leases = readdirSync(ipamDir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    assert.deepEqual(leases, [again.endpoints[0].ipAddress], 'the stale lease was released');
    const ping = await inNetns(again.netnsPath, ['busybox', 'ping', '-c', '1', '-W', '5', net.gateway]);
    assert.equal(ping.code, 0, ping.stdout);
    await m.teardown(id);
    assert.deepEqual(readdirSync(path.join(runDir, 'netns')), []);
  });

  it("removes bridges and rules of an engine whose data dir is gone (killed test engines)", async () => {
    await m?.close();
    m = undefined;
    const other = mkdtempSync(path.join(os.tmpdir(), 'skiff-netorphan-'));
    const o = await NetworkManager.open({ dataDir: path.join(other, 'data'), runDir: path.join(other, 'run'), noDefaultNetwork: true, upstreamResolvers: [] });
    const n = await o.createNetwork({ name: `orphan${sfx}`, subnet: '10.202.5.0/24' });
    // The engine is killed and its temp dir removed: nothing released.
    rmSync(other, { recursive: true, force: true });
    assert.equal((await run('ip', ['link', 'show', n.bridge], { allowFail: true })).code, 0);
    const again = await NetworkManager.open({ dataDir, runDir, noDefaultNetwork: true, upstreamResolvers: [] });
    // A bridge whose data dir still exists is left alone.
    assert.equal((await run('ip', ['link', 'show', net.bridge], { allowFail: true })).code, 0);
    await again.close();
    assert.notEqual((await run('ip', ['link', 'show', n.bridge], { allowFail: true })).code, 0, 'orphan bridge removed');
    assert.deepEqual(await natRulesMentioning('10.202.5.0/24'), []);
    const filt = await run('iptables', ['-S', 'SKIFF-ISOLATION']);
    assert.doesNotMatch(filt.stdout, new RegExp(`skiff:${n.id.slice(0, 12)}`));
  });
});
