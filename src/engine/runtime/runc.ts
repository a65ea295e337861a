/**
 * A thin wrapper over the runc CLI with its own `--root`, so the engine's containers never mix with
 * another runc user's (and each test's engine has its own).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { internal, notFound, conflict } from '../../common/errors';
import type { Launcher } from './launcher';

export interface RuncState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
}

export class Runc {
  /** @param opts.launcher whose helper holds a sealed copy of runc to run instead of `path` (see launcher.ts). */
  constructor(readonly opts: { path: string; root: string; launcher?: Launcher }) {}

  /**
   * The path to execute runc by: the launch helper's sealed copy while it runs (runc init then skips copying
   * itself), else the configured binary.
   */
  get exe(): string {
    return this.opts.launcher?.runtimePath(this.opts.path) ?? this.opts.path;
  }

  /** Global args conmon passes on to runc. */
  get globalArgs(): string[] {
    return [`--root=${this.opts.root}`];
  }

  run(args: string[], timeoutMs = 60_000, exe = this.exe): Promise<{ stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      execFile(
        exe,
        [...this.globalArgs, ...args],
        { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          // The sealed copy vanished with its helper between the lookup and the exec: the binary on disk.
          if (err && (err as NodeJS.ErrnoException).code === 'ENOENT' && exe !== this.opts.path)
            return void this.run(args, timeoutMs, this.opts.path).then(resolve, reject);
          if (err) {
            const msg = cleanRuncError(String(stderr)) || err.message;
            if (/does not exist|not found/i.test(msg)) reject(notFound(`runc ${args[0]}: ${msg}`));
            else if (/not running|not paused|is paused|cannot (pause|resume)|container not running/i.test(msg))
              reject(conflict(`runc ${args[0]}: ${msg}`));
            else reject(internal(`runc ${args.join(' ')}: ${msg}`));
          } else resolve({ stdout: String(stdout), stderr: String(stderr) });
        },
      );
    });
  }

  /**
   * `runc start` without spawning runc: a created container's init blocks opening `exec.fifo` for writing;
   * opening it for reading, reading its byte and removing it is exactly what `runc start` does (and how runc
   * itself later tells "created" from "running"). Falls back to the CLI if the fifo is not there.
   */
  async start(id: string, initPid?: number): Promise<void> {
    const fifo = path.join(this.opts.root, id, 'exec.fifo');
    let fh: fsp.FileHandle | undefined;
    // If init died before opening its end, our blocking open would hang (and hold a libuv thread):
    // a watchdog opens the write end itself to release it, as runc's own 100 ms check does.
    let dead = false;
    const watchdog = initPid
      ? setInterval(() => {
          if (processAlive(initPid)) return;
          dead = true;
          try {
            fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
          } catch {
            /* no reader yet or fifo gone */
          }
        }, 100)
      : undefined;
    try {
      fh = await fsp.open(fifo, 'r');
      const { bytesRead } = await fh.read(Buffer.alloc(16), 0, 16, null);
      if (bytesRead === 0)
        throw dead ? internal(`container ${id}: process is already dead`) : conflict(`cannot start container ${id}: it is already running`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return void (await this.run(['start', id]));
      throw err;
    } finally {
      if (watchdog) clearInterval(watchdog);
      await fh?.close();
    }
    try {
      fs.unlinkSync(fifo);
    } catch {
      /* already gone */
    }
  }

  async kill(id: string, signal: string | number, all = false): Promise<void> {
    await this.run(['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }

  async delete(id: string, force = false): Promise<void> {
    await this.run(['delete', ...(force ? ['--force'] : []), id]);
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id]);
  }

  /** The runtime's view of a container, or undefined when runc does not know it. */
  async state(id: string): Promise<RuncState | undefined> {
    try {
      const { stdout } = await this.run(['state', id]);
      return JSON.parse(stdout) as RuncState;
    } catch (err) {
      if (err instanceof Error && /does not exist|not found/i.test(err.message)) return undefined;
      throw err;
    }
  }

  /** Ids runc has state for (a directory listing: cheaper than `runc list`). */
  async ids(): Promise<string[]> {
    try {
      return (await fsp.readdir(this.opts.root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return [];
    }
  }

  stateDir(id: string): string {
    return path.join(this.opts.root, id);
  }
}

/** runc prints logrus lines (`time=".." level=error msg="..."`): keep the message. */
export function cleanRuncError(stderr: string): string {
  const msgs = [...stderr.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\"/g, '"'));
  return (msgs.length ? msgs.join('; ') : stderr).trim();
}

/** Alive and not a zombie (a dead init stays a zombie until conmon reaps it). */
function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
