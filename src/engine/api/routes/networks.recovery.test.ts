/**
 * kill -9 of the engine with containers on a user network (root, real containers): published ports keep
 * answering while the engine is down (the datapath is the kernel's); after a restart names still resolve, the
 * host port is held again, and the sandbox of a container that died meanwhile is released (address and
 * namespace), with nothing left after rm.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEngine, type EngineHandle } from '../../../../test/engine';
import { cleanupRuntime, enginePid, pidsMatching, respawnEngine, until } from '../../containers/test-support';
import { NetworkManager } from '../../../network/manager';
import { httpGet, isRoot, portFree, waitFor } from '../../../network/testutil';

describe('networking across an engine crash (root, real containers)', { skip: !isRoot && 'needs root' }, () => {
  let engine: EngineHandle;
  let second: ChildProcess | undefined;
  let wired = false;
  const ok = async (...args: string[]) => {
    const r = await engine.docker(...args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };

  before(async () => {
    engine = await startEngine({ busybox: true });
    wired = (await engine.docker('network', 'ls')).code === 0;
  });

  after(async () => {
    if (!engine) return;
    await cleanupRuntime(engine).catch(() => undefined);
    const keep = mkdtempSync(path.join(os.tmpdir(), 'skiff-netkeep-'));
    if (existsSync(path.join(engine.dataDir, 'network'))) {
      cpSync(path.join(engine.dataDir, 'network'), path.join(keep, 'network'), { recursive: true });
    }
    if (second && second.exitCode === null) {
      second.kill('SIGTERM');
      await new Promise((r) => second!.once('exit', r));
    }
    await engine.stop();
    await NetworkManager.purge({ dataDir: path.join(keep, 'network'), runDir: path.join(keep, 'run') }).catch(() => undefined);
    rmSync(keep, { recursive: true, force: true });
  });

  it('keeps ports and names of running containers and frees what died while it was down', { timeout: 300_000 }, async (t) => {
    if (!wired) return t.skip('the engine does not serve /networks yet');
    await ok('network', 'create', '--subnet', '10.205.1.0/24', 'rnet');
    await ok(
      'run', '-d', '--name', 'web', '--network', 'rnet', '--network-alias', 'www', '-p', '127.0.0.1::80',
      'busybox', 'sh', '-c', 'mkdir -p /www && echo still here > /www/index.html && exec httpd -f -p 80 -h /www',
    );
    await ok('run', '-d', '--name', 'gone', '--network', 'rnet', 'busybox', 'sleep', '1000');
    const goneId = await ok('inspect', '-f', '{{.Id}}', 'gone');
    const goneIp = await ok('inspect', '-f', '{{(index .NetworkSettings.Networks "rnet").IPAddress}}', 'gone');
    assert.match(goneIp, /^10\.205\.1\.\d+$/);
    const port = Number(/:(\d+)/.exec(await ok('port', 'web', '80/tcp'))![1]);
    assert.equal((await waitFor(() => httpGet('127.0.0.1', port).catch(() => undefined), 'published port')).body, 'still here\n');

    process.kill(enginePid(engine.dataDir), 'SIGKILL');
    await until(() => pidsMatching(`engine --data-dir ${engine.dataDir}`).length === 0);
    // The engine is down: the published port still answers.
    assert.equal((await httpGet('127.0.0.1', port)).body, 'still here\n');
    // And one container dies meanwhile.
    execFileSync('runc', ['--root', path.join(engine.runDir, 'runc'), 'kill', goneId, 'KILL']);

    second = await respawnEngine(engine);
    assert.equal((await httpGet('127.0.0.1', port)).body, 'still here\n');
    const viaName = await waitFor(async () => {
      const x = await engine.docker('run', '--rm', '--network', 'rnet', 'busybox', 'wget', '-q', '-O', '-', 'http://www/');
      return x.code === 0 ? x.stdout : undefined;
    }, 'name resolution after the restart', 30_000);
    assert.equal(viaName, 'still here\n');
    // The host port is held again by the new engine.
    const dup = await engine.docker('run', '-d', '--name', 'dup', '-p', `127.0.0.1:${port}:80`, 'busybox', 'true');
    assert.match(dup.stderr, /port is already allocated/);
    await engine.docker('rm', '-f', 'dup');
    // The dead container's sandbox was released at start-up: namespace and address.
    assert.ok(await until(async () => !existsSync(path.join(engine.runDir, 'netns', goneId))), 'namespace of the dead container removed');
    const insp = JSON.parse(await ok('network', 'inspect', 'rnet'))[0];
    assert.equal(Object.values(insp.Containers as Record<string, { Name: string }>).some((c) => c.Name === 'gone'), false);
    const ipam = readdirSync(path.join(engine.dataDir, 'network', 'ipam')).flatMap((d) => readdirSync(path.join(engine.dataDir, 'network', 'ipam', d)));
    assert.ok(!ipam.includes(goneIp), `lease of ${goneIp} released`);

    await ok('rm', '-f', 'web', 'gone');
    assert.equal(await portFree('tcp', port, '127.0.0.1'), true);
    await ok('network', 'rm', 'rnet');
  });
});
