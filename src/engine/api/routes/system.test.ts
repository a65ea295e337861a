// The system endpoints through the real docker CLI: version (Engine details), info, events with --since/--until,
// and skiff's own client reaching the engine with a leading -H like docker's global flag.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startEngine, type EngineHandle } from '../../../../test/engine';

let engine: EngineHandle;
before(async () => {
  engine = await startEngine();
});
after(async () => {
  await engine?.stop();
});

test('docker version shows the Engine component with its details', async () => {
  const r = await engine.docker('version', '--format', '{{json .Server}}');
  assert.equal(r.code, 0, r.stderr);
  const server = JSON.parse(r.stdout);
  assert.equal(server.ApiVersion, '1.50');
  const details = server.Components[0].Details;
  assert.match(details.GoVersion, /^node\d+/);
  assert.equal(details.GitCommit, 'skiff');
  assert.ok(details.BuildTime);
});

test('docker info reports the engine, its runtime and an inactive swarm', async () => {
  const r = await engine.docker('info', '--format', '{{json .}}');
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.DefaultRuntime, 'runc');
  assert.equal(info.OSType, 'linux');
  assert.equal(info.Swarm.LocalNodeState, 'inactive');
  assert.equal(info.DockerRootDir, engine.dataDir);
});

test('docker events replays recorded events between --since and --until', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  assert.equal((await engine.docker('volume', 'create', 'evt-vol')).code, 0);
  const until = Math.floor(Date.now() / 1000) + 1;
  const r = await engine.docker('events', '--since', String(since), '--until', String(until), '--filter', 'type=volume', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}}');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^volume create evt-vol$/m);
  await engine.docker('volume', 'rm', 'evt-vol');
});

test('skiff -H unix://SOCKET VERB: a leading host flag selects the engine', async () => {
  const bin = path.resolve(__dirname, '../../../../../bin/skiff');
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [bin, '-H', engine.host, 'version', '--format', '{{.Server.APIVersion}}'], { env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent.sock' } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
  assert.equal(out.trim(), '1.50');
});
