/**
 * The launch helper (launcher.ts): answers every launch with the program's first sync line, survives many
 * launches, recovers when the helper dies (a job in flight still answers), and what it starts outlives a
 * kill -9 of the process that owns the launcher.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Launcher, RUNTIME } from './launcher';
import { execFileSync } from 'node:child_process';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-launcher-'));
const started: number[] = [];

after(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

const errFile = (n: string | number) => path.join(tmp, `err-${n}`);

/** Running (a zombie counts as dead). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(fn: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('reports the sync line, stderr on failure, long lines, and passes arguments, env and cwd verbatim', async () => {
  const l = new Launcher();
  try {
    const odd = `it's "quoted" $HOME \`x\` \\ ;|&`;
    const r = await l.launch({
      argv: ['sh', '-c', 'printf "%s|%s|%s|%s\\n" "$1" "$PWD" "$SYNCVAR" "$_OCI_X" >&3', 'sh', odd],
      cwd: tmp,
      env: { SYNCVAR: 'v a l', _OCI_X: "o'k" },
      errFile: errFile('a'),
    });
    assert.equal(r.line, `${odd}|${tmp}|v a l|o'k`);
    const f = await l.launch({ argv: ['sh', '-c', 'echo "no such thing" >&2; exit 3'], cwd: tmp, errFile: errFile('b') });
    assert.equal(f.line, undefined);
    assert.equal(f.stderr, 'no such thing\n');
    const long = await l.launch({ argv: ['sh', '-c', 'head -c 6000 /dev/zero | tr "\\0" x >&3; echo >&3'], cwd: tmp, errFile: errFile('c') });
    assert.equal(long.line, 'x'.repeat(6000));
    const missing = await l.launch({ argv: ['/nonexistent/prog'], cwd: tmp, errFile: errFile('d') });
    assert.equal(missing.line, undefined);
    assert.match(missing.stderr, /No such file/);
    const badCwd = await l.launch({ argv: ['true'], cwd: path.join(tmp, 'nope'), errFile: errFile('e') });
    assert.equal(badCwd.line, undefined);
  } finally {
    l.close();
  }
});

test('run: exit code, exact stdout and stderr, stdin, a replaced environment, a timeout, a missing command', async () => {
  const l = new Launcher();
  try {
    const r = await l.run('sh', ['-c', 'cat; printf "%s|%s" "$A" "$PATH"; echo err >&2; exit 4'], {
      stdin: 'in\nput\n',
      env: { A: "x y'z $HOME", PATH: '/usr/bin:/bin' },
      timeoutMs: 60_000,
    });
    assert.deepEqual(r, { code: 4, stdout: "in\nput\nx y'z $HOME|/usr/bin:/bin", stderr: 'err\n' });
    const big = await l.run('sh', ['-c', 'head -c 100000 /dev/zero | tr "\\0" y']);
    assert.equal(big.stdout, 'y'.repeat(100000));
    const missing = await l.run('/nonexistent/cmd', []);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /No such file|not found/);
    const slow = await l.run('sleep', ['30'], { timeoutMs: 500 });
    assert.notEqual(slow.code, 0);
    const many = await Promise.all(Array.from({ length: 60 }, (_, i) => l.run('echo', [String(i)])));
    many.forEach((m, i) => assert.deepEqual(m, { code: 0, stdout: `${i}\n`, stderr: '' }));
  } finally {
    l.close();
  }
});

test('a job the helper had not started yet when it died is run by the next helper', async () => {
  const l = new Launcher();
  try {
    l.warm();
    const first = l.pid!;
    // Stop the helper so it cannot read the job, then kill it: the job is still in its pipe.
    process.kill(first, 'SIGSTOP');
    const job = l.launch({ argv: ['sh', '-c', `echo '{"data": 5}' >&3`], cwd: '/', errFile: errFile('h') });
    await new Promise((r) => setTimeout(r, 100));
    process.kill(first, 'SIGKILL');
    assert.equal((await job).line, '{"data": 5}');
    assert.notEqual(l.pid, first);
  } finally {
    l.close();
  }
});

test('survives many launches, one after another and concurrent, with one helper', async () => {
  const l = new Launcher();
  try {
    l.warm();
    const pid = l.pid;
    assert.ok(pid);
    for (let i = 0; i < 150; i++) {
      const r = await l.launch({ argv: ['sh', '-c', `echo '{"data": ${i}}' >&3`], cwd: '/', errFile: errFile(`s${i}`) });
      assert.equal(r.line, `{"data": ${i}}`);
    }
    const rs = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        l.launch({ argv: ['sh', '-c', `sleep 0.0$((${i} % 5)); echo '{"data": ${i}}' >&3`], cwd: '/', errFile: errFile(`c${i}`) }),
      ),
    );
    rs.forEach((r, i) => assert.equal(r.line, `{"data": ${i}}`));
    assert.equal(l.pid, pid);
  } finally {
    l.close();
  }
});

test('a dead helper is replaced; a job in flight when it died still answers', async () => {
  const l = new Launcher();
  try {
    l.warm();
    const first = l.pid!;
    // This job waits for a file before it reports: kill the helper meanwhile.
    const gate = path.join(tmp, 'gate');
    const running = path.join(tmp, 'running');
    const inFlight = l.launch({
      // Ends by itself if the test fails before opening the gate (after() removes the directory).
      argv: ['sh', '-c', `touch ${running}; while [ ! -e ${gate} ] && [ -d ${tmp} ]; do sleep 0.05; done; echo '{"data": 42}' >&3`],
      cwd: '/',
      errFile: errFile('f'),
    });
    await until(() => fs.existsSync(running));
    process.kill(first, 'SIGKILL');
    await until(() => !alive(first));
    const next = await l.launch({ argv: ['sh', '-c', `echo '{"data": 7}' >&3`], cwd: '/', errFile: errFile('g') });
    assert.equal(next.line, '{"data": 7}');
    assert.notEqual(l.pid, first);
    fs.writeFileSync(gate, '');
    assert.equal((await inFlight).line, '{"data": 42}');
  } finally {
    l.close();
  }
});

test('what it starts outlives a kill -9 of the process that owns the launcher', { timeout: 60_000 }, async () => {
  // A child Node process launches a daemon (setsid, like conmon) and is then killed with SIGKILL.
  const script = `
    const { Launcher } = require(${JSON.stringify(path.join(__dirname, 'launcher.js'))});
    const l = new Launcher();
    l.launch({ argv: ['sh', '-c', 'setsid sh -c "echo \\\\$\\\\$ >&3; exec sleep 120" &'], cwd: '/', errFile: ${JSON.stringify(errFile('k'))} })
      .then((r) => { console.log(r.line + ' ' + l.pid); setInterval(() => {}, 1000); });
  `;
  const owner = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    owner.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    owner.on('exit', () => reject(new Error(`owner exited: ${out}`)));
  });
  const [daemon, helper] = line.split(' ').map(Number);
  started.push(daemon, helper);
  assert.ok(alive(daemon));
  owner.kill('SIGKILL');
  await new Promise((r) => owner.once('exit', r));
  // The helper sees its stdin close and ends; the daemon lives on, in its own session.
  await until(() => !alive(helper));
  assert.ok(alive(daemon), 'the daemon died with its launcher');
  const sid = Number(fs.readFileSync(`/proc/${daemon}/stat`, 'utf8').split(') ')[1].split(' ')[3]);
  assert.equal(sid, daemon);
});

test('sealed runtime: the helper holds a fully sealed memfd copy of it; jobs run it and do not inherit it; fallback when the helper is gone', async () => {
  const runc = '/usr/sbin/runc';
  const l = new Launcher({ runtime: runc });
  try {
    assert.equal(l.runtimePath(runc), runc, 'no helper yet: the binary on disk');
    l.warm();
    await until(() => l.runtimePath(runc) !== runc);
    const sealed = l.runtimePath(runc);
    // A symlink named runc (the program's name in ps and perf) to the helper's fd.
    assert.equal(path.basename(sealed), 'runc');
    assert.match(fs.readlinkSync(sealed), new RegExp(`^/proc/${l.pid}/fd/\\d+$`));
    assert.match(fs.readlinkSync(fs.readlinkSync(sealed)), /^\/memfd:skiff_runc/);
    assert.ok(fs.readFileSync(sealed).equals(fs.readFileSync(runc)), 'the copy is the configured binary');
    // F_GET_SEALS (1034): all of F_SEAL_SEAL|SHRINK|GROW|WRITE, what runc's is_self_cloned requires; writes fail.
    assert.equal(execFileSync('perl', ['-e', 'open(my $f, "<", shift) or die $!; print fcntl($f, 1034, 0) + 0', sealed], { encoding: 'utf8' }), '15');
    assert.throws(() => fs.writeFileSync(sealed, 'x'));
    assert.match(execFileSync(sealed, ['--version'], { encoding: 'utf8' }), /^runc version/);
    // Another runtime than the launcher's is passed through.
    assert.equal(l.runtimePath('/usr/bin/other'), '/usr/bin/other');
    assert.equal(l.runtimeArg('/usr/bin/other'), '/usr/bin/other');
    // A job's RUNTIME is the sealed copy; the job's programs do not hold the memfd open.
    const r = await l.launch({
      argv: ['sh', '-c', 'n=0; for f in /proc/$$/fd/*; do case $(readlink $f) in *skiff_runc*) n=$((n+1));; esac; done; echo "$1 $n" >&3', 'sh', l.runtimeArg(runc)],
      cwd: '/',
      errFile: errFile('sealed'),
    });
    assert.equal(r.line, `${sealed} 0`);
    assert.equal(l.runtimeArg(runc), RUNTIME);
    // The helper dies: the binary on disk until a new helper has made its copy.
    const first = l.pid!;
    process.kill(first, 'SIGKILL');
    await until(() => l.runtimePath(runc) === runc);
    const again = await l.launch({ argv: ['sh', '-c', 'echo "$1" >&3', 'sh', RUNTIME], cwd: '/', errFile: errFile('sealed2') });
    assert.notEqual(l.pid, first);
    assert.equal(again.line, l.runtimePath(runc));
    assert.match(fs.readlinkSync(again.line!), new RegExp(`^/proc/${l.pid}/fd/`));
  } finally {
    l.close();
  }
});
