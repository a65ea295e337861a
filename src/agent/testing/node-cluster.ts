/**
 * TEST/BENCH ONLY: a real `skiff server` child process WITH its node (engine + agent + scheduler +
 * controllers) on a temp data dir, run dir and engine socket, busybox loaded into its engine, plus kubectl
 * and docker runners. stop() removes every pod and container it can through the APIs, ends the server, then
 * force-cleans whatever is left (runc containers, conmon, mounts, network namespaces, bridges, cgroups),
 * also when a test failed. kill9()/restart() simulate crashes.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeClient } from '../../client/client';

const REPO = path.resolve(__dirname, '../../../..');
const SKIFF = process.env.SKIFF_BIN ?? path.join(REPO, 'bin/skiff');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface NodeCluster {
  dir: string;
  dataDir: string;
  runDir: string;
  socket: string;
  kubeconfig: string;
  client: KubeClient;
  pid(): number | undefined;
  kubectl(args: string[], opts?: { input?: string; allowFail?: boolean; timeoutMs?: number }): Promise<Run>;
  docker(args: string[], opts?: { input?: Buffer | string; allowFail?: boolean }): Promise<Run>;
  sh(cmd: string, opts?: { allowFail?: boolean; timeoutMs?: number }): Promise<Run>;
  logs(): string;
  /** SIGKILL the server (engine, agent and all): containers keep running under conmon. */
  kill9(): Promise<void>;
  /** Starts the server again on the same dirs and waits for the node to be Ready. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, o: { input?: Buffer | string; allowFail?: boolean; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = execFile(cmd, args, { env, timeout: o.timeoutMs ?? 120_000, maxBuffer: 32 << 20, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      if (code !== 0 && !o.allowFail) reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${stderr}${stdout}`));
      else resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (o.input !== undefined) p.stdin!.end(o.input);
    else p.stdin?.end();
  });
}

/** Polls until fn returns a truthy value; throws with the last value after the timeout. */
export async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** A child killed by a signal has signalCode set and exitCode null. */
function exited(c: ChildProcess): boolean {
  return c.exitCode !== null || c.signalCode !== null;
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

/** Force-removes everything a node cluster under `dir` may have left: runc containers, conmon, networking, mounts, cgroups. */
export async function cleanupNodeDir(dir: string): Promise<void> {
  const dataDir = path.join(dir, 'data');
  const runDir = path.join(dir, 'run');
  // Anything the orderly path left: runc containers (and their conmon), mounts, networking, cgroups.
  const runcRoot = path.join(runDir, 'runc');
  const list = spawnSync('runc', ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8' });
  for (const id of (list.stdout ?? '').split('\n').filter(Boolean)) {
    spawnSync('runc', ['--root', runcRoot, 'kill', id, 'KILL'], { encoding: 'utf8' });
    spawnSync('runc', ['--root', runcRoot, 'delete', '-f', id], { encoding: 'utf8' });
  }
  for (const sub of ['c', 'x']) {
    let ids: string[] = [];
    try {
      ids = fs.readdirSync(path.join(runDir, sub));
    } catch {
      ids = [];
    }
    for (const id of ids) {
      for (const f of ['conmon.pid']) {
        let pid = 0;
        try {
          pid = Number(fs.readFileSync(path.join(runDir, sub, id, f), 'utf8')) || 0;
        } catch {
          pid = 0;
        }
        if (pid > 1) {
          try {
            const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
            if (cmdline.includes(dir)) process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
    }
  }
  try {
    const { NetworkManager } = await import('../../network/manager');
    await NetworkManager.purge({ dataDir: path.join(dataDir, 'agent', 'network'), runDir: path.join(runDir, 'pod-network') });
  } catch {
    /* nothing to purge */
  }
  for (const m of mountsUnder(dir)) {
    if (spawnSync('umount', [m]).status !== 0) spawnSync('umount', ['-l', m]);
  }
  const parent = `skiff-${crypto.createHash('sha256').update(path.resolve(runDir)).digest('hex').slice(0, 10)}`;
  try {
    const { removeCgroupParent } = await import('../../engine/runtime/cgroups');
    await removeCgroupParent(parent);
  } catch {
    /* none */
  }
}

/** nodeArgs: flags for the server's node process itself (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
export async function startNodeCluster(opts: { env?: NodeJS.ProcessEnv; args?: string[]; nodeArgs?: string[]; busybox?: boolean } = {}): Promise<NodeCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-node-'));
  const dataDir = path.join(dir, 'data');
  const runDir = path.join(dir, 'run');
  // The run dir is a tmpfs, as /run/skiff-* is for a real node: runtime state (exit files, bundles, runc
  // state) on the disk would measure and test the wrong thing. Unmounted by cleanupNodeDir (mountsUnder).
  fs.mkdirSync(runDir, { mode: 0o700 });
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=0700', 'tmpfs', runDir]).status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot mount a tmpfs on ${runDir}`);
  }
  const socket = path.join(dir, 'docker.sock');
  const kubeconfig = path.join(dataDir, 'kubeconfig.yaml');
  const cacheDir = path.join(dir, 'kube-cache');
  const env = { ...process.env, KUBECONFIG: kubeconfig, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: path.join(dir, 'docker-config'), ...opts.env };
  let out = '';
  let child: ChildProcess | undefined;
  let client: KubeClient | undefined;

  const launch = async () => {
    const c = spawn(process.execPath, [...(opts.nodeArgs ?? []), SKIFF, 'server', '--data-dir', dataDir, '--listen-port', '0', '--run-dir', runDir, '--socket', socket, ...(opts.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    child = c;
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (out += d));
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (exited(c)) throw new Error(`skiff server exited: ${out}`);
      if (Date.now() > deadline) throw new Error(`skiff server did not become ready: ${out}`);
      if (/node \S+ ready/.test(out.split('\n').slice(-20).join('\n')) && fs.existsSync(kubeconfig)) {
        try {
          client?.close();
          client = KubeClient.fromKubeconfig(kubeconfig);
          await client.request('GET', '/readyz');
          break;
        } catch {
          /* not yet */
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const forceClean = () => cleanupNodeDir(dir);

  const stopChild = async (signal: NodeJS.Signals) => {
    const c = child;
    if (!c || exited(c)) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        c.kill('SIGKILL');
      }, 15_000);
      c.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      c.kill(signal);
    });
  };

  try {
    await launch();
    if (opts.busybox !== false) {
      const { busyboxArchive } = await import('../../engine/images/busybox');
      await run('docker', ['load'], env, { input: busyboxArchive() });
    }
  } catch (err) {
    await stopChild('SIGKILL');
    await forceClean();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const cl: NodeCluster = {
    dir,
    dataDir,
    runDir,
    socket,
    kubeconfig,
    get client() {
      return client!;
    },
    pid: () => child?.pid,
    kubectl: (args, o = {}) => run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], env, o),
    docker: (args, o = {}) => run('docker', args, env, o),
    sh: (cmd, o = {}) => run('sh', ['-c', cmd], env, o),
    logs: () => out,
    async kill9() {
      await stopChild('SIGKILL');
    },
    async restart() {
      await stopChild('SIGTERM');
      await launch();
    },
    async stop() {
      try {
        if (child && !exited(child)) {
          await cl.kubectl(['delete', 'deployments,replicasets,jobs,pods', '--all', '-A', '--wait=false', '--grace-period=0', '--force'], { allowFail: true, timeoutMs: 30_000 });
          await eventually(async () => (await cl.docker(['ps', '-aq'], { allowFail: true })).stdout.trim() === '', 'containers removed', 45_000).catch(() => undefined);
        }
      } finally {
        client?.close();
        await stopChild('SIGTERM');
        await forceClean();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return cl;
}

// `node dist/src/agent/testing/node-cluster.js DIR...`: manual cleanup of a crashed test's leftovers.
if (require.main === module) {
  void (async () => {
    for (const d of process.argv.slice(2)) {
      await cleanupNodeDir(path.resolve(d));
      fs.rmSync(d, { recursive: true, force: true });
    }
  })();
}
