/**
 * The real docker CLI (28.2.2) against skiff's /networks routes over a real NetworkManager (root only):
 * network create/ls/inspect/rm/prune with --subnet/--gateway/--internal/--label, filters, and Docker's errors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Router } from '../router';
import { DockerApiServer } from '../server';
import { registerSystemRoutes } from './system';
import { registerNetworkRoutes } from './networks';
import { EventBus } from '../../events';
import { NetworkManager } from '../../../network/manager';
import { run } from '../../../network/exec';
import { isRoot, randomSuffix } from '../../../network/testutil';

describe('docker network CLI against skiff (root)', { skip: !isRoot && 'needs root' }, () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-netapi-'));
  const sock = path.join(tmp, 'docker.sock');
  const sfx = randomSuffix();
  let m: NetworkManager;
  let server: DockerApiServer;
  const events = new EventBus();
  const docker = (...args: string[]) =>
    run('docker', args, { allowFail: true, env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: tmp }, timeoutMs: 60_000 });

  before(async () => {
    m = await NetworkManager.open({
      dataDir: path.join(tmp, 'data'),
      runDir: path.join(tmp, 'run'),
      defaultBridge: `skiff${sfx}`,
      defaultSubnet: '10.203.0.0/24',
      upstreamResolvers: [],
    });
    const router = new Router();
    registerSystemRoutes(router, {
      events,
      dataDir: tmp,
      runtimePath: '/usr/sbin/runc',
      counts: () => ({ containers: { total: 0, running: 0, paused: 0, stopped: 0 }, images: 0 }),
    });
    registerNetworkRoutes(router, {
      networks: m,
      emit: (action, n) => events.publish('network', action, n.id, { name: n.name, type: n.type }),
    });
    server = new DockerApiServer(router);
    await server.listen({ socketPath: sock });
  });

  after(async () => {
    await server?.close();
    if (m) {
      await m.destroyAll().catch(() => undefined);
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it('creates, lists, filters, inspects and removes networks', async () => {
    const name = `app${sfx}`;
    const c = await docker('network', 'create', '--subnet', '10.203.1.0/24', '--gateway', '10.203.1.254', '--label', 'tier=web', name);
    assert.equal(c.code, 0, c.stderr);
    const id = c.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const internal = await docker('network', 'create', '--internal', `priv${sfx}`);
    assert.equal(internal.code, 0, internal.stderr);

    const ls = await docker('network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}');
    assert.equal(ls.code, 0, ls.stderr);
    const lines = ls.stdout.trim().split('\n');
    assert.ok(lines.includes('bridge bridge local'), ls.stdout);
    assert.ok(lines.includes(`${name} bridge local`), ls.stdout);

    const filtered = await docker('network', 'ls', '-q', '--no-trunc', '--filter', 'label=tier=web');
    assert.equal(filtered.stdout.trim(), id);
    const builtin = await docker('network', 'ls', '--filter', 'type=builtin', '--format', '{{.Name}}');
    assert.equal(builtin.stdout.trim(), 'bridge');

    const insp = await docker('network', 'inspect', name);
    assert.equal(insp.code, 0, insp.stderr);
    const [obj] = JSON.parse(insp.stdout);
    assert.equal(obj.Id, id);
    assert.equal(obj.Internal, false);
    assert.deepEqual(obj.IPAM.Config, [{ Subnet: '10.203.1.0/24', Gateway: '10.203.1.254' }]);
    assert.deepEqual(obj.Labels, { tier: 'web' });
    const fmt = await docker('network', 'inspect', '-f', '{{.Internal}} {{(index .IPAM.Config 0).Subnet}}', `priv${sfx}`);
    assert.match(fmt.stdout.trim(), /^true \d+\.\d+\.\d+\.\d+\/\d+$/);
    // The generic `docker inspect` finds networks too.
    assert.equal((await docker('inspect', '--type', 'network', '-f', '{{.Name}}', id.slice(0, 12))).stdout.trim(), name);

    const dup = await docker('network', 'create', name);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, new RegExp(`network with name ${name} already exists`));
    const overlap = await docker('network', 'create', '--subnet', '10.203.1.0/25', `ov${sfx}`);
    assert.match(overlap.stderr, /overlaps/);

    const rmDefault = await docker('network', 'rm', 'bridge');
    assert.notEqual(rmDefault.code, 0);
    assert.match(rmDefault.stderr, /pre-defined network/);

    const rm = await docker('network', 'rm', name);
    assert.equal(rm.code, 0, rm.stderr);
    const gone = await docker('network', 'inspect', name);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /not found/);
  });

  it('prunes unused networks', async () => {
    await docker('network', 'create', '--label', 'keep=1', `keep${sfx}`);
    await docker('network', 'create', `junk${sfx}`);
    const p = await docker('network', 'prune', '-f', '--filter', 'label!=keep=1');
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, new RegExp(`junk${sfx}`));
    assert.doesNotMatch(p.stdout, new RegExp(`keep${sfx}`));
    const names = (await docker('network', 'ls', '--format', '{{.Name}}')).stdout.trim().split('\n').sort();
    assert.deepEqual(names, ['bridge', `keep${sfx}`].sort());
  });
});
