/**
 * kill -9 of the engine while containers run: conmon keeps them running; a new engine on the same
 * directories re-adopts them (stop works, logs continue, exit codes recorded), records what exited while it
 * was down, restarts `always` containers, and leaks no runc state, mounts or cgroups.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startEngine, type EngineHandle, type DockerResult } from '../../../test/engine';
import { cleanupRuntime, enginePid, leftoverCgroups, mountsUnder, respawnEngine, runcIds, until, pidsMatching } from './test-support';

let engine: EngineHandle;
let second: ChildProcess | undefined;

before(async () => {
  engine = await startEngine({ busybox: true });
});

after(async () => {
  if (engine) await cleanupRuntime(engine);
  if (second && second.exitCode === null) {
    second.kill('SIGTERM');
    await new Promise((r) => second!.once('exit', r));
  }
  await engine?.stop();
});

function ok(r: DockerResult): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

test('kill -9 of the engine: running containers stay running and managed, exits are recorded', { timeout: 300_000 }, async () => {
  const d = engine.docker;
  const inspect = async (name: string, fmt: string) => ok(await d('inspect', '-f', fmt, name)).trim();
  ok(await d('run', '-d', '--name', 'r1', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'));
  ok(await d('run', '-d', '--name', 'alw', '--restart', 'always', 'busybox', 'sleep', '1000'));
  const ex = await d('run', '--name', 'ex1', 'busybox', 'sh', '-c', 'echo bye; exit 7');
  assert.equal(ex.code, 7);
  ok(await d('run', '-d', '--name', 'dies', 'busybox', 'sh', '-c', 'trap "echo late; exit 9" TERM; while true; do sleep 0.1; done'));
  ok(await d('run', '-d', '-i', '--name', 'stdin', 'busybox', 'sh', '-c', 'read x; echo got-$x'));
  const r1Pid = await inspect('r1', '{{.State.Pid}}');
  const alwPid = await inspect('alw', '{{.State.Pid}}');

  process.kill(enginePid(engine.dataDir), 'SIGKILL');
  await until(() => pidsMatching(`engine --data-dir ${engine.dataDir}`).length === 0);

  // While the engine is down: one container exits by itself, one `always` container is killed.
  const runc = (...args: string[]) => require('node:child_process').execFileSync('runc', ['--root', path.join(engine.runDir, 'runc'), ...args]);
  const diesId = (await import('node:fs')).readdirSync(path.join(engine.dataDir, 'containers')).find((id) => {
    const rec = JSON.parse(require('node:fs').readFileSync(path.join(engine.dataDir, 'containers', id, 'config.v2.json'), 'utf8'));
    return rec.Name === '/dies';
  })!;
  runc('kill', diesId, 'TERM');
  process.kill(Number(alwPid), 'SIGKILL');
  // r1 is still running under conmon.
  process.kill(Number(r1Pid), 0);

  second = await respawnEngine(engine);

  assert.equal(await inspect('r1', '{{.State.Status}} {{.State.Pid}}'), `running ${r1Pid}`);
  const before_ = ok(await d('logs', 'r1')).split('\n').length;
  await until(async () => ok(await d('logs', 'r1')).split('\n').length > before_ + 2);
  assert.equal(await inspect('ex1', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 7');
  assert.equal(ok(await d('logs', 'ex1')), 'bye\n');
  assert.equal(ok(await d('logs', 'dies')), 'late\n');
  // adoption runs in the background once the engine serves: poll
  assert.ok(await until(async () => (await inspect('dies', '{{.State.Status}} {{.State.ExitCode}}')) === 'exited 9'));
  // the always container came back
  assert.ok(await until(async () => (await inspect('alw', '{{.State.Running}}')) === 'true' && (await inspect('alw', '{{.State.Pid}}')) !== alwPid));
  // stdin of an adopted container still works (conmon's attach socket)
  const fed = await engine.sh(`echo hello | docker attach stdin`);
  assert.equal(fed.code, 0, fed.stderr);
  assert.ok(await until(async () => ok(await d('logs', 'stdin')).includes('got-hello')));
  // adopted containers are managed: stop records the exit code
  ok(await d('stop', 'r1'));
  assert.equal(await inspect('r1', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 0');
  ok(await d('rm', '-f', 'r1', 'alw', 'ex1', 'dies', 'stdin'));
  // Removal finishes runtime cleanup in the background: poll, then show what is left if anything.
  await until(() => runcIds(engine.runDir).length + mountsUnder(path.join(engine.runDir, 'c')).length + leftoverCgroups(engine.runDir).length === 0);
  assert.deepEqual(runcIds(engine.runDir), []);
  assert.deepEqual(mountsUnder(path.join(engine.runDir, 'c')), []);
  assert.deepEqual(leftoverCgroups(engine.runDir), []);
});
