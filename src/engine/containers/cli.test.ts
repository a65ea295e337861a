/**
 * End to end with the real docker CLI against a `skiff engine` child process (real runc and conmon):
 * run (attached output and exit code, -d, --rm, -e, -v, --name, -w, -u, --entrypoint, -i, -it), ps and
 * filters, logs (-f, --tail, -t), lifecycle verbs, exec (with and without TTY), inspect, wait, stats,
 * events, restart policies, health checks, limits and OOM, isolation, volumes and bad input.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startEngine, type EngineHandle, type DockerResult } from '../../../test/engine';
import { cleanupRuntime, leftoverCgroups, mountsUnder, runcIds, until } from './test-support';

let engine: EngineHandle;
let hostDir: string;

before(async () => {
  engine = await startEngine({ busybox: true });
  hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bind-'));
  fs.chmodSync(hostDir, 0o755);
});

after(async () => {
  if (engine) {
    await cleanupRuntime(engine);
    await engine.stop();
  }
  if (hostDir) fs.rmSync(hostDir, { recursive: true, force: true });
});

function ok(r: DockerResult): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const d = (...args: string[]) => engine.docker(...args);
const inspect = async (name: string, fmt: string) => ok(await d('inspect', '-f', fmt, name)).trim();

/** Runs a docker command under a pseudo-terminal (util-linux script), feeding `input`. */
function underPty(command: string, input: string): Promise<DockerResult> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, DOCKER_HOST: engine.host } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // Type once the shell shows its prompt ("/ # "): on a loaded machine a fixed delay can be too short and
    // keystrokes typed before the exec is attached would race its start. Fallback after 10 s.
    let typed = false;
    const type = () => {
      if (typed) return;
      typed = true;
      clearTimeout(fallback);
      child.stdin.write(input);
    };
    const fallback = setTimeout(type, 10_000);
    child.stdout.on('data', () => {
      if (/# $/.test(stdout)) type();
    });
    child.on('close', (code) => {
      clearTimeout(fallback);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

test('docker run attached shows stdout and stderr and returns the exit code', { timeout: 180_000 }, async () => {
  const r = await d('run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3');
  assert.equal(r.code, 3);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  const t = await d('run', '--rm', 'busybox', 'true');
  assert.equal(t.code, 0);
  // --rm leaves nothing.
  assert.equal(ok(await d('ps', '-aq')).trim(), '');
});

test('docker run -e -w -u --entrypoint --name -v', { timeout: 180_000 }, async () => {
  fs.writeFileSync(path.join(hostDir, 'in.txt'), 'from-host\n');
  const r = await d(
    'run', '--name', 'opts', '-e', 'FOO=bar', '-w', '/work', '-u', 'nobody', '-v', `${hostDir}:/data`,
    '--entrypoint', 'sh', 'busybox', '-c', 'echo $FOO; pwd; id -u; id -g; cat /data/in.txt; hostname',
  );
  const lines = ok(r).trim().split('\n');
  assert.deepEqual(lines.slice(0, 5), ['bar', '/work', '65534', '65534', 'from-host']);
  const id = await inspect('opts', '{{.Id}}');
  assert.equal(lines[5], id.slice(0, 12));
  assert.equal(await inspect('opts', '{{.Name}} {{.Config.User}} {{.Config.WorkingDir}} {{index .Config.Entrypoint 0}}'), '/opts nobody /work sh');
  // uid:gid and a read-only bind
  const ro = await d('run', '--rm', '-u', '1234:5678', '-v', `${hostDir}:/data:ro`, 'busybox', 'sh', '-c', 'id -u; id -g; touch /data/x');
  assert.notEqual(ro.code, 0);
  assert.match(ro.stdout, /^1234\n5678\n/);
  assert.match(ro.stderr, /Read-only file system/);
  ok(await d('rm', 'opts'));
});

test('docker run -i passes stdin and closes it at end of input', { timeout: 180_000 }, async () => {
  const r = await engine.sh(`printf 'line1\\nline2\\n' | docker run -i --rm busybox sh -c 'cat; echo done'`);
  assert.equal(ok(r), 'line1\nline2\ndone\n');
});

test('docker attach: a -di container keeps its stdin when an attached client leaves (StdinOnce false)', { timeout: 180_000 }, async () => {
  ok(await d('run', '-di', '--network', 'none', '--name', 'stdin-keep', 'busybox', 'sh', '-c', 'while read l; do echo got $l; done; echo stdin-closed'));
  const logs = async () => (await d('logs', 'stdin-keep')).stdout;
  try {
    for (const word of ['one', 'two']) {
      // SIGKILL: the docker CLI forwards SIGTERM to the container (sig-proxy) instead of leaving.
      const client = spawn('docker', ['attach', 'stdin-keep'], { env: { ...process.env, DOCKER_HOST: engine.host }, stdio: ['pipe', 'ignore', 'ignore'] });
      const closed = new Promise((r) => client.once('close', r));
      client.stdin.on('error', () => undefined); // a client that already left (stopped container)
      client.stdin.write(`${word}\n`);
      try {
        assert.ok(await until(async () => (await logs()).includes(`got ${word}`), 60_000), `the container read "${word}"`);
      } finally {
        client.kill('SIGKILL');
        await closed;
      }
    }
    assert.equal(await inspect('stdin-keep', '{{.State.Running}}'), 'true');
    assert.doesNotMatch(await logs(), /stdin-closed/);
  } finally {
    await d('rm', '-f', 'stdin-keep');
  }
});

test('docker run -it gives a TTY and the exit code', { timeout: 180_000 }, async () => {
  const r = await underPty(`docker run -it --rm busybox sh -c 'tty; exit 5'`, '');
  assert.equal(r.code, 5, r.stdout + r.stderr);
  assert.match(r.stdout, /\/dev\/pts\/\d+/);
  const sh = await underPty('docker run -it --rm busybox sh', 'echo typed-$((6*7)); exit 9\n');
  assert.equal(sh.code, 9, sh.stdout + sh.stderr);
  assert.match(sh.stdout, /typed-42/);
});

test('docker run -d, ps with filters, logs, stop, start, restart, kill, rm', { timeout: 180_000 }, async () => {
  const id = ok(await d('run', '-d', '--name', 'web', '--label', 'tier=front', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done')).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.match(ok(await d('ps', '--format', '{{.Names}} {{.Status}}')), /^web Up /m);
  assert.equal(ok(await d('ps', '-q', '--filter', 'label=tier=front')).trim(), id.slice(0, 12));
  assert.equal(ok(await d('ps', '-q', '--filter', 'name=web', '--filter', 'status=running')).trim(), id.slice(0, 12));
  assert.equal(ok(await d('ps', '-q', '--filter', 'label=tier=back')).trim(), '');
  assert.equal(ok(await d('ps', '-q', '--filter', 'ancestor=busybox')).trim(), id.slice(0, 12));
  await until(async () => (await d('logs', 'web')).stdout.includes('tick 2'));
  const tail = ok(await d('logs', '--tail', '1', '-t', 'web'));
  assert.match(tail, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick \d+\n$/);
  // logs -f streams new lines and ends when the container stops.
  const follow = engine.docker('logs', '-f', '--tail', '0', 'web');
  await new Promise((r) => setTimeout(r, 800));
  ok(await d('stop', 'web'));
  const f = await follow;
  assert.equal(f.code, 0);
  assert.match(f.stdout, /tick \d+/);
  assert.equal(await inspect('web', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 0');
  assert.match(ok(await d('ps', '-a', '--filter', 'exited=0', '--format', '{{.Names}}')), /^web$/m);
  assert.equal(ok(await d('ps', '-q')).trim(), '');
  // logs survive the stop
  assert.match(ok(await d('logs', 'web')), /tick 0\n/);
  ok(await d('start', 'web'));
  assert.equal(await inspect('web', '{{.State.Running}}'), 'true');
  ok(await d('restart', '-t', '5', 'web'));
  assert.equal(await inspect('web', '{{.State.Running}} {{.RestartCount}}'), 'true 1');
  ok(await d('kill', '-s', 'KILL', 'web'));
  await until(async () => (await inspect('web', '{{.State.Status}}')) === 'exited');
  assert.equal(await inspect('web', '{{.State.ExitCode}}'), '137');
  ok(await d('start', 'web'));
  const rm = await d('rm', 'web');
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /container is running: stop the container before removing or force remove/);
  ok(await d('rm', '-f', 'web'));
  assert.equal((await d('inspect', 'web')).code, 1);
});

test('pause, unpause, rename, wait', { timeout: 180_000 }, async () => {
  ok(await d('run', '-d', '--name', 'p1', 'busybox', 'sleep', '1000'));
  ok(await d('pause', 'p1'));
  assert.equal(await inspect('p1', '{{.State.Status}} {{.State.Paused}}'), 'paused true');
  assert.match(ok(await d('ps', '--format', '{{.Status}}')), /\(Paused\)/);
  ok(await d('unpause', 'p1'));
  assert.equal(await inspect('p1', '{{.State.Status}}'), 'running');
  ok(await d('rename', 'p1', 'p2'));
  assert.equal(await inspect('p2', '{{.Name}}'), '/p2');
  const waiting = d('wait', 'p2');
  ok(await d('kill', '-s', 'KILL', 'p2'));
  const w = await waiting;
  assert.equal(ok(w).trim(), '137');
  ok(await d('rm', 'p2'));
});

test('docker exec with and without TTY, exit codes, stopped container', { timeout: 180_000 }, async () => {
  ok(await d('run', '-d', '--name', 'ex', '-e', 'BASE=1', 'busybox', 'sleep', '1000'));
  const r = await d('exec', '-e', 'EXTRA=2', '-w', '/tmp', 'ex', 'sh', '-c', 'echo $BASE$EXTRA; pwd; echo e >&2; exit 4');
  assert.equal(r.code, 4);
  assert.equal(r.stdout, '12\n/tmp\n');
  assert.equal(r.stderr, 'e\n');
  const u = await d('exec', '-u', 'nobody', 'ex', 'id', '-u');
  assert.equal(ok(u).trim(), '65534');
  const piped = await engine.sh(`echo piped | docker exec -i ex cat`);
  assert.equal(ok(piped), 'piped\n');
  const tty = await underPty('docker exec -it ex sh', 'echo in-$((2+3)); tty; exit 6\n');
  assert.equal(tty.code, 6, tty.stdout + tty.stderr);
  assert.match(tty.stdout, /in-5/);
  assert.match(tty.stdout, /\/dev\/pts\/\d+/);
  ok(await d('exec', '-d', 'ex', 'sh', '-c', 'echo detached > /tmp/d'));
  await until(async () => (await d('exec', 'ex', 'cat', '/tmp/d')).stdout === 'detached\n');
  ok(await d('stop', '-t', '0', 'ex'));
  const stopped = await d('exec', 'ex', 'true');
  assert.notEqual(stopped.code, 0);
  assert.match(stopped.stderr, /is not running/);
  ok(await d('rm', 'ex'));
});

test('docker inspect has Docker shape', { timeout: 180_000 }, async () => {
  ok(await d('create', '--name', 'shape', '-p', '8080:80', '--memory', '64m', '--cpus', '0.5', '--cpu-shares', '512', '--pids-limit', '50', '--restart', 'on-failure:2', 'busybox', 'echo', 'hi'));
  const [c] = JSON.parse(ok(await d('inspect', 'shape')));
  assert.equal(c.Name, '/shape');
  assert.equal(c.State.Status, 'created');
  assert.equal(c.Path, 'echo');
  assert.deepEqual(c.Args, ['hi']);
  assert.equal(c.HostConfig.Memory, 64 * 1024 * 1024);
  assert.equal(c.HostConfig.MemorySwap, 128 * 1024 * 1024);
  assert.equal(c.HostConfig.NanoCpus, 5e8);
  assert.equal(c.HostConfig.CpuShares, 512);
  assert.equal(c.HostConfig.PidsLimit, 50);
  assert.deepEqual(c.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  assert.deepEqual(c.Config.ExposedPorts, { '80/tcp': {} });
  assert.equal(c.Config.Image, 'busybox');
  assert.match(c.Image, /^sha256:[0-9a-f]{64}$/);
  assert.ok(c.LogPath.endsWith('container.log'));
  assert.ok(Array.isArray(c.Mounts));
  assert.equal(c.State.StartedAt, '0001-01-01T00:00:00Z');
  ok(await d('rm', 'shape'));
  // inspect of something unknown is a 404 in every category
  const miss = await d('inspect', 'no-such-thing');
  assert.equal(miss.code, 1);
  assert.match(miss.stderr, /No such object: no-such-thing/);
});

test('limits reach the cgroup, stats report them, OOM is reported', { timeout: 180_000 }, async () => {
  ok(await d('run', '-d', '--name', 'lim', '--memory', '32m', '--memory-swap', '64m', '--cpus', '0.5', '--pids-limit', '20', 'busybox', 'sleep', '1000'));
  const id = await inspect('lim', '{{.Id}}');
  const rel = (c: string, f: string) => fs.readFileSync(`/sys/fs/cgroup/${c}/${require('./test-support').cgroupParentOf(engine.runDir)}/${id}/${f}`, 'utf8').trim();
  assert.equal(rel('memory', 'memory.limit_in_bytes'), String(32 * 1024 * 1024));
  assert.equal(rel('memory', 'memory.memsw.limit_in_bytes'), String(64 * 1024 * 1024));
  assert.equal(rel('cpu', 'cpu.cfs_quota_us'), '50000');
  assert.equal(rel('pids', 'pids.max'), '20');
  const stats = ok(await d('stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}', 'lim'));
  assert.match(stats, /^lim [\d.]+[KMG]iB \/ 32MiB 1$/m);
  const raw = await new Promise<string>((resolve, reject) => {
    const http = require('node:http') as typeof import('node:http');
    http.get({ socketPath: engine.socket, path: `/v1.50/containers/${id}/stats?stream=0&one-shot=1` }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
  const s = JSON.parse(raw);
  for (const k of ['read', 'preread', 'cpu_stats', 'precpu_stats', 'memory_stats', 'pids_stats', 'name', 'id']) assert.ok(k in s, k);
  assert.equal(s.memory_stats.limit, 32 * 1024 * 1024);
  ok(await d('rm', '-f', 'lim'));
  const oom = await d('run', '--name', 'oom', '-m', '8m', '--memory-swap', '8m', 'busybox', 'sh', '-c', 'x=a; while true; do x=$x$x; done');
  assert.equal(oom.code, 137);
  assert.equal(await inspect('oom', '{{.State.OOMKilled}} {{.State.ExitCode}}'), 'true 137');
  ok(await d('rm', 'oom'));
});

test('isolation: namespaces, capabilities, seccomp, masked paths, no-new-privileges, read-only, tmpfs', { timeout: 180_000 }, async () => {
  const pid1 = ok(await d('run', '--rm', 'busybox', 'sh', '-c', 'echo $$; ls /proc | grep -c "^[0-9]"'));
  assert.equal(pid1.split('\n')[0], '1');
  const caps = ok(await d('run', '--rm', 'busybox', 'grep', 'CapEff', '/proc/self/status')).trim();
  assert.equal(caps, 'CapEff:\t00000000a80425fb'); // Docker's 14 default capabilities
  const dropped = ok(await d('run', '--rm', '--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', 'busybox', 'grep', 'CapEff', '/proc/self/status')).trim();
  assert.equal(dropped, 'CapEff:\t0000000000001000');
  const priv = ok(await d('run', '--rm', '--privileged', 'busybox', 'grep', 'CapEff', '/proc/self/status')).trim();
  assert.notEqual(priv, caps);
  // seccomp: mount and unshare are refused even to root; without the profile only capabilities stop them.
  const sec = ok(await d('run', '--rm', 'busybox', 'grep', 'Seccomp:', '/proc/self/status')).trim();
  assert.equal(sec, 'Seccomp:\t2');
  const unconf = ok(await d('run', '--rm', '--security-opt', 'seccomp=unconfined', 'busybox', 'grep', 'Seccomp:', '/proc/self/status')).trim();
  assert.equal(unconf, 'Seccomp:\t0');
  const mnt = await d('run', '--rm', 'busybox', 'mount', '-t', 'tmpfs', 'none', '/mnt');
  assert.notEqual(mnt.code, 0);
  const masked = ok(await d('run', '--rm', 'busybox', 'sh', '-c', 'wc -c < /proc/timer_list; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo ro'));
  assert.deepEqual(masked.trim().split('\n'), ['0', 'ro']);
  const nnp = ok(await d('run', '--rm', '--security-opt', 'no-new-privileges', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status')).trim();
  assert.equal(nnp, 'NoNewPrivs:\t1');
  const ro = await d('run', '--rm', '--read-only', '--tmpfs', '/scratch', 'busybox', 'sh', '-c', 'touch /scratch/ok && echo tmpfs-ok; touch /nope');
  assert.notEqual(ro.code, 0);
  assert.match(ro.stdout, /tmpfs-ok/);
  assert.match(ro.stderr, /Read-only file system/);
  const net = ok(await d('run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net'));
  assert.equal(net.trim(), 'lo');
  const host = ok(await d('run', '--rm', '--network', 'host', 'busybox', 'hostname'));
  assert.equal(host.trim(), os.hostname());
  const nofile = ok(await d('run', '--rm', 'busybox', 'sh', '-c', 'ulimit -n')).trim();
  assert.ok(Number(nofile) > 0);
});

test('restart policies: on-failure:N with back-off, always, unless-stopped, stop wins', { timeout: 180_000 }, async () => {
  ok(await d('run', '-d', '--name', 'onf', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3'));
  assert.ok(await until(async () => (await inspect('onf', '{{.RestartCount}} {{.State.Status}}')) === '2 exited', 60_000));
  assert.equal(await inspect('onf', '{{.State.ExitCode}}'), '3');
  ok(await d('run', '-d', '--name', 'alw', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.3; exit 0'));
  assert.ok(await until(async () => Number(await inspect('alw', '{{.RestartCount}}')) >= 2, 60_000));
  ok(await d('stop', 'alw'));
  const count = await inspect('alw', '{{.RestartCount}}');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await inspect('alw', '{{.RestartCount}} {{.State.Running}}'), `${count} false`);
  ok(await d('rm', '-f', 'onf', 'alw'));
  const bad = await d('run', '--restart', 'sometimes', 'busybox', 'true');
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid restart policy/);
});

test('health checks: healthy, unhealthy in ps and inspect, unhealthy container restarted by its policy', { timeout: 180_000 }, async () => {
  ok(await d('run', '-d', '--name', 'hc', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '300ms', '--health-retries', '2', 'busybox', 'sh', '-c', 'touch /tmp/ok; sleep 1000'));
  assert.ok(await until(async () => (await inspect('hc', '{{.State.Health.Status}}')) === 'healthy'));
  assert.match(ok(await d('ps', '--format', '{{.Names}} {{.Status}}')), /^hc Up .*\(healthy\)$/m);
  ok(await d('exec', 'hc', 'rm', '/tmp/ok'));
  assert.ok(await until(async () => (await inspect('hc', '{{.State.Health.Status}}')) === 'unhealthy'));
  assert.match(ok(await d('ps', '--format', '{{.Status}}', '--filter', 'name=hc')), /\(unhealthy\)/);
  const log = JSON.parse(await inspect('hc', '{{json .State.Health}}'));
  assert.ok(log.FailingStreak >= 2);
  assert.ok(log.Log.length > 0 && log.Log.length <= 5);
  // With a restart policy, unhealthy means restart (a fresh /tmp: the file is gone, so it stays failing
  // until we recreate it; the restart count proves the restart).
  ok(await d('run', '-d', '--name', 'hcr', '--restart', 'always', '--health-cmd', 'test -f /ok', '--health-interval', '300ms', '--health-retries', '1', 'busybox', 'sleep', '1000'));
  assert.ok(await until(async () => Number(await inspect('hcr', '{{.RestartCount}}')) >= 1, 60_000));
  ok(await d('rm', '-f', 'hc', 'hcr'));
  const none = ok(await d('run', '--rm', '--no-healthcheck', 'busybox', 'true'));
  assert.equal(none, '');
});

test('volumes: create/ls/inspect/rm/prune, named and anonymous, in use, copy-up', { timeout: 180_000 }, async () => {
  ok(await d('volume', 'create', '--label', 'k=v', 'vol1'));
  assert.match(ok(await d('volume', 'ls', '--format', '{{.Name}} {{.Driver}}')), /^vol1 local$/m);
  const [v] = JSON.parse(ok(await d('volume', 'inspect', 'vol1')));
  assert.equal(v.Name, 'vol1');
  assert.deepEqual(v.Labels, { k: 'v' });
  ok(await d('run', '--rm', '-v', 'vol1:/data', 'busybox', 'sh', '-c', 'echo persisted > /data/f'));
  assert.equal(ok(await d('run', '--rm', '-v', 'vol1:/data:ro', 'busybox', 'cat', '/data/f')), 'persisted\n');
  // A new named volume over an image path gets the image's content (copy-up).
  assert.match(ok(await d('run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'cat', '/etc/passwd')), /^root:/);
  ok(await d('run', '-d', '--name', 'user', '-v', 'vol1:/data', 'busybox', 'sleep', '1000'));
  const inUse = await d('volume', 'rm', 'vol1');
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, /volume is in use/);
  // anonymous volume, removed with rm -v
  ok(await d('run', '-d', '--name', 'anon', '-v', '/scratch', 'busybox', 'sleep', '1000'));
  const anonName = await inspect('anon', '{{(index .Mounts 0).Name}}');
  assert.match(anonName, /^[0-9a-f]{64}$/);
  ok(await d('rm', '-f', '-v', 'anon', 'user'));
  assert.equal((await d('volume', 'inspect', anonName)).code, 1);
  ok(await d('volume', 'rm', 'vol1', 'etcvol'));
  assert.equal((await d('volume', 'inspect', 'vol1')).code, 1);
  ok(await d('volume', 'create', 'keep'));
  ok(await d('volume', 'prune', '-a', '-f'));
  assert.equal(ok(await d('volume', 'ls', '-q')).trim(), '');
});

test('events: container lifecycle', { timeout: 180_000 }, async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  ok(await d('run', '--name', 'ev', 'busybox', 'true'));
  ok(await d('rm', 'ev'));
  const until_ = Math.floor(Date.now() / 1000) + 1;
  const r = ok(await d('events', '--since', String(since), '--until', String(until_), '--filter', 'container=ev', '--format', '{{.Action}}'));
  const actions = r.trim().split('\n');
  for (const a of ['create', 'attach', 'start', 'die', 'destroy'].filter((x) => x !== 'attach')) assert.ok(actions.includes(a), `${a} in ${actions}`);
});

test('bad input: Docker-format errors and nothing half-created', { timeout: 180_000 }, async () => {
  const before_ = ok(await d('ps', '-aq')).trim();
  const noImg = await d('run', '--pull', 'never', 'no-such-image');
  assert.equal(noImg.code, 125);
  assert.match(noImg.stderr, /No such image: no-such-image/);
  const noCmd = await d('run', '--entrypoint', '', 'busybox');
  assert.equal(noCmd.code, 125);
  assert.match(noCmd.stderr, /no command specified/);
  const badCmd = await d('run', '--name', 'badcmd', 'busybox', 'no-such-binary');
  assert.equal(badCmd.code, 127);
  assert.match(badCmd.stderr, /executable file not found/);
  ok(await d('rm', 'badcmd'));
  const mem = await d('run', '-m', '12x', 'busybox', 'true');
  assert.equal(mem.code, 125);
  ok(await d('run', '-d', '--name', 'dup', 'busybox', 'sleep', '100'));
  const dup = await d('run', '--name', 'dup', 'busybox', 'true');
  assert.equal(dup.code, 125);
  assert.match(dup.stderr, /Conflict\. The container name "\/dup" is already in use by container "[0-9a-f]{64}"\. You have to remove \(or rename\) that container to be able to reuse that name\./);
  ok(await d('rm', '-f', 'dup'));
  const badName = await d('create', '--name', 'bad name!', 'busybox', 'true');
  assert.equal(badName.code, 1);
  assert.match(badName.stderr, /Invalid container name/);
  const badVol = await d('run', '--rm', '-v', 'a:b:c:d', 'busybox', 'true');
  assert.notEqual(badVol.code, 0);
  // Raw API: negative figures, bad JSON, unknown container.
  const api = async (method: string, p: string, body?: string) => {
    const r = await engine.sh(`curl -s -w '\\n%{http_code}' --unix-socket ${engine.socket} -X ${method} -H 'Content-Type: application/json' ${body ? `-d '${body}'` : ''} http://d/v1.50${p}`);
    const lines = r.stdout.split('\n');
    return { stdout: lines.pop()!, stderr: lines.join('\n') };
  };
  const neg = await api('POST', '/containers/create', '{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":-1}}');
  assert.equal(neg.stdout, '400');
  assert.match(neg.stderr, /"message":"invalid memory limit/);
  const swap = await api('POST', '/containers/create', '{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":10000000,"MemorySwap":5000000}}');
  assert.equal(swap.stdout, '400');
  const cpus = await api('POST', '/containers/create', '{"Image":"busybox","Cmd":["true"],"HostConfig":{"NanoCpus":-5}}');
  assert.equal(cpus.stdout, '400');
  const json = await api('POST', '/containers/create', '{nope');
  assert.equal(json.stdout, '400');
  const rp = await api('POST', '/containers/create', '{"Image":"busybox","Cmd":["true"],"HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":3}}}');
  assert.equal(rp.stdout, '400');
  const missing = await api('POST', '/containers/nope/start');
  assert.equal(missing.stdout, '404');
  assert.match(missing.stderr, /No such container: nope/);
  const stopStopped = await d('create', '--name', 'cr', 'busybox', 'true');
  ok(stopStopped);
  const notMod = await api('POST', '/containers/cr/stop');
  assert.equal(notMod.stdout, '304');
  ok(await d('rm', 'cr'));
  assert.equal(ok(await d('ps', '-aq')).trim(), before_);
  // nothing half-created: no runc state, mounts or cgroups besides running containers (none now)
  // Removal finishes runtime cleanup in the background: poll, then show what is left if anything.
  await until(() => runcIds(engine.runDir).length + mountsUnder(path.join(engine.runDir, 'c')).length + leftoverCgroups(engine.runDir).length === 0);
  assert.deepEqual(runcIds(engine.runDir), []);
  assert.deepEqual(mountsUnder(path.join(engine.runDir, 'c')), []);
  assert.deepEqual(leftoverCgroups(engine.runDir), []);
});

test('a flooding container with a reader that leaves does not wedge the engine; logs rotate by size', { timeout: 180_000 }, async () => {
  const r = await engine.sh(`docker run --rm --name flood busybox yes | head -1`);
  assert.equal(r.stdout, 'y\n');
  // The engine still answers while the container floods.
  ok(await d('ps'));
  ok(await d('rm', '-f', 'flood'));
  // max-size/max-file: the engine rotates; files stay bounded.
  ok(await d('run', '-d', '--name', 'rot', '--log-opt', 'max-size=64k', '--log-opt', 'max-file=2', 'busybox', 'sh', '-c', 'while true; do echo 0123456789abcdef0123456789abcdef; done'));
  const dir = path.join(engine.dataDir, 'containers', await inspect('rot', '{{.Id}}'));
  assert.ok(await until(() => fs.existsSync(path.join(dir, 'container.log.1'))));
  ok(await d('rm', '-f', 'rot'));
  assert.ok(!fs.existsSync(path.join(dir, 'container.log.2')));
  const bad = await d('run', '--rm', '--log-opt', 'max-size=lots', 'busybox', 'true');
  assert.equal(bad.code, 125);
});

test('ps -l lists the newest container in any state; start precedes die in events', { timeout: 180_000 }, async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  ok(await d('run', '--name', 'quick', 'busybox', 'true'));
  assert.equal(ok(await d('ps', '-l', '--format', '{{.Names}}')).trim(), 'quick');
  ok(await d('rm', 'quick'));
  const r = ok(await d('events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=quick', '--format', '{{.Action}}'));
  const actions = r.trim().split('\n');
  assert.ok(actions.indexOf('start') >= 0 && actions.indexOf('start') < actions.indexOf('die'), actions.join(','));
});
