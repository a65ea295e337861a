/**
 * Starts a `skiff engine` child process on a temp data dir and socket, for end-to-end tests with the real
 * docker CLI. Reusable by every engine test:
 *
 *   const engine = await startEngine({ busybox: true });
 *   try { const r = await engine.docker('run', '--rm', 'busybox', 'echo', 'hi'); } finally { await engine.stop(); }
 *
 * stop() ends the engine (SIGTERM, then SIGKILL), deletes containers left in its runc root (<runDir>/runc),
 * unmounts anything left mounted under the temp dir and removes it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface EngineHandle {
  socket: string;
  dataDir: string;
  runDir: string;
  /** DOCKER_HOST value for this engine. */
  host: string;
  /** Runs the real docker CLI against this engine. */
  docker(...args: string[]): Promise<DockerResult>;
  /** Like docker(), with bytes on stdin (import, load). */
  dockerInput(input: Buffer | string, ...args: string[]): Promise<DockerResult>;
  /** A shell command (pipes: `docker save x | docker load`) with DOCKER_HOST set. */
  sh(command: string): Promise<DockerResult>;
  /** The engine's stderr so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Load the busybox base image (busybox:latest) before returning. */
  busybox?: boolean;
  /** Extra engine flags. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

const ROOT = path.resolve(__dirname, '..', '..');
const SKIFF = path.join(ROOT, 'bin', 'skiff');

/** Runs a command to its end (stdin `input`, or empty), collecting both streams. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, input?: Buffer | string): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

export async function startEngine(opts: StartOptions = {}): Promise<EngineHandle> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-engine-'));
  const dataDir = path.join(tmp, 'data');
  const runDir = path.join(tmp, 'run');
  // The run dir is a tmpfs, as /run/skiff is for a real engine (unmounted by stop(): mountsUnder).
  fs.mkdirSync(runDir, { mode: 0o700 });
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=0700', 'tmpfs', runDir]).status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`cannot mount a tmpfs on ${runDir}`);
  }
  const socket = path.join(tmp, 'd.sock');
  const host = `unix://${socket}`;
  let stderr = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [SKIFF, 'engine', '--data-dir', dataDir, '--socket', socket, '--run-dir', runDir, ...(opts.args ?? [])],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...opts.env } },
  );
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => (alive = false));

  const env = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: path.join(tmp, 'docker-config') };
  const stop = async () => {
    if (alive) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    // Containers left running (the engine leaves them to conmon by design): delete them through runc.
    const runcRoot = path.join(runDir, 'runc');
    if (fs.existsSync(runcRoot)) {
      const list = await run('runc', ['--root', runcRoot, 'list', '-q'], process.env);
      for (const id of list.stdout.split('\n').filter(Boolean)) {
        await run('runc', ['--root', runcRoot, 'delete', '-f', id], process.env);
      }
    }
    for (const m of mountsUnder(tmp)) {
      await run('umount', [m], process.env).then((r) => (r.code === 0 ? r : run('umount', ['-l', m], process.env)));
    }
    // Retries: a conmon that is still exiting may write its last log line while the tree is being removed.
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };

  const deadline = Date.now() + 30_000;
  while (!(await ping(socket))) {
    if (!alive || Date.now() > deadline) {
      await stop();
      throw new Error(`skiff engine did not start:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const handle: EngineHandle = {
    socket,
    dataDir,
    runDir,
    host,
    docker: (...args) => run('docker', args, env),
    dockerInput: (input, ...args) => run('docker', args, env, input),
    sh: (command) => run('sh', ['-c', command], env),
    log: () => stderr,
    stop,
  };
  if (opts.busybox) {
    // The same archive scripts/make-base-image.sh loads.
    const { busyboxArchive } = await import('../src/engine/images/busybox');
    const r = await handle.dockerInput(busyboxArchive(), 'load');
    if (r.code !== 0) {
      await stop();
      throw new Error(`loading busybox failed: ${r.stderr}\n${stderr}`);
    }
  }
  return handle;
}
