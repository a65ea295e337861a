import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../network/exec';
import { NetnsDir, isNsMount } from '../network/netns';
import type { NetworkRecord } from '../network/model';
import { cniName } from '../network/conflist';
import { FastSandboxes, hostBatch, innerBatch, leaseRange, setupScript, vethName } from './sandbox';

const isRoot = process.getuid?.() === 0;

test('pure parts: lease range, veth names, ip batches, the setup script', () => {
  assert.deepEqual(leaseRange({ subnet: '10.9.0.0/16' }), { first: (10 << 24) + (9 << 16) + 1, last: (10 << 24) + (9 << 16) + 65534 });
  const r = leaseRange({ subnet: '10.9.0.0/16', ipRange: '10.9.3.0/24' });
  assert.equal(r.last - r.first, 255);
  const v = vethName('pod-123');
  assert.match(v, /^vp[0-9a-f]{12}$/);
  assert.ok(v.length <= 15);
  assert.equal(vethName('pod-123'), v);
  assert.notEqual(vethName('pod-124'), v);
  const inner = innerBatch({ ip: '10.9.0.2', prefixLen: 16, gateway: '10.9.0.1', mac: '02:42:0a:09:00:02', veth: v, hostPid: 42, internal: false });
  assert.match(inner, /^link set lo up\n/);
  assert.match(inner, new RegExp(`link add eth0 address 02:42:0a:09:00:02 type veth peer name ${v} netns 42\n`));
  assert.match(inner, /route add default via 10\.9\.0\.1 dev eth0\n$/);
  assert.doesNotMatch(innerBatch({ ip: '10.9.0.2', prefixLen: 16, gateway: '10.9.0.1', mac: 'x', veth: v, hostPid: 1, internal: true }), /route/);
  const s = setupScript('/run/x/netns/pod-1', inner, hostBatch(v, 'skiffbr'));
  assert.match(s, /^unshare --net=\/run\/x\/netns\/pod-1 ip -batch - <<'SKIFF_INNER' \|\| exit \$\?\nlink set lo up\n/);
  assert.match(s, /\nSKIFF_INNER\nexec ip -batch - <<'SKIFF_HOST'\nlink set vp[0-9a-f]+ master skiffbr\n/);
  assert.throws(() => setupScript('/run/x; rm -rf /', '', ''));
});

test('fast sandboxes: concurrent setup on a real bridge, distinct leases, reachability, teardown, reconcile', { skip: !isRoot && 'needs root' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-sbx-'));
  const bridge = `skt${Math.random().toString(36).slice(2, 8)}`;
  // A /24 nothing on the host routes yet (tests run two files at a time).
  const routes = (await run('ip', ['-4', 'route', 'show', 'table', 'all'])).stdout;
  let octet = 0;
  for (let i = 0; i < 50 && (!octet || routes.includes(`10.251.${octet}.`)); i++) octet = 1 + Math.floor(Math.random() * 250);
  const net24 = `10.251.${octet}`;
  const net: NetworkRecord = {
    id: 'f'.repeat(64),
    name: 'test-pods',
    driver: 'bridge',
    created: new Date().toISOString(),
    internal: false,
    attachable: false,
    subnet: `${net24}.0/24`,
    gateway: `${net24}.1`,
    bridge,
    labels: {},
    options: {},
    isDefault: false,
  };
  const netns = new NetnsDir(path.join(dir, 'run', 'netns'));
  const ipam = path.join(dir, 'data', 'ipam');
  const leaseDir = path.join(ipam, cniName(net));
  let sb: FastSandboxes | undefined;
  try {
    await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `${net24}.1/24`, 'dev', bridge]);
    await run('ip', ['link', 'set', bridge, 'up']);
    // A lease host-local made for someone else: never handed out again.
    fs.mkdirSync(leaseDir, { recursive: true });
    fs.writeFileSync(path.join(leaseDir, `${net24}.2`), 'other\r\neth0');
    sb = await FastSandboxes.open(net, netns, path.join(dir, 'data'), ipam);
    const ids = ['pod-a', 'pod-b', 'pod-c', 'pod-d'];
    const results = await Promise.all(ids.map((id) => sb!.setup({ id, name: id, hostname: id, dnsSearch: ['default.svc.cluster.local'], dnsOptions: ['ndots:5'] })));
    const ips = results.map((r) => r.endpoints[0].ipAddress);
    assert.equal(new Set(ips).size, 4);
    assert.ok(!ips.includes(`${net24}.2`) && !ips.includes(`${net24}.1`));
    // Same id again: the same sandbox.
    assert.equal((await sb.setup({ id: 'pod-a', name: 'pod-a', hostname: 'pod-a' })).endpoints[0].ipAddress, ips[0]);
    for (const [i, id] of ids.entries()) {
      assert.equal(fs.readFileSync(path.join(leaseDir, ips[i]), 'utf8'), `${id}\r\neth0`);
      assert.ok(await isNsMount(netns.pathOf(id)));
      assert.equal(path.basename(fs.readlinkSync(`/sys/class/net/${vethName(id)}/master`)), bridge);
    }
    assert.ok(results[0].resolvConf.includes(`nameserver ${net24}.1\n`));
    assert.match(results[0].resolvConf, /search default\.svc\.cluster\.local/);
    assert.match(results[0].hostsFile, new RegExp(`${ips[0].replace(/\./g, '\\.')}\\tpod-a`));
    // Pod to pod and pod to gateway over the bridge.
    const ping = await run('nsenter', [`--net=${netns.pathOf('pod-a')}`, 'busybox', 'ping', '-c', '1', '-W', '5', ips[1]], { allowFail: true, timeoutMs: 20_000 });
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    const gw = await run('nsenter', [`--net=${netns.pathOf('pod-c')}`, 'busybox', 'ping', '-c', '1', '-W', '5', `${net24}.1`], { allowFail: true, timeoutMs: 20_000 });
    assert.equal(gw.code, 0, gw.stdout + gw.stderr);

    // Teardown of two at once (one umount exec): namespaces, veths, leases, records gone.
    await Promise.all([sb.teardown('pod-a'), sb.teardown('pod-b')]);
    for (const [i, id] of ['pod-a', 'pod-b'].entries()) {
      assert.ok(!(await isNsMount(netns.pathOf(id))));
      assert.ok(!fs.existsSync(netns.pathOf(id)));
      assert.ok(!fs.existsSync(path.join(leaseDir, ips[i])));
      assert.equal(sb.get(id), undefined);
    }
    // Veths die with their namespace (asynchronously in the kernel).
    for (let i = 0; i < 100 && fs.existsSync(`/sys/class/net/${vethName('pod-a')}`); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!fs.existsSync(`/sys/class/net/${vethName('pod-a')}`));

    // A restart: records are read back; reconcile keeps the live one, drops the dead one, and re-attaches a
    // veth whose bridge was recreated.
    await run('ip', ['link', 'del', bridge]);
    await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    await run('ip', ['link', 'set', bridge, 'up']);
    const again = await FastSandboxes.open(net, netns, path.join(dir, 'data'), ipam);
    assert.deepEqual(again.ids().sort(), ['pod-c', 'pod-d']);
    await again.reconcile(new Set(['pod-c']));
    assert.deepEqual(again.ids(), ['pod-c']);
    assert.ok(!(await isNsMount(netns.pathOf('pod-d'))));
    assert.equal(path.basename(fs.readlinkSync(`/sys/class/net/${vethName('pod-c')}/master`)), bridge);
    // The next address is not one still leased.
    const e = await again.setup({ id: 'pod-e', name: 'pod-e', hostname: 'pod-e' });
    assert.notEqual(e.endpoints[0].ipAddress, ips[2]);
    await again.teardown('pod-c');
    await again.teardown('pod-e');
    sb = again;
  } finally {
    for (const id of sb?.ids() ?? []) await sb!.teardown(id).catch(() => undefined);
    for (const id of await netns.list()) await netns.remove(id).catch(() => undefined);
    await run('ip', ['link', 'del', bridge], { allowFail: true });
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const m = line.split(' ')[4];
      if (m?.startsWith(`${dir}/`)) await run('umount', ['-l', m], { allowFail: true });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
