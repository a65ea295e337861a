/**
 * Networking end to end with real containers and the real docker CLI (root): two containers on a user network
 * reach each other by name and alias; `docker run -p` with busybox httpd answers from the host; a UDP port
 * works; a container on an --internal network reaches nothing outside (a listener in a namespace this test
 * makes, never an outside address); a taken port is refused; after rm the port and the address are free.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as os from 'node:os';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { startEngine, type EngineHandle } from '../../../../test/engine';
import { NetworkManager } from '../../../network/manager';
import {
  PEER_SERVER_JS,
  httpGet,
  isRoot,
  killProc,
  makeOutsideNetns,
  portFree,
  randomSuffix,
  removeOutsideNetns,
  spawnInNetns,
  udpRequest,
  waitFor,
} from '../../../network/testutil';

// 10.204.0.0/16 belongs to this file.
const OUT_HOST = '10.204.9.1';
const OUT_NS = '10.204.9.2';

describe('docker networking end to end (root, real containers)', { skip: !isRoot && 'needs root' }, () => {
  let engine: EngineHandle;
  const sfx = randomSuffix();
  const outsideVeth = `skt${sfx}e`;
  let outsideNs = '';
  let listener: ChildProcess | undefined;
  let wired = false;
  const docker = (...args: string[]) => engine.docker(...args);
  const ok = async (...args: string[]) => {
    const r = await docker(...args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}\n${engine.log().slice(-2000)}`);
    return r.stdout.trim();
  };

  before(async () => {
    engine = await startEngine({ busybox: true });
    // Until the daemon wires networking in (see /work/notes/network-notes.md) the engine has no /networks.
    const probe = await engine.docker('network', 'ls');
    wired = probe.code === 0;
    outsideNs = path.join(engine.runDir, `outside-${sfx}`);
    await makeOutsideNetns(outsideNs, outsideVeth, OUT_HOST, OUT_NS, 24);
    listener = spawnInNetns(outsideNs, ['node', '-e', PEER_SERVER_JS, '7000']);
  });

  after(async () => {
    killProc(listener);
    if (engine) {
      await engine.docker('rm', '-f', 'web', 'udp', 'dup').catch(() => undefined);
      await removeOutsideNetns(outsideNs, outsideVeth);
      // stop() removes the temp dir: keep the network records to release bridges and rules afterwards.
      const keep = mkdtempSync(path.join(os.tmpdir(), 'skiff-netkeep-'));
      if (existsSync(path.join(engine.dataDir, 'network'))) {
        cpSync(path.join(engine.dataDir, 'network'), path.join(keep, 'network'), { recursive: true });
      }
      await engine.stop();
      await NetworkManager.purge({ dataDir: path.join(keep, 'network'), runDir: path.join(keep, 'run') }).catch(() => undefined);
      rmSync(keep, { recursive: true, force: true });
    }
  });

  let webIp = '';
  let webPort = 0;

  it('two containers on a user network reach each other by name and alias; -p answers from the host', async (t) => {
    if (!wired) return t.skip('the engine does not serve /networks yet (networking not wired into the daemon)');
    await ok('network', 'create', '--subnet', '10.204.1.0/24', 'appnet');
    await ok(
      'run', '-d', '--name', 'web', '--network', 'appnet', '--network-alias', 'www', '-p', '127.0.0.1::80', '-p', '80',
      'busybox', 'sh', '-c', 'mkdir -p /www && echo hello from web > /www/index.html && exec httpd -f -p 80 -h /www',
    );
    webIp = await ok('inspect', '-f', '{{(index .NetworkSettings.Networks "appnet").IPAddress}}', 'web');
    assert.match(webIp, /^10\.204\.1\.\d+$/);

    for (const name of ['web', 'www']) {
      const r = await waitFor(async () => {
        const x = await docker('run', '--rm', '--network', 'appnet', 'busybox', 'wget', '-q', '-O', '-', `http://${name}/`);
        return x.code === 0 ? x : undefined;
      }, `wget http://${name}/ from another container`, 30_000);
      assert.equal(r.stdout, 'hello from web\n');
    }
    const ns = await ok('run', '--rm', '--network', 'appnet', 'busybox', 'nslookup', 'www');
    assert.match(ns, new RegExp(webIp.replace(/\./g, '\\.')));

    const port = await ok('port', 'web', '80/tcp');
    const loop = /127\.0\.0\.1:(\d+)/.exec(port);
    assert.ok(loop, port);
    webPort = Number(loop[1]);
    const res = await waitFor(() => httpGet('127.0.0.1', webPort).catch(() => undefined), 'published port');
    assert.equal(res.body, 'hello from web\n');
    // `-p 80` publishes on all host addresses: reachable from the outside namespace via the host.
    const all = /0\.0\.0\.0:(\d+)/.exec(port);
    assert.ok(all, port);
    const ps = await ok('ps', '--filter', 'name=web', '--format', '{{.Ports}}');
    assert.match(ps, new RegExp(`127\\.0\\.0\\.1:${webPort}->80/tcp`));
  });

  it('-P publishes every EXPOSEd port on an ephemeral host port', async (t) => {
    if (!wired) return t.skip('the engine does not serve /networks yet');
    await ok(
      'run', '-d', '--name', 'pall', '-P', '--expose', '8081', '--expose', '8082/udp',
      'busybox', 'sh', '-c', 'mkdir -p /www && echo all ports > /www/index.html && exec httpd -f -p 8081 -h /www',
    );
    try {
      const port = await ok('port', 'pall');
      const tcp = /^8081\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(port);
      assert.ok(tcp, port);
      assert.match(port, /^8082\/udp -> 0\.0\.0\.0:\d+$/m);
      const res = await waitFor(() => httpGet('127.0.0.1', Number(tcp[1])).catch(() => undefined), '-P port');
      assert.equal(res.body, 'all ports\n');
      // --network container:NAME shares that container's namespace: its server is on our loopback.
      const shared = await ok('run', '--rm', '--network', 'container:pall', 'busybox', 'wget', '-q', '-O', '-', 'http://127.0.0.1:8081/');
      assert.equal(shared, 'all ports');
    } finally {
      await docker('rm', '-f', 'pall');
    }
  });

  it('--hostname, --add-host and --dns shape the container\'s /etc files', async (t) => {
    if (!wired) return t.skip('the engine does not serve /networks yet');
    const out = await ok(
      'run', '--rm', '--hostname', 'myhost', '--add-host', 'db.example:10.1.2.3', '--dns', '10.9.9.9', '--dns-search', 'corp.example',
      'busybox', 'sh', '-c', 'hostname; cat /etc/hosts; cat /etc/resolv.conf',
    );
    assert.match(out, /^myhost$/m);
    assert.match(out, /^10\.1\.2\.3\s+db\.example$/m);
    assert.match(out, /^nameserver 10\.9\.9\.9$/m);
    assert.match(out, /^search corp\.example$/m);
  });

  it('connects and disconnects a running container', async (t) => {
    if (!wired) return t.skip('the engine does not serve /networks yet (networking not wired into the daemon)');
    await ok('network', 'create', '--subnet', '10.204.3.0/24', 'sidenet');
    const insp = JSON.parse(await ok('network', 'inspect', 'appnet'))[0];
    const entry = Object.values(insp.Containers as Record<string, { Name: string; IPv4Address: string }>).find((c) => c.Name === 'web');
    assert.equal(entry?.IPv4Address, `${webIp}/24`);
    await ok('network', 'connect', '--alias', 'side-web', 'sidenet', 'web');
    const viaAlias = await waitFor(async () => {
      const x = await docker('run', '--rm', '--network', 'sidenet', 'busybox', 'wget', '-q', '-O', '-', 'http://side-web/');
      return x.code === 0 ? x.stdout : undefined;
    }, 'web through its new network', 30_000);
    assert.equal(viaAlias, 'hello from web\n');
    await ok('network', 'disconnect', 'sidenet', 'web');
    const after = await docker('run', '--rm', '--network', 'sidenet', 'busybox', 'nslookup', 'side-web');
    assert.doesNotMatch(after.stdout, /Address: 10\.204\.3\./);
    await ok('network', 'rm', 'sidenet');
  });

  it('a published UDP port works', async (t) => {
    if (!wired) return t.skip('the engine does not serve /networks yet (networking not wired into the daemon)');
    // busybox has no UDP server applet: run the host's node in the container's namespaces through a read-only
    // bind mount of / (the datapath under test is the container's network namespace and the published port).
    const echo = "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('echo:'+m,r.port,r.address));s.bind(5353)";
    await ok('run', '-d', '--name', 'udp', '-p', '127.0.0.1::5353/udp', '-v', '/:/host:ro', 'busybox', 'chroot', '/host', process.execPath, '-e', echo);
    const port = Number(/:(\d+)/.exec(await ok('port', 'udp', '5353/udp'))![1]);
    const reply = await waitFor(() => udpRequest('127.0.0.1', port, `ping-${sfx}`, 2000).catch(() => undefined), 'udp echo', 30_000);
    assert.equal(reply, `echo:ping-${sfx}`);
  });

  it('an --internal network reaches nothing outside it', async (t) => {
    if (!wired) return t.skip('the engine does not serve /networks yet (networking not wired into the daemon)');
    await ok('network', 'create', '--internal', '--subnet', '10.204.2.0/24', 'privnet');
    // Control: from a normal network the listener answers (proves the check below can see a success).
    const control = await waitFor(async () => {
      const r = await docker('run', '--rm', '--network', 'appnet', 'busybox', 'nc', '-w', '3', OUT_NS, '7000');
      return r.stdout.startsWith('peer=') ? r.stdout : undefined;
    }, 'outside listener from appnet', 30_000);
    assert.match(control, /^peer=/);
    const blocked = await docker('run', '--rm', '--network', 'privnet', 'busybox', 'nc', '-w', '3', OUT_NS, '7000');
    assert.doesNotMatch(blocked.stdout, /peer=/);
    const toWeb = await docker('run', '--rm', '--network', 'privnet', 'busybox', 'ping', '-c', '1', '-W', '2', webIp);
    assert.notEqual(toWeb.code, 0, 'no way to another network either');
  });

  it('refuses a host port that is taken and frees port and address on rm', async (t) => {
    if (!wired) return t.skip('the engine does not serve /networks yet (networking not wired into the daemon)');
    const dup = await docker('run', '-d', '--name', 'dup', '-p', `127.0.0.1:${webPort}:80`, 'busybox', 'sleep', '60');
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /port is already allocated/);
    await docker('rm', '-f', 'dup');

    await ok('rm', '-f', 'web');
    assert.equal(await portFree('tcp', webPort, '127.0.0.1'), true, 'host port free after rm');
    const insp = JSON.parse(await ok('network', 'inspect', 'appnet'))[0];
    assert.deepEqual(insp.Containers, {});
    // The port can be published again at once.
    await ok('run', '-d', '--name', 'dup', '-p', `127.0.0.1:${webPort}:80`, 'busybox', 'sleep', '60');
    await ok('rm', '-f', 'dup');
    await ok('rm', '-f', 'udp');
    await ok('network', 'rm', 'appnet', 'privnet');
  });
});
