/**
 * `kubectl attach` and `kubectl run -i[t] --rm` (the real kubectl 1.32, WebSocket v5) against `skiff server`
 * with its node: input piped to a container's own stdin (with and without a TTY), the pod deleted after the
 * session, output written after attaching reaching the client (`-c` picks the container), stdout and stderr
 * kept apart without a TTY, stdinOnce (EOF closes the container's stdin) versus stdin that outlives a session,
 * a real terminal (through `script`) with its size and a re-attach after a detach, kubectl's own TTY refusal,
 * and the node's refusal for a container that is not running. Root only, ~70 s.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startNodeCluster, eventually, type NodeCluster } from './testing/node-cluster';

const root = process.getuid?.() === 0;

const PODS = `apiVersion: v1
kind: Pod
metadata:
  name: writer
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: quiet
    image: busybox
    command: ["sleep", "3600"]
  - name: c
    image: busybox
    command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick-$i; echo tock-$i >&2; sleep 0.3; done"]
  - name: done
    image: busybox
    command: ["true"]
---
apiVersion: v1
kind: Pod
metadata:
  name: cat
spec:
  terminationGracePeriodSeconds: 0
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "while read l; do echo echo-$l; done; echo stdin-closed"]
    stdin: true
    stdinOnce: true
---
apiVersion: v1
kind: Pod
metadata:
  name: keep
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "while read l; do echo echo-$l; done; echo stdin-closed; sleep 3600"]
    stdin: true
---
apiVersion: v1
kind: Pod
metadata:
  name: ttysh
spec:
  terminationGracePeriodSeconds: 0
  restartPolicy: Never
  containers:
  - name: sh
    image: busybox
    command: ["sh"]
    stdin: true
    tty: true
`;

let cl: NodeCluster;

interface PodJson {
  status?: { phase?: string; containerStatuses?: Array<{ name: string; state?: { running?: object; terminated?: object; waiting?: object } }> };
}

async function podStatus(name: string): Promise<PodJson | undefined> {
  const r = await cl.kubectl(['get', 'pod', name, '-o', 'json'], { allowFail: true });
  return r.code === 0 ? (JSON.parse(r.stdout) as PodJson) : undefined;
}

before(async () => {
  if (!root) return;
  cl = await startNodeCluster();
  await cl.kubectl(['apply', '-f', '-'], { input: PODS });
  await eventually(async () => {
    const w = await podStatus('writer');
    const cat = await podStatus('cat');
    const st = (n: string) => w?.status?.containerStatuses?.find((s) => s.name === n)?.state;
    // `done` exits and, restarted under the pod's Always policy, goes to back-off: never running for long.
    const tty = await podStatus('ttysh');
    const keep = await podStatus('keep');
    return tty?.status?.phase === 'Running' && keep?.status?.phase === 'Running' && cat?.status?.phase === 'Running' && st('c')?.running && st('done') && !st('done')?.running;
  }, 'writer and cat pods running', 180_000);
});

after(async () => {
  await cl?.stop();
});

test('kubectl run -it --rm: piped input reaches the container, output comes back, the pod is deleted', { skip: !root, timeout: 300_000 }, async () => {
  const r = await cl.kubectl(
    ['run', '-it', '--rm', '--image=busybox', '--restart=Never', '--pod-running-timeout=3m', 't', '--', 'sh', '-c', 'read x; echo got $x'],
    { input: 'hello\n', timeoutMs: 240_000 },
  );
  assert.match(r.stdout, /got hello/);
  // Attached for real: kubectl did not fall back to reading the log.
  assert.doesNotMatch(r.stderr, /falling back/);
  if (process.env.SHOW) console.log(JSON.stringify(r));
  assert.match(r.stdout, /pod "t" deleted/);
  assert.equal((await cl.kubectl(['get', 'pod', 't'], { allowFail: true })).code, 1);
});

test('kubectl run -i (no TTY): stdin ends, stdout and stderr apart', { skip: !root, timeout: 300_000 }, async () => {
  const r = await cl.kubectl(
    ['run', '-i', '--rm', '--image=busybox', '--restart=Never', '--pod-running-timeout=3m', 't2', '--', 'sh', '-c', 'read x; echo got $x; echo err-$x >&2; cat; echo eof'],
    { input: 'one\ntwo\n', timeoutMs: 240_000 },
  );
  assert.match(r.stdout, /got one\ntwo\neof\n/);
  assert.doesNotMatch(r.stdout, /err-one/);
  assert.match(r.stderr, /err-one/);
  assert.doesNotMatch(r.stderr, /falling back/);
  if (process.env.SHOW) console.log(JSON.stringify(r));
  assert.equal((await cl.kubectl(['get', 'pod', 't2'], { allowFail: true })).code, 1);
});

test('kubectl attach -c c: output written after attaching arrives, stderr too', { skip: !root, timeout: 120_000 }, async () => {
  const proc = spawn('kubectl', ['--kubeconfig', cl.kubeconfig, '--cache-dir', `${cl.dir}/kube-cache`, 'attach', 'writer', '-c', 'c'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  try {
    // Three new ticks: the stream goes on, it is not a replay of the log.
    const first = await eventually(() => /tick-(\d+)/.exec(out)?.[1], 'first tick', 60_000);
    await eventually(() => out.includes(`tick-${Number(first) + 3}\n`), 'later ticks', 60_000);
    await eventually(() => /tock-\d+/.test(err), 'stderr ticks', 60_000);
    assert.doesNotMatch(out, /tock/);
    assert.equal(proc.exitCode, null, `kubectl attach exited early: ${err}`);
  } finally {
    proc.kill('SIGKILL');
  }
});

test('kubectl attach -i: input to the stdin of a running container; EOF closes it', { skip: !root, timeout: 120_000 }, async () => {
  const r = await cl.kubectl(['attach', '-i', 'cat'], { input: 'ping\npong\n', timeoutMs: 60_000 });
  assert.match(r.stdout, /echo-ping\necho-pong\nstdin-closed\n/);
  await eventually(async () => (await podStatus('cat'))?.status?.phase === 'Succeeded', 'cat pod completed', 60_000);
});

test('kubectl attach -i without stdinOnce: stdin outlives the session, a second attach types on', { skip: !root, timeout: 120_000 }, async () => {
  for (const word of ['one', 'two']) {
    // The container keeps running, so kubectl stays attached after its input ended: stop it once echoed.
    const proc = spawn('kubectl', ['--kubeconfig', cl.kubeconfig, '--cache-dir', `${cl.dir}/kube-cache`, 'attach', '-i', 'keep'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      proc.stdin!.end(`${word}\n`);
      await eventually(() => out.includes(`echo-${word}\n`), `echo-${word}`, 60_000).catch(async (err) => {
        throw new Error(`${(err as Error).message}; kubectl: ${out}; log: ${(await cl.kubectl(['logs', 'keep'])).stdout}`);
      });
      assert.doesNotMatch(out, /stdin-closed/);
    } finally {
      proc.kill('SIGKILL');
    }
  }
  const logs = (await cl.kubectl(['logs', 'keep'])).stdout;
  assert.equal(logs, 'echo-one\necho-two\n');
});

test('kubectl attach -it on a terminal: the container\'s TTY, sized as the client\'s terminal; attach again after a detach', { skip: !root, timeout: 180_000 }, async () => {
  // `script` gives kubectl a real terminal (22x77); our pipe feeds that terminal.
  const attach = () => {
    const kubectl = `kubectl --kubeconfig ${cl.kubeconfig} --cache-dir ${cl.dir}/kube-cache attach -it ttysh`;
    const proc = spawn('script', ['-qec', `stty cols 77 rows 22; ${kubectl}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const s = { proc, out: '', exited: new Promise<void>((r) => proc.on('exit', () => r())) };
    proc.stdout!.on('data', (d: Buffer) => (s.out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (s.out += d.toString()));
    return s;
  };
  // Types `line` until `want` shows (the first input may race the session's start; a line typed twice is harmless).
  const typeUntil = (s: ReturnType<typeof attach>, line: string, want: RegExp, what: string) =>
    eventually(() => {
      if (want.test(s.out)) return true;
      s.proc.stdin!.write(line);
      return false;
    }, what, 60_000);
  const first = attach();
  try {
    await eventually(() => first.out.includes("If you don't see a command prompt"), 'attached', 60_000);
    await typeUntil(first, 'stty size; test -t 0 && echo is-a-$((1+0))-tty\n', /22 77[^]*is-a-1-tty/, 'the terminal size and a terminal inside');
  } finally {
    // A detach (kubectl killed): the container and its terminal input live on.
    first.proc.kill('SIGKILL');
  }
  await first.exited;
  const second = attach();
  try {
    await eventually(() => second.out.includes("If you don't see a command prompt"), 'attached again', 60_000);
    await typeUntil(second, 'echo again-$((2+0))\n', /again-2/, 'input after re-attaching');
    second.proc.stdin!.write('exit\n');
    await Promise.race([second.exited, new Promise((r) => setTimeout(r, 60_000))]);
    assert.notEqual(second.proc.exitCode, null, `kubectl attach did not end when the container exited: ${second.out}`);
    if (process.env.SHOW) console.log(JSON.stringify([first.out, second.out]));
    await eventually(async () => (await podStatus('ttysh'))?.status?.phase === 'Succeeded', 'ttysh pod completed', 60_000);
  } finally {
    second.proc.kill('SIGKILL');
  }
});

test('refusals: kubectl\'s own TTY check, a container that is not running', { skip: !root, timeout: 120_000 }, async () => {
  const quiet = spawn('kubectl', ['--kubeconfig', cl.kubeconfig, '--cache-dir', `${cl.dir}/kube-cache`, 'attach', '-it', 'writer', '-c', 'quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  quiet.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await eventually(() => err.includes('Unable to use a TTY - container quiet did not allocate one'), 'kubectl TTY refusal', 60_000);
  } finally {
    quiet.kill('SIGKILL');
  }
  const r = await cl.kubectl(['attach', 'writer', '-c', 'done'], { allowFail: true, timeoutMs: 60_000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /error: Internal error occurred: unable to upgrade connection: container done not found in pod writer_default/);
  if (process.env.SHOW) console.log(JSON.stringify(r), JSON.stringify(err));
});
