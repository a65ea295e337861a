/**
 * NetworkManager against the real kernel and Debian's CNI plugins (root only): sandboxes on user networks
 * reach each other by IP and by name/alias, published TCP and UDP ports answer from the host, networks are
 * isolated from each other, --internal reaches nothing outside, conflicts leave nothing behind, and teardown
 * frees ports, addresses, interfaces and rules.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { NetworkManager } from './manager';
import { cniName } from './conflist';
import { run } from './exec';
import { buildResponse, parseQuery } from './dns/packet';
import type { NetworkRecord } from './model';
import {
  PEER_SERVER_JS,
  httpGet,
  inNetns,
  isRoot,
  killProc,
  makeOutsideNetns,
  natRulesMentioning,
  portFree,
  randomSuffix,
  removeOutsideNetns,
  spawnInNetns,
  tcpRead,
  udpRequest,
  waitFor,
} from './testutil';

// Subnets 10.201.0.0/16 belong to this file (other network test files use other ranges).
const SUB_A = '10.201.1.0/24';
const SUB_B = '10.201.2.0/24';
const SUB_I = '10.201.3.0/24';
const SUB_DEF = '10.201.4.0/24';
const OUT_HOST = '10.201.9.1';
const OUT_NS = '10.201.9.2';

describe('NetworkManager (root, real CNI)', { skip: !isRoot && 'needs root' }, () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-net-'));
  const sfx = randomSuffix();
  const outsideNs = path.join(tmp, 'outside');
  const outsideVeth = `skt${sfx}o`;
  const procs: ChildProcess[] = [];
  let upstream: dgram.Socket;
  let m: NetworkManager;
  let A: NetworkRecord, B: NetworkRecord, I: NetworkRecord;
  const ids = (s: string) => `${s}-${sfx}`;

  before(async () => {
    // A fake upstream resolver on loopback: forwarded queries must never leave the machine.
    upstream = dgram.createSocket('udp4');
    upstream.on('message', (msg, r) => {
      const q = parseQuery(msg);
      const answers = q.questions[0]?.name === 'outside.example' ? [{ address: '198.51.100.7', ttl: 60 }] : [];
      upstream.send(buildResponse(q, answers.length ? 0 : 3, answers), r.port, r.address);
    });
    await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
    m = await NetworkManager.open({
      dataDir: path.join(tmp, 'data'),
      runDir: path.join(tmp, 'run'),
      defaultBridge: `skiff${sfx}`,
      defaultSubnet: SUB_DEF,
      upstreamResolvers: [`127.0.0.1:${upstream.address().port}`],
    });
    A = await m.createNetwork({ name: ids('neta'), subnet: SUB_A, labels: { team: 'a' } });
    B = await m.createNetwork({ name: ids('netb'), subnet: SUB_B });
    I = await m.createNetwork({ name: ids('neti'), subnet: SUB_I, internal: true });
    await makeOutsideNetns(outsideNs, outsideVeth, OUT_HOST, OUT_NS, 24);
  });

  after(async () => {
    for (const p of procs) killProc(p);
    if (m) {
      for (const id of ['web', 'client', 'dup', 'busy', 'other', 'intern', 'dflt', 'static', 'static2', 'u1', 'u2']) await m.teardown(ids(id)).catch(() => undefined);
      await m.destroyAll().catch(() => undefined);
    }
    await removeOutsideNetns(outsideNs, outsideVeth);
    upstream?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('creates networks with their own bridge, gateway and Docker-shaped inspect data', async () => {
    const insp = m.inspectNetwork(A.name);
    assert.equal(insp.Driver, 'bridge');
    assert.equal(insp.Scope, 'local');
    assert.deepEqual(insp.IPAM.Config, [{ Subnet: SUB_A, Gateway: '10.201.1.1' }]);
    assert.deepEqual(insp.Labels, { team: 'a' });
    assert.equal(m.inspectNetwork(I.id).Internal, true);
    const addr = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', A.bridge]);
    assert.match(addr.stdout, /10\.201\.1\.1\/24/);
    const def = m.inspectNetwork('bridge');
    assert.equal(def.Options['com.docker.network.bridge.default_bridge'], 'true');
    assert.equal(m.listDockerNetworks({ label: ['team=a'] }).length, 1);
    await assert.rejects(m.createNetwork({ name: ids('overlap'), subnet: '10.201.1.128/25' }), /overlaps/);
    await assert.rejects(m.createNetwork({ name: A.name }), /already exists/);
    await assert.rejects(m.createNetwork({ name: ids('badgw'), subnet: '10.201.5.0/24', gateway: '10.9.9.9' }), /gateway/);
  });

  let webIp = '';
  let clientIp = '';
  let httpPort = 0;
  let udpPort = 0;

  it('sets up two sandboxes on a user network that reach each other by IP, name and alias', async () => {
    const web = await m.setup({
      id: ids('web'),
      name: ids('web'),
      hostname: 'webhost',
      endpoints: [{ network: A.name, aliases: ['www', 'site'] }],
      portBindings: [
        { containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 },
        { containerPort: 81, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0 },
        { containerPort: 5353, protocol: 'udp', hostIp: '', hostPort: 0 },
      ],
      extraHosts: ['db.local:10.1.2.3', 'hostgw:host-gateway'],
      dnsSearch: ['corp.example'],
    });
    assert.ok(existsSync(web.netnsPath));
    assert.equal(web.endpoints.length, 1);
    webIp = web.endpoints[0].ipAddress;
    assert.ok(webIp.startsWith('10.201.1.'));
    assert.equal(web.endpoints[0].gateway, '10.201.1.1');
    assert.match(web.resolvConf, /^nameserver 10\.201\.1\.1$/m);
    assert.match(web.resolvConf, /^search corp\.example$/m);
    assert.match(web.hostsFile, /^10\.1\.2\.3\tdb\.local$/m);
    assert.match(web.hostsFile, /^10\.201\.4\.1\thostgw$/m, 'host-gateway is the default bridge gateway');
    assert.match(web.hostsFile, new RegExp(`^${webIp.replace(/\./g, '\\.')}\\twebhost$`, 'm'));
    httpPort = web.ports.find((p) => p.containerPort === 80)!.hostPort;
    udpPort = web.ports.find((p) => p.protocol === 'udp')!.hostPort;
    assert.ok(httpPort > 0 && udpPort > 0);
    // Setup is idempotent per id.
    assert.deepEqual(await m.setup({ id: ids('web'), name: ids('web'), hostname: '', endpoints: [], portBindings: [] }), web);

    const client = await m.setup({ id: ids('client'), name: ids('client'), hostname: 'c', endpoints: [{ network: A.id }], portBindings: [] });
    clientIp = client.endpoints[0].ipAddress;
    assert.notEqual(clientIp, webIp);

    const ping = await inNetns(client.netnsPath, ['busybox', 'ping', '-c', '1', '-W', '5', webIp]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    for (const name of [ids('web'), 'www', 'site', `${ids('web')}.${A.name}`]) {
      const ns = await inNetns(client.netnsPath, ['busybox', 'nslookup', name, '10.201.1.1']);
      assert.match(ns.stdout, new RegExp(`Address:? *${webIp.replace(/\./g, '\\.')}`), `${name}: ${ns.stdout}${ns.stderr}`);
    }
    // Unknown names go to the upstream resolver (a fake one on loopback here).
    const fwd = await inNetns(client.netnsPath, ['busybox', 'nslookup', 'outside.example', '10.201.1.1']);
    assert.match(fwd.stdout, /198\.51\.100\.7/, fwd.stdout + fwd.stderr);
    const nx = await inNetns(client.netnsPath, ['busybox', 'nslookup', 'nothing.example', '10.201.1.1']);
    assert.doesNotMatch(nx.stdout, /198\.51\.100\.7/);

    const insp = m.inspectNetwork(A.name);
    assert.equal(insp.Containers[ids('web')].Name, ids('web'));
    assert.equal(insp.Containers[ids('web')].IPv4Address, `${webIp}/24`);
    assert.match(insp.Containers[ids('web')].MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  });

  it('publishes TCP and UDP ports on loopback and the host addresses, keeping the client address', async () => {
    const www = path.join(tmp, 'www');
    mkdirSync(www, { recursive: true });
    writeFileSync(path.join(www, 'index.html'), 'hello from skiff\n');
    const web = m.sandbox(ids('web'))!;
    procs.push(spawnInNetns(web.netnsPath, ['busybox', 'httpd', '-f', '-p', '80', '-h', www]));
    const peer = spawnInNetns(web.netnsPath, ['node', '-e', PEER_SERVER_JS, '81']);
    procs.push(peer);
    const peer5353 = spawnInNetns(web.netnsPath, ['node', '-e', PEER_SERVER_JS, '5353']);
    procs.push(peer5353);

    const res = await waitFor(() => httpGet('127.0.0.1', httpPort).catch(() => undefined), 'httpd via 127.0.0.1');
    assert.equal(res.body, 'hello from skiff\n');
    // Another address of the host (the gateway of network B is a local address).
    assert.equal((await httpGet(B.gateway, httpPort)).body, 'hello from skiff\n');
    // Straight to the container.
    assert.equal((await httpGet(webIp, 80)).body, 'hello from skiff\n');
    // From another sandbox on the same network through the host port (hairpin).
    const hp = await inNetns(m.sandbox(ids('client'))!.netnsPath, ['busybox', 'wget', '-q', '-O', '-', `http://10.201.1.1:${httpPort}/`]);
    assert.equal(hp.stdout, 'hello from skiff\n', hp.stderr);
    // From "outside" (a namespace behind a veth): DNAT in PREROUTING and the client's address is preserved.
    const portPeer81 = m.sandbox(ids('web'))!.ports.find((p) => p.containerPort === 81)!.hostPort;
    assert.match(await waitFor(() => tcpRead('127.0.0.1', portPeer81).catch(() => undefined), 'peer server'), /^peer=/);
    // Port 81 was published on 127.0.0.1 only: the outside cannot reach it; port 80 (all addresses) it can.
    const out81 = await inNetns(outsideNs, ['busybox', 'nc', '-w', '3', OUT_HOST, String(portPeer81)]);
    assert.doesNotMatch(out81.stdout, /peer=/, 'a port published on 127.0.0.1 is not reachable from outside');
    const out80 = await inNetns(outsideNs, ['busybox', 'wget', '-q', '-O', '-', `http://${OUT_HOST}:${httpPort}/`]);
    assert.equal(out80.stdout, 'hello from skiff\n', out80.stderr);
    // The operator's chain wins over skiff's accept rules: a DROP there closes the published port for outside clients.
    const userRule = ['SKIFF-USER', '-p', 'tcp', '-m', 'conntrack', '--ctorigdstport', String(httpPort), '-m', 'comment', '--comment', `test ${sfx}`, '-j', 'DROP'];
    await run('iptables', ['-w', '-I', ...userRule]);
    try {
      const closed = await inNetns(outsideNs, ['timeout', '5', 'busybox', 'wget', '-q', '-O', '-', `http://${OUT_HOST}:${httpPort}/`]);
      assert.notEqual(closed.stdout, 'hello from skiff\n', 'operator DROP in SKIFF-USER applies');
    } finally {
      await run('iptables', ['-w', '-D', ...userRule]);
    }
    const udpHost = m.sandbox(ids('web'))!.ports.find((p) => p.protocol === 'udp')!.hostPort;
    const echo = await waitFor(() => udpRequest('127.0.0.1', udpHost, 'ping').catch(() => undefined), 'udp echo');
    assert.match(echo, /^echo:ping from /);
    // UDP from outside keeps the source address (no masquerade for non-loopback clients).
    const outUdp = await inNetns(outsideNs, ['node', '-e', `
      const s = require('dgram').createSocket('udp4');
      s.on('message', (m) => { console.log(String(m)); process.exit(0); });
      s.send('hi', ${udpHost}, '${OUT_HOST}'); setTimeout(() => process.exit(3), 5000);`]);
    assert.equal(outUdp.stdout.trim(), `echo:hi from ${OUT_NS}`);
    // The rules are in the host firewall where an operator sees them.
    const dnat = await natRulesMentioning(`id: \\"${ids('web')}\\"`);
    assert.ok(dnat.length > 0, 'portmap rules visible in iptables-save');
  });

  it('refuses a host port that is taken, leaving nothing behind', async () => {
    await assert.rejects(
      m.setup({ id: ids('dup'), name: ids('dup'), hostname: '', endpoints: [{ network: A.name }], portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: httpPort }] }),
      (err: Error) => /Bind for 0\.0\.0\.0:\d+ failed: port is already allocated/.test(err.message),
    );
    // A port held by some other process on the host.
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '0.0.0.0', () => r()));
    const busyPort = (squatter.address() as net.AddressInfo).port;
    try {
      await assert.rejects(
        m.setup({ id: ids('busy'), name: ids('busy'), hostname: '', endpoints: [{ network: A.name }], portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: busyPort }] }),
        (err: Error & { code?: string }) => err.code === 'Conflict' && /port is already allocated/.test(err.message),
      );
    } finally {
      squatter.close();
    }
    // An address that is not the host's.
    await assert.rejects(
      m.setup({ id: ids('dup'), name: ids('dup'), hostname: '', endpoints: [{ network: A.name }], portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '203.0.113.77', hostPort: 0 }] }),
      (err: Error & { code?: string }) => err.code === 'InvalidArgument' && /203\.0\.113\.77/.test(err.message),
    );
    for (const id of ['dup', 'busy']) {
      assert.equal(existsSync(path.join(tmp, 'run', 'netns', ids(id))), false);
      assert.equal(m.sandbox(ids(id)), undefined);
      assert.deepEqual(await natRulesMentioning(`id: \\"${ids(id)}\\"`), []);
    }
    const leases = readdirSync(path.join(tmp, 'data', 'ipam', cniName(A))).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    assert.equal(leases.length, 2, `only web and client hold leases: ${leases}`);
  });

  it('isolates networks from each other and keeps --internal networks inside', async () => {
    const other = await m.setup({ id: ids('other'), name: ids('other'), hostname: '', endpoints: [{ network: B.name }], portBindings: [] });
    const intern = await m.setup({ id: ids('intern'), name: ids('intern'), hostname: '', endpoints: [{ network: I.name, aliases: ['secret'] }], portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 }] });
    assert.deepEqual(intern.ports, [], 'no ports published from an internal network');
    assert.equal(intern.endpoints[0].gateway, '');
    const listener = spawnInNetns(outsideNs, ['node', '-e', PEER_SERVER_JS, '7000']);
    procs.push(listener);
    const client = m.sandbox(ids('client'))!;
    // Control: a normal network reaches the outside listener (masqueraded through the host).
    const ok = await waitFor(async () => {
      const r = await inNetns(client.netnsPath, ['busybox', 'nc', '-w', '3', OUT_NS, '7000']);
      return r.stdout.startsWith('peer=') ? r.stdout : undefined;
    }, 'outside listener from a normal network');
    assert.equal(ok, `peer=${OUT_HOST}`);
    // The internal network reaches nothing outside its subnet.
    const blocked = await inNetns(intern.netnsPath, ['busybox', 'nc', '-w', '3', OUT_NS, '7000']);
    assert.doesNotMatch(blocked.stdout, /peer=/);
    const ping = await inNetns(intern.netnsPath, ['busybox', 'ping', '-c', '1', '-W', '2', OUT_NS]);
    assert.notEqual(ping.code, 0);
    // Not even another skiff network (no route, and the bridges are isolated).
    const toA = await inNetns(intern.netnsPath, ['busybox', 'ping', '-c', '1', '-W', '2', webIp]);
    assert.notEqual(toA.code, 0);
    // Two user networks do not reach each other even though the host routes both.
    const bToA = await inNetns(other.netnsPath, ['busybox', 'ping', '-c', '1', '-W', '2', webIp]);
    assert.notEqual(bToA.code, 0, 'network B must not reach network A');
    // But DNS on the internal network still answers its own names.
    const ns = await inNetns(intern.netnsPath, ['busybox', 'nslookup', 'secret', I.gateway]);
    assert.match(ns.stdout, new RegExp(intern.endpoints[0].ipAddress.replace(/\./g, '\\.')));
    // ...and forwards nothing upstream (DNS would otherwise be a way out).
    const leak = await inNetns(intern.netnsPath, ['busybox', 'nslookup', 'outside.example', I.gateway]);
    assert.doesNotMatch(leak.stdout, /198\.51\.100\.7/);
  });

  it('connects and disconnects a running sandbox', async () => {
    const ep = await m.connect(ids('client'), { network: B.name, aliases: ['cb'] });
    assert.ok(ep.ipAddress.startsWith('10.201.2.'));
    const client = m.sandbox(ids('client'))!;
    const otherIp = m.sandbox(ids('other'))!.endpoints[0].ipAddress;
    const ping = await inNetns(client.netnsPath, ['busybox', 'ping', '-c', '1', '-W', '5', otherIp]);
    assert.equal(ping.code, 0, ping.stdout);
    // The client's resolver (network A's gateway) now also knows names on B.
    const ns = await inNetns(client.netnsPath, ['busybox', 'nslookup', ids('other'), '10.201.1.1']);
    assert.match(ns.stdout, new RegExp(otherIp.replace(/\./g, '\\.')));
    await assert.rejects(m.connect(ids('client'), { network: B.name }), /already exists/);
    await assert.rejects(m.removeNetwork(B.name), /active endpoints/);
    await m.disconnect(ids('client'), B.name);
    const link = await inNetns(client.netnsPath, ['ip', 'link', 'show', 'eth1']);
    assert.notEqual(link.code, 0, 'eth1 removed');
    assert.equal(m.inspectNetwork(B.name).Containers[ids('client')], undefined);
  });

  it('honours a requested address and MAC, and refuses an address in use without leaving anything', async () => {
    const s1 = await m.setup({ id: ids('static'), name: ids('static'), hostname: '', endpoints: [{ network: B.name, ipv4Address: '10.201.2.200', macAddress: '02:42:0a:c9:02:c8' }], portBindings: [] });
    assert.equal(s1.endpoints[0].ipAddress, '10.201.2.200');
    assert.equal(s1.endpoints[0].macAddress, '02:42:0a:c9:02:c8');
    const link = await inNetns(s1.netnsPath, ['ip', '-o', 'link', 'show', 'eth0']);
    assert.match(link.stdout, /02:42:0a:c9:02:c8/);
    await assert.rejects(
      m.setup({ id: ids('static2'), name: ids('static2'), hostname: '', endpoints: [{ network: B.name, ipv4Address: '10.201.2.200' }], portBindings: [] }),
      (err: Error & { code?: string }) => err.code === 'Conflict' && /10\.201\.2\.200/.test(err.message),
    );
    assert.equal(existsSync(path.join(tmp, 'run', 'netns', ids('static2'))), false);
    await assert.rejects(
      m.setup({ id: ids('static3'), name: 'x', hostname: '', endpoints: [{ network: B.name, ipv4Address: '10.9.9.9' }], portBindings: [] }),
      /not in network/,
    );
    await m.teardown(ids('static'));
  });

  it('uses the host resolvers and no embedded DNS on the default bridge network', async () => {
    const d = await m.setup({ id: ids('dflt'), name: ids('dflt'), hostname: 'd', endpoints: [{ network: 'default' }], portBindings: [], dns: ['10.0.0.53'] });
    assert.ok(d.endpoints[0].ipAddress.startsWith('10.201.4.'));
    assert.match(d.resolvConf, /^nameserver 10\.0\.0\.53$/m);
    assert.doesNotMatch(d.resolvConf, /10\.201\.4\.1/);
    await assert.rejects(m.setup({ id: ids('x'), name: 'x', hostname: '', endpoints: [{ network: 'bridge', aliases: ['a'] }], portBindings: [] }), /user defined networks/);
    await m.teardown(ids('dflt'));
  });

  it('frees ports, addresses, interfaces and rules on teardown', async () => {
    const web = m.sandbox(ids('web'))!;
    const vethsBefore = (await run('ip', ['-o', 'link', 'show', 'master', A.bridge])).stdout.trim().split('\n').filter(Boolean).length;
    for (const p of procs.splice(0)) killProc(p);
    await m.teardown(ids('web'));
    await m.teardown(ids('web')); // twice is fine
    assert.equal(existsSync(web.netnsPath), false);
    assert.equal(await portFree('tcp', httpPort), true, 'tcp host port free again');
    assert.equal(await portFree('udp', udpPort), true, 'udp host port free again');
    assert.deepEqual(await natRulesMentioning(`id: \\"${ids('web')}\\"`), []);
    const leases = readdirSync(path.join(tmp, 'data', 'ipam', cniName(A)));
    assert.ok(!leases.includes(webIp), 'address released');
    await waitFor(async () => {
      const n = (await run('ip', ['-o', 'link', 'show', 'master', A.bridge])).stdout.trim().split('\n').filter(Boolean).length;
      return n === vethsBefore - 1;
    }, 'veth gone');
    // The address is not handed out again right away (host-local continues after the last one).
    const again = await m.setup({ id: ids('web'), name: ids('web'), hostname: '', endpoints: [{ network: A.name }], portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: httpPort }] });
    assert.equal(again.ports[0].hostPort, httpPort, 'the freed host port can be published again');
    await m.teardown(ids('web'));
  });

  // CNI portmap drops UDP conntrack entries of a port when it maps it (netlink; no conntrack tool needed).
  it('moves a busy UDP host port to a new container (stale conntrack entries are dropped)', async () => {
    const server = (tag: string) => `const u=require('dgram').createSocket('udp4');u.on('message',(m,r)=>u.send('${tag}:'+m,r.port,r.address));u.bind(53)`;
    const first = await m.setup({ id: ids('u1'), name: ids('u1'), hostname: '', endpoints: [{ network: A.name }], portBindings: [{ containerPort: 53, protocol: 'udp', hostIp: '', hostPort: 0 }] });
    const port = first.ports[0].hostPort;
    const p1 = spawnInNetns(first.netnsPath, ['node', '-e', server('one')]);
    procs.push(p1);
    // One client socket (fixed source port) that keeps talking across the switch, like a resolver would.
    const client = dgram.createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    const ask = (msg: string) =>
      new Promise<string | undefined>((resolve) => {
        const t = setTimeout(() => (client.removeAllListeners('message'), resolve(undefined)), 1000);
        client.once('message', (m) => (clearTimeout(t), resolve(String(m))));
        client.send(msg, port, '127.0.0.1');
      });
    try {
      assert.equal(await waitFor(() => ask('a'), 'first udp server'), 'one:a');
      killProc(p1);
      await m.teardown(ids('u1'));
      const second = await m.setup({ id: ids('u2'), name: ids('u2'), hostname: '', endpoints: [{ network: A.name }], portBindings: [{ containerPort: 53, protocol: 'udp', hostIp: '', hostPort: port }] });
      procs.push(spawnInNetns(second.netnsPath, ['node', '-e', server('two')]));
      assert.equal(await waitFor(() => ask('b'), 'second udp server on the same host port'), 'two:b');
    } finally {
      client.close();
      await m.teardown(ids('u2'));
    }
  });

  it('removes networks and prunes unused ones, with their bridges and rules', async () => {
    for (const id of ['client', 'other', 'intern']) await m.teardown(ids(id));
    await assert.rejects(m.removeNetwork('bridge'), /pre-defined/);
    await m.removeNetwork(A.name);
    assert.notEqual((await run('ip', ['link', 'show', A.bridge], { allowFail: true })).code, 0);
    const pruned = await m.pruneNetworks();
    assert.deepEqual(pruned.sort(), [B.name, I.name].sort());
    const filt = await run('iptables', ['-S', 'SKIFF-ISOLATION']);
    for (const n of [A, B, I]) assert.doesNotMatch(filt.stdout, new RegExp(`skiff:${n.id.slice(0, 12)}`));
    assert.deepEqual(m.listNetworks().map((n) => n.name), ['bridge']);
  });
});
