/**
 * Test-only helpers for container tests against a real `skiff engine`: cleaning up every runtime resource
 * a test engine may leave (containers, conmon processes, runc state, mounts, cgroups) and restarting an
 * engine on the same directories (kill -9 recovery).
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { EngineHandle } from '../../../test/engine';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const SKIFF = path.join(ROOT, 'bin', 'skiff');

/** Processes whose command line mentions `needle`. */
export function pidsMatching(needle: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(needle)) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

export function cgroupParentOf(runDir: string): string {
  return `skiff-${crypto.createHash('sha256').update(path.resolve(runDir)).digest('hex').slice(0, 10)}`;
}

/** cgroup directories left under the engine's parent, in any hierarchy. */
export function leftoverCgroups(runDir: string): string[] {
  const parent = cgroupParentOf(runDir);
  const out: string[] = [];
  for (const c of fs.readdirSync('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', c, parent);
    try {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(path.join(dir, e.name));
    } catch {
      /* none */
    }
  }
  return out;
}

export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4])
    .filter((m) => m === dir || m.startsWith(prefix));
}

/** runc containers still known under the engine's runc root. */
export function runcIds(runDir: string): string[] {
  try {
    return fs.readdirSync(path.join(runDir, 'runc'));
  } catch {
    return [];
  }
}

/** Removes everything a test engine may have left: use in after(), before engine.stop(). */
export async function cleanupRuntime(engine: { docker: EngineHandle['docker']; runDir: string }): Promise<void> {
  const ids = await engine.docker('ps', '-aq', '--no-trunc').catch(() => ({ code: 1, stdout: '', stderr: '' }));
  if (ids.code === 0 && ids.stdout.trim()) await engine.docker('rm', '-f', '-v', ...ids.stdout.trim().split(/\s+/));
  for (const pid of pidsMatching(engine.runDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const id of runcIds(engine.runDir)) {
    try {
      execFileSync('runc', ['--root', path.join(engine.runDir, 'runc'), 'delete', '-f', id], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
  }
  const parent = cgroupParentOf(engine.runDir);
  for (const dir of leftoverCgroups(engine.runDir)) {
    try {
      fs.rmdirSync(dir);
    } catch {
      /* busy */
    }
  }
  for (const c of fs.readdirSync('/sys/fs/cgroup')) {
    try {
      fs.rmdirSync(path.join('/sys/fs/cgroup', c, parent));
    } catch {
      /* none */
    }
  }
  for (const m of mountsUnder(engine.runDir).sort((a, b) => b.length - a.length)) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
  }
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath: socket, path: '/_ping', timeout: 2000 }, (res) => {
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

/** Starts another engine on an existing engine's directories (after the first was killed). */
export async function respawnEngine(e: { dataDir: string; runDir: string; socket: string }): Promise<ChildProcess> {
  const child = spawn(process.execPath, [SKIFF, 'engine', '--data-dir', e.dataDir, '--socket', e.socket, '--run-dir', e.runDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  while (!(await ping(e.socket))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('respawned engine did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

/** The pid of the engine serving `dataDir`. */
export function enginePid(dataDir: string): number {
  const pids = pidsMatching(`engine --data-dir ${dataDir}`);
  if (pids.length !== 1) throw new Error(`expected one engine for ${dataDir}, found ${pids.length}`);
  return pids[0];
}

/** Polls until fn() is truthy (no timing assertions: a generous deadline, then the last value). */
export async function until<T>(fn: () => Promise<T> | T, timeoutMs = 30_000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await fn();
  while (!v && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, stepMs));
    v = await fn();
  }
  return v;
}
