/**
 * End to end: `skiff <verb>` against a real `skiff engine`, checked against the real docker CLI 28 on the same
 * engine. Where the output is deterministic the two must match byte for byte (with "docker" read as
 * "skiff"); stateful flows check behaviour (exit codes, streams, objects seen by the other client).
 * Needs root (runc, mounts), like every engine test.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startEngine, type EngineHandle, type DockerResult } from '../../../test/engine';

const SKIFF = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'skiff');
const isRoot = process.getuid?.() === 0;

let engine: EngineHandle;
let tmp: string;

function runProc(cmd: string, args: string[], input?: string | Buffer, extraEnv: NodeJS.ProcessEnv = {}): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, DOCKER_HOST: engine.host, DOCKER_CONFIG: path.join(tmp, 'dc'), ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    // A hung client must fail the test, not the suite: SIGKILL (docker forwards SIGTERM to the container).
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 + os.constants.signals[signal] : -1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

const skiff = (...args: string[]) => runProc(process.execPath, [SKIFF, ...args]);
const skiffIn = (input: string | Buffer, ...args: string[]) => runProc(process.execPath, [SKIFF, ...args], input);
const docker = (...args: string[]) => runProc('docker', args);

// The client's own name in docker's messages ("docker: ...", "Usage:  docker ps", "Run 'docker ps --help'"),
// not the daemon's words ("may require 'docker login'").
const norm = (s: string) =>
  s
    .replace(/^docker: 'docker /gm, "skiff: 'skiff ")
    .replace(/^docker:/gm, 'skiff:')
    .replace(/(Usage: {2}|Run '|See ')docker /g, '$1skiff ');

/** Runs the same argv with both clients and asserts identical stdout, stderr and exit code. */
async function same(...args: string[]): Promise<DockerResult> {
  const d = await docker(...args);
  const s = await skiff(...args);
  const ctx = `skiff ${args.join(' ')}\n--- docker:\n${d.stdout}${d.stderr}\n--- skiff:\n${s.stdout}${s.stderr}`;
  assert.equal(s.stdout, norm(d.stdout), `stdout differs: ${ctx}`);
  assert.equal(s.stderr, norm(d.stderr), `stderr differs: ${ctx}`);
  assert.equal(s.code, d.code, `exit code differs: ${ctx}`);
  return s;
}

async function ok(...args: string[]): Promise<DockerResult> {
  const r = await skiff(...args);
  assert.equal(r.code, 0, `skiff ${args.join(' ')} failed (${r.code}):\n${r.stdout}${r.stderr}\n${engine.log().slice(-2000)}`);
  return r;
}

before(async () => {
  if (!isRoot) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-cli-'));
  engine = await startEngine({ busybox: true });
});

after(async () => {
  if (!isRoot) return;
  // Leave nothing running: remove every container the tests made, then stop the engine.
  const ids = (await skiff('ps', '-aq')).stdout.split('\n').filter(Boolean);
  if (ids.length) await skiff('rm', '-f', ...ids);
  await engine.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const opts = { skip: isRoot ? false : 'needs root (runc)', timeout: 300_000 };

test('version and info talk to the engine', opts, async () => {
  const v = await ok('version');
  assert.match(v.stdout, /^Client:\n Version: /);
  assert.match(v.stdout, /\nServer: skiff\n Engine:\n  Version: +28\.2\.2-skiff\n  API version: +1\.50 \(minimum version/);
  // The server half is printed from the same fields docker reads.
  const d = await docker('version');
  assert.equal(v.stdout.slice(v.stdout.indexOf('\nServer:')), d.stdout.slice(d.stdout.indexOf('\nServer:')));
  await same('version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}');
  await same('info', '--format', '{{.Name}} {{.OSType}} {{json .Plugins.Volume}}');
  const i = await ok('info');
  assert.match(i.stdout, /\nServer:\n Containers: \d+\n  Running: \d+/);
});

test('usage errors look like docker', opts, async () => {
  for (const argv of [
    ['run'],
    ['run', '--foo', 'x'],
    ['run', '-z', 'x'],
    ['run', '-e'],
    ['run', '--memory', '12q', 'busybox'],
    ['run', '--cpus', 'abc', 'busybox'],
    ['run', '--rm=maybe', 'busybox'],
    ['ps', '--foo'],
    ['ps', 'extra'],
    ['stop'],
    ['rename', 'a'],
    ['logs', 'a', 'b'],
    ['port', 'a', 'b', 'c'],
    ['load', 'x'],
    ['exec', 'a'],
    ['volume', 'create', '--foo'],
    ['network', 'connect', 'a'],
  ]) {
    await same(...argv);
  }
});

test('image verbs: images, history, inspect, tag, rmi, save/load, import', opts, async () => {
  await same('images');
  await same('images', '--format', 'json');
  await same('images', '-q', '--no-trunc');
  await same('history', 'busybox');
  await same('history', '--no-trunc', '--format', '{{.ID}} {{.CreatedBy}}', 'busybox');
  await same('inspect', 'busybox');
  await same('image', 'inspect', '-f', '{{.Os}}/{{.Architecture}} {{json .Config.Cmd}}', 'busybox');
  await same('inspect', 'nope');
  await same('image', 'inspect', 'nope');
  await same('rmi', 'nope1', 'nope2');

  await ok('tag', 'busybox', 'skiff-cli/bb:v1');
  assert.match((await docker('images', 'skiff-cli/bb')).stdout, /skiff-cli\/bb +v1 /);
  await same('images', 'skiff-cli/bb');

  const tar = path.join(tmp, 'bb.tar');
  await ok('save', '-o', tar, 'skiff-cli/bb:v1');
  assert.ok(fs.statSync(tar).size > 100_000);
  const rmi = await ok('rmi', 'skiff-cli/bb:v1');
  assert.equal(rmi.stdout, 'Untagged: skiff-cli/bb:v1\n');
  const load = await ok('load', '-i', tar);
  assert.equal(load.stdout, 'Loaded image: skiff-cli/bb:v1\n');
  await ok('rmi', 'skiff-cli/bb:v1');

  // import of a rootfs tarball (stdin), then run from it.
  const rootfs = path.join(tmp, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  fs.symlinkSync('busybox', path.join(rootfs, 'bin', 'sh'));
  fs.symlinkSync('busybox', path.join(rootfs, 'bin', 'echo'));
  const rtar = path.join(tmp, 'rootfs.tar');
  const t = await runProc('tar', ['-C', rootfs, '-cf', rtar, '.']);
  assert.equal(t.code, 0, t.stderr);
  const imp = await skiffIn(fs.readFileSync(rtar), 'import', '-', 'skiff-cli/imported:1');
  assert.equal(imp.code, 0, imp.stderr);
  assert.match(imp.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const r = await ok('run', '--rm', 'skiff-cli/imported:1', '/bin/echo', 'from-import');
  assert.equal(r.stdout, 'from-import\n');
  await ok('rmi', 'skiff-cli/imported:1');
});

test('run attached: streams, exit codes, flags, stdin, --rm', opts, async () => {
  await same('run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3');
  await same('run', '--rm', '-e', 'A=1', '-w', '/tmp', '-u', '1000:1000', 'busybox', 'sh', '-c', 'echo $A; pwd; id -u; id -g');
  await same('run', '--rm', '--entrypoint', 'echo', 'busybox', 'hello', 'world');
  await same('run', '--rm', '-m', '64m', 'busybox', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes');
  await same('run', '--rm', '--restart', 'always', 'busybox', 'true');
  await same('run', '--rm', 'nope:1', 'true');

  const big = await ok('run', '--rm', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done');
  assert.equal(big.stdout.split('\n').length, 20001);
  assert.equal(big.stdout.split('\n')[19999], 'line-19999');

  const piped = await skiffIn('a\nb\nc\n', 'run', '--rm', '-i', 'busybox', 'sh', '-c', 'wc -l; echo done >&2');
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stdout.trim(), '3');
  assert.equal(piped.stderr, 'done\n');

  const named = await skiff('run', '--name', 'skiff-cli-once', 'busybox', 'sh', '-c', 'exit 7');
  assert.equal(named.code, 7);
  await same('inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.Name}}', 'skiff-cli-once');
  await same('run', '--name', 'skiff-cli-once', 'busybox', 'true'); // name conflict: 125 from both
  await ok('rm', 'skiff-cli-once');

  // --rm leaves nothing behind.
  const before = (await skiff('ps', '-aq', '--no-trunc')).stdout;
  await ok('run', '--rm', 'busybox', 'true');
  assert.equal((await skiff('ps', '-aq', '--no-trunc')).stdout, before);
});

test('run/create flags become the same container config as docker makes', opts, async () => {
  const flags = [
    '-e', 'A=1', '-e', 'HOME', '-l', 'x=y', '-w', '/tmp', '-u', '1000', '--entrypoint', 'sh', '-m', '64m', '--memory-swap', '128m',
    '--cpus', '0.5', '-c', '512', '--pids-limit', '50', '-p', '8080:80', '-p', '127.0.0.1:9090:90/udp', '--expose', '7000',
    '--restart', 'on-failure:3', '--health-cmd', 'true', '--health-interval', '2s', '--health-retries', '2',
    '--cap-add', 'net_admin', '--cap-drop', 'MKNOD', '--read-only', '--tmpfs', '/run:size=1m', '--security-opt', 'no-new-privileges',
    '--stop-signal', 'SIGUSR1', '--stop-timeout', '5', '--hostname', 'hh', '--init', '-v', `${tmp}:/hosttmp:ro`, '-v', 'skiff-cli-v1:/data',
    '--network', 'none', '--ulimit', 'nofile=100:200', '--add-host', 'a:1.2.3.4', '--dns', '1.1.1.1', '--shm-size', '8m',
    '--log-opt', 'max-size=1m', '-t', '-i',
  ];
  const d = await docker('create', '--name', 'skiff-cli-cd', ...flags, 'busybox', '-c', 'echo hi');
  assert.equal(d.code, 0, d.stderr);
  await ok('create', '--name', 'skiff-cli-cs', ...flags, 'busybox', '-c', 'echo hi');
  for (const k of ['Config', 'HostConfig', 'NetworkSettings']) {
    const a = JSON.parse((await ok('inspect', '-f', `{{json .${k}}}`, 'skiff-cli-cd')).stdout);
    const b = JSON.parse((await ok('inspect', '-f', `{{json .${k}}}`, 'skiff-cli-cs')).stdout);
    // The docker CLI fills Binds by ranging over a Go map (and its Env order has been seen to vary too), so
    // their order is not deterministic even between two docker runs: compare those lists as sets.
    for (const o of [a, b]) for (const list of ['Binds', 'Env']) if (Array.isArray(o[list])) o[list].sort();
    assert.deepEqual(b, a, k);
  }
  await ok('rm', '-v', 'skiff-cli-cd', 'skiff-cli-cs');
  await ok('volume', 'rm', 'skiff-cli-v1');

  // --cidfile: written after create; an existing file is refused before anything is created.
  const cid = path.join(tmp, 'cid');
  const r = await ok('run', '--cidfile', cid, '--rm', 'busybox', 'true');
  assert.match(fs.readFileSync(cid, 'utf8'), /^[0-9a-f]{64}$/);
  assert.equal(r.stdout, '');
  await same('run', '--cidfile', cid, '--rm', 'busybox', 'true');
});

test('detached container: ps, logs, exec, inspect, stats, top, stop, rm', opts, async () => {
  const d = await ok('run', '-d', '--name', 'skiff-cli-web', '-e', 'GREETING=hi', 'busybox', 'sh', '-c', 'echo started; echo warn >&2; while true; do sleep 1; done');
  assert.match(d.stdout, /^[0-9a-f]{64}\n$/);
  const id = d.stdout.trim();

  await same('ps', '--filter', 'name=skiff-cli-web', '--format', '{{.ID}} {{.Image}} {{.Command}} {{.Names}} {{.State}}');
  await same('ps', '-q', '--filter', 'name=skiff-cli-web');
  await same('ps', '-a', '--no-trunc', '--filter', `id=${id}`, '--format', 'table {{.ID}}\t{{.Names}}\t{{.State}}');
  const table = await ok('ps', '--filter', 'name=skiff-cli-web');
  assert.match(table.stdout, /^CONTAINER ID   IMAGE     COMMAND                   CREATED +STATUS +PORTS     NAMES\n/);
  assert.match(table.stdout, new RegExp(`\\n${id.slice(0, 12)}   busybox   "sh -c \\\\"echo started…"   .* skiff-cli-web\\n$`));

  // logs: stdout and stderr kept apart, like docker.
  await waitFor(async () => (await skiff('logs', 'skiff-cli-web')).stdout === 'started\n');
  await same('logs', 'skiff-cli-web');
  await same('logs', '--tail', '1', 'skiff-cli-web');
  const ts = await ok('logs', '-t', 'skiff-cli-web');
  assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z started\n$/);

  await same('exec', 'skiff-cli-web', 'sh', '-c', 'echo $GREETING; echo e >&2; exit 4');
  await same('exec', '-u', '1000', '-w', '/tmp', '-e', 'X=1', 'skiff-cli-web', 'sh', '-c', 'id -u; pwd; echo $X');
  const ex = await skiffIn('piped\n', 'exec', '-i', 'skiff-cli-web', 'cat');
  assert.equal(ex.stdout, 'piped\n');
  await ok('exec', '-d', 'skiff-cli-web', 'touch', '/tmp/bg');
  await waitFor(async () => (await skiff('exec', 'skiff-cli-web', 'test', '-f', '/tmp/bg')).code === 0);

  await same('inspect', '-f', '{{.State.Status}} {{.State.Running}} {{json .Config.Env}}', 'skiff-cli-web');
  await same('container', 'inspect', '--format', '{{.Id}}', 'skiff-cli-web');
  await same('inspect', '--type', 'container', '-f', '{{range .Config.Env}}[{{.}}]{{end}}', 'skiff-cli-web');
  await same('top', 'skiff-cli-web');
  await same('port', 'skiff-cli-web');
  await same('stats', '--no-stream', '--format', '{{.Name}} {{.ID}}', 'skiff-cli-web');
  const stats = await ok('stats', '--no-stream', 'skiff-cli-web');
  assert.match(stats.stdout, /^CONTAINER ID   NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET I\/O +BLOCK I\/O +PIDS\n[0-9a-f]{12}   skiff-cli-web +\d+\.\d\d% /);

  await ok('rename', 'skiff-cli-web', 'skiff-cli-web2');
  await ok('pause', 'skiff-cli-web2');
  await same('inspect', '-f', '{{.State.Status}}', 'skiff-cli-web2');
  await ok('unpause', 'skiff-cli-web2');

  const stop = await ok('stop', '-t', '1', 'skiff-cli-web2');
  assert.equal(stop.stdout, 'skiff-cli-web2\n');
  await same('wait', 'skiff-cli-web2');
  await same('inspect', '-f', '{{.State.Status}}', 'skiff-cli-web2');
  await ok('start', 'skiff-cli-web2');
  await same('inspect', '-f', '{{.State.Running}}', 'skiff-cli-web2');
  const restart = await ok('restart', '-t', '1', 'skiff-cli-web2');
  assert.equal(restart.stdout, 'skiff-cli-web2\n');
  await same('inspect', '-f', '{{.State.Running}} {{.RestartCount}}', 'skiff-cli-web2');
  const kill = await ok('kill', '-s', 'KILL', 'skiff-cli-web2');
  assert.equal(kill.stdout, 'skiff-cli-web2\n');
  await same('wait', 'skiff-cli-web2');
  await ok('rm', 'skiff-cli-web2');
  await same('inspect', 'skiff-cli-web2');
  await same('rm', 'skiff-cli-web2');
});

test('logs -f follows to the end; signals reach the container; health shows in ps', opts, async () => {
  await ok('run', '-d', '--name', 'skiff-cli-follow', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo tick-$i; sleep 1; done');
  const f = await ok('logs', '-f', 'skiff-cli-follow'); // returns when the container exits
  assert.equal(f.stdout, 'tick-1\ntick-2\ntick-3\n');
  await same('ps', '-a', '--filter', 'name=skiff-cli-follow', '--filter', 'status=exited', '--format', '{{.Names}} {{.State}}');
  await ok('rm', 'skiff-cli-follow');

  // docker's --sig-proxy: SIGTERM to the client becomes a kill of the container, whose trap decides the exit.
  const child = spawn(process.execPath, [SKIFF, 'run', '--rm', '--name', 'skiff-cli-sig', 'busybox', 'sh', '-c', 'trap "echo trapped; exit 9" TERM; echo ready; while true; do sleep 0.1; done'], {
    env: { ...process.env, DOCKER_HOST: engine.host },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  await waitFor(async () => out.includes('ready'));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  assert.equal(await code, 9);
  clearTimeout(killer);
  assert.equal(out, 'ready\ntrapped\n');

  await ok('run', '-d', '--name', 'skiff-cli-hc', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '500ms', '--health-retries', '1', 'busybox', 'sh', '-c', 'touch /tmp/ok; sleep 300');
  await waitFor(async () => (await skiff('inspect', '-f', '{{.State.Health.Status}}', 'skiff-cli-hc')).stdout === 'healthy\n');
  const ps = await ok('ps', '--filter', 'name=skiff-cli-hc', '--format', '{{.Status}}');
  assert.match(ps.stdout, /^Up .* \(healthy\)\n$/);
  await same('inspect', '-f', '{{json .Config.Healthcheck}}', 'skiff-cli-hc');
  await ok('rm', '-f', 'skiff-cli-hc');

  const none = await ok('run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net');
  assert.equal(none.stdout, 'lo\n');
  const det = await ok('run', '-d', '--rm', 'busybox', 'true');
  const id = det.stdout.trim();
  await waitFor(async () => (await skiff('inspect', id)).code === 1);
});

test('exec on a stopped container and start -a report like docker', opts, async () => {
  await ok('create', '--name', 'skiff-cli-created', 'busybox', 'sh', '-c', 'echo from-start; exit 2');
  await same('exec', 'skiff-cli-created', 'true');
  const s = await skiff('start', '-a', 'skiff-cli-created');
  assert.equal(s.stdout, 'from-start\n');
  assert.equal(s.code, 2);
  await ok('rm', '-f', 'skiff-cli-created');
});

test('interactive TTY: -it run and exec under a pseudo-terminal', opts, async () => {
  const script = (cmd: string, input: string) =>
    runProc('sh', ['-c', `(sleep 1; printf '${input}') | script -qec "stty cols 90 rows 33; ${cmd}" /dev/null`]);
  const r = await script(`${process.execPath} ${SKIFF} run -it --rm busybox sh`, 'stty size\\nexit 5\\n');
  assert.equal(r.code, 5, r.stdout + r.stderr);
  assert.match(r.stdout, /33 90\r\n/);
  assert.doesNotMatch(r.stdout, /\r\r\n/); // OPOST cleared like docker's raw mode
  await ok('run', '-d', '--name', 'skiff-cli-tty', 'busybox', 'sleep', '300');
  const e = await script(`${process.execPath} ${SKIFF} exec -it skiff-cli-tty sh`, 'tty\\nexit 3\\n');
  assert.equal(e.code, 3, e.stdout + e.stderr);
  assert.match(e.stdout, /\/dev\/pts\/\d+\r\n/);
  await ok('rm', '-f', 'skiff-cli-tty');
});

test('volumes: create, ls, inspect, mount, rm; bind mounts', opts, async () => {
  const v = await ok('volume', 'create', 'skiff-cli-vol');
  assert.equal(v.stdout, 'skiff-cli-vol\n');
  await same('volume', 'ls', '--filter', 'name=skiff-cli-vol');
  await same('volume', 'inspect', '-f', '{{.Name}} {{.Driver}}', 'skiff-cli-vol');
  await ok('run', '--rm', '-v', 'skiff-cli-vol:/data', 'busybox', 'sh', '-c', 'echo persisted > /data/f');
  const read = await ok('run', '--rm', '-v', 'skiff-cli-vol:/data:ro', 'busybox', 'cat', '/data/f');
  assert.equal(read.stdout, 'persisted\n');
  const bind = path.join(tmp, 'bind');
  fs.mkdirSync(bind);
  fs.writeFileSync(path.join(bind, 'host.txt'), 'from-host\n');
  assert.equal((await ok('run', '--rm', '-v', `${bind}:/mnt`, 'busybox', 'cat', '/mnt/host.txt')).stdout, 'from-host\n');
  assert.equal((await ok('volume', 'rm', 'skiff-cli-vol')).stdout, 'skiff-cli-vol\n');
  await same('volume', 'inspect', 'skiff-cli-vol');
  await same('volume', 'rm', 'skiff-cli-vol');
});

test('prune verbs: the prompt, --all and --filter, what went, like docker', opts, async () => {
  // Declined: nothing removed, exit 0.
  await ok('volume', 'create', '--label', 'skiff-cli-prune=1', 'skiff-cli-pv');
  const no = await skiffIn('n\n', 'volume', 'prune', '--all', '--filter', 'label=skiff-cli-prune=1');
  assert.equal(no.code, 0);
  assert.equal(no.stdout, 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ');
  // Without --all only anonymous volumes go; with it the named one too: the same lines from both clients.
  const outs: string[] = [];
  for (const client of [docker, skiff]) {
    await ok('volume', 'create', '--label', 'skiff-cli-prune=1', 'skiff-cli-pv');
    const anon = await client('volume', 'prune', '-f', '--filter', 'label=skiff-cli-prune=1');
    const all = await client('volume', 'prune', '-af', '--filter', 'label=skiff-cli-prune=1');
    outs.push(anon.stdout + all.stdout);
  }
  assert.match(outs[1], /^Total reclaimed space: 0B\nDeleted Volumes:\nskiff-cli-pv\n\nTotal reclaimed space: \d+B\n$/);
  assert.equal(outs[1], outs[0]);
  const probe = await skiff('network', 'ls');
  if (/page not found/.test(probe.stderr)) return;
  for (const client of [docker, skiff]) {
    await ok('network', 'create', '--label', 'skiff-cli-prune=1', 'skiff-cli-pn');
    const r = await client('network', 'prune', '-f', '--filter', 'label=skiff-cli-prune=1');
    assert.equal(r.stdout, 'Deleted Networks:\nskiff-cli-pn\n\n');
  }
});

test('networks: ls, inspect, create, rm, published ports, user network with --ip/--network-alias, connect/disconnect', opts, async (t) => {
  // The /networks routes join the engine's daemon separately; until then there is nothing to compare.
  const probe = await skiff('network', 'ls');
  if (/page not found/.test(probe.stderr)) return t.skip('engine does not serve /networks yet');
  await same('network', 'ls', '--filter', 'name=none');
  await same('network', 'inspect', '-f', '{{.Name}} {{.Driver}}', 'host', 'none');
  const n = await ok('network', 'create', 'skiff-cli-net');
  assert.match(n.stdout, /^[0-9a-f]{64}\n$/);
  await same('network', 'ls', '--filter', 'name=skiff-cli-net');

  // Published ports, a user network with a fixed address and an alias, connect/disconnect.
  await ok('run', '-d', '--name', 'skiff-cli-pub', '-p', '127.0.0.1:18480:80', '-p', '18481-18482:81-82', '-p', '127.0.0.1:18483:83/udp', 'busybox', 'sleep', '300');
  await same('port', 'skiff-cli-pub');
  await same('port', 'skiff-cli-pub', '80');
  await same('port', 'skiff-cli-pub', '84');
  await same('ps', '--filter', 'name=skiff-cli-pub', '--format', '{{.Ports}}');
  await ok('network', 'create', '--subnet', '10.231.7.0/24', 'skiff-cli-sub');
  await same('network', 'inspect', '-f', '{{json .IPAM.Config}} {{.Driver}}', 'skiff-cli-sub');
  await ok('run', '-d', '--name', 'skiff-cli-srv', '--network', 'skiff-cli-sub', '--ip', '10.231.7.50', '--network-alias', 'websrv', 'busybox', 'sleep', '300');
  await same('inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}} {{$v.Aliases}};{{end}}', 'skiff-cli-srv');
  const ping = await ok('run', '--rm', '--network', 'skiff-cli-sub', 'busybox', 'ping', '-c', '1', '-W', '5', 'websrv');
  assert.match(ping.stdout, /from 10\.231\.7\.50/);
  await ok('network', 'connect', 'bridge', 'skiff-cli-srv');
  await same('inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}};{{end}}', 'skiff-cli-srv');
  await ok('network', 'disconnect', 'bridge', 'skiff-cli-srv');
  await same('inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}};{{end}}', 'skiff-cli-srv');
  await same('network', 'rm', 'skiff-cli-sub'); // in use: same error from both
  await ok('rm', '-f', 'skiff-cli-srv', 'skiff-cli-pub');
  assert.equal((await ok('network', 'rm', 'skiff-cli-sub')).stdout, 'skiff-cli-sub\n');

  assert.equal((await ok('network', 'rm', 'skiff-cli-net')).stdout, 'skiff-cli-net\n');
  await same('network', 'rm', 'skiff-cli-net');
});

test('events --since/--until show the container lifecycle like docker', opts, async () => {
  const since = String(Math.floor(Date.now() / 1000) - 1);
  await ok('run', '--rm', '--name', 'skiff-cli-ev', 'busybox', 'true');
  const until = String(Math.floor(Date.now() / 1000) + 1);
  await new Promise((r) => setTimeout(r, 1100)); // let `until` pass so both clients return
  const s = await same('events', '--since', since, '--until', until, '--filter', 'container=skiff-cli-ev', '--filter', 'type=container');
  const actions = s.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[2]);
  for (const a of ['create', 'start', 'die', 'destroy']) assert.ok(actions.includes(a), `missing ${a} in:\n${s.stdout}`);
  await same('events', '--since', since, '--until', until, '--filter', 'container=skiff-cli-ev', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}');
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
