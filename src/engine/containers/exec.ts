/**
 * Exec sessions (`docker exec`): each runs under its own conmon (`runc exec --detach --process`), which
 * owns its terminal or pipes, writes its output to a k8s-file log and reports the exit code. Output reaches
 * the client by following that log; input goes through the session's attach socket.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { conflict, invalid, notFound } from '../../common/errors';
import { conmonExec } from '../runtime/conmon';
import { attachInput, resizeTerminal, type AttachInput } from '../runtime/attach';
import { execProcess } from '../runtime/spec';
import { LogFollower, type LogEntry } from './logs';
import type { ContainerManager } from './manager';
import { resolveUser } from './user';

export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  Cmd?: string[];
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Privileged?: boolean;
  DetachKeys?: string;
  ConsoleSize?: [number, number] | null;
}

interface ExecSession {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
  dir: string;
}

export class ExecManager {
  private readonly sessions = new Map<string, ExecSession>();

  constructor(
    private readonly containers: ContainerManager,
    private readonly opts: {
      runDir: string;
      conmonPath: string;
      runtimePath: string;
      onEvent?(action: string, id: string, attributes: Record<string, string>): void;
    },
  ) {}

  create(containerRef: string, config: ExecConfig): string {
    const rec = this.containers.get(containerRef);
    if (!Array.isArray(config.Cmd) || config.Cmd.length === 0) throw invalid('No exec command specified');
    if (!rec.State.Running) throw conflict(`container ${rec.Id} is not running`);
    if (rec.State.Paused) throw conflict(`container ${rec.Id} is paused, unpause the container before exec`);
    const id = crypto.randomBytes(32).toString('hex');
    this.sessions.set(id, {
      id,
      containerId: rec.Id,
      config,
      running: false,
      started: false,
      exitCode: null,
      pid: 0,
      dir: path.join(this.opts.runDir, 'x', id.slice(0, 16)),
    });
    this.event(`exec_create: ${config.Cmd.join(' ')}`, rec.Id, id);
    return id;
  }

  private event(action: string, containerId: string, execId: string, extra: Record<string, string> = {}): void {
    let attrs: Record<string, string> = {};
    try {
      const rec = this.containers.get(containerId);
      attrs = { ...rec.Config.Labels, image: rec.Config.Image, name: rec.Name.slice(1) };
    } catch {
      /* removed meanwhile */
    }
    this.opts.onEvent?.(action, containerId, { ...attrs, execID: execId, ...extra });
  }

  get(id: string): ExecSession {
    const s = this.sessions.get(id);
    if (!s) throw notFound(`No such exec instance: ${id}`);
    return s;
  }

  /** Docker's GET /exec/{id}/json. */
  inspect(id: string): Record<string, unknown> {
    const s = this.get(id);
    const cmd = s.config.Cmd ?? [];
    return {
      ID: s.id,
      Running: s.running,
      ExitCode: s.exitCode,
      ProcessConfig: { tty: !!s.config.Tty, entrypoint: cmd[0], arguments: cmd.slice(1), privileged: !!s.config.Privileged, user: s.config.User ?? '' },
      OpenStdin: !!s.config.AttachStdin,
      OpenStderr: !!s.config.AttachStderr,
      OpenStdout: !!s.config.AttachStdout,
      CanRemove: false,
      ContainerID: s.containerId,
      DetachKeys: s.config.DetachKeys ?? '',
      Pid: s.pid,
    };
  }

  /**
   * Starts the session. `onEntry` receives its output; `done` resolves with the exit code after the last
   * output. `input` (when stdin is attached) feeds the process.
   */
  async start(
    id: string,
    opts: { detach: boolean; tty?: boolean; blocked?: () => boolean },
    onEntry: (e: LogEntry) => void,
  ): Promise<{ done: Promise<number>; input?: AttachInput; resume: () => void }> {
    const s = this.get(id);
    if (s.started) throw conflict(`Error: Exec command ${id} has already run`);
    const rec = this.containers.get(s.containerId);
    if (!rec.State.Running) throw conflict(`container ${rec.Id} is not running`);
    s.started = true;
    const tty = opts.tty ?? !!s.config.Tty;
    const stdin = !!s.config.AttachStdin && !opts.detach;
    const spec = await this.containers.specOf(rec.Id);
    // The container's root as its init sees it (the overlay may be mounted only inside its namespace).
    const user = s.config.User ? resolveUser(`/proc/${rec.State.Pid}/root`, s.config.User) : undefined;
    const proc = execProcess(spec.process, {
      args: s.config.Cmd!,
      env: s.config.Env ?? [],
      cwd: s.config.WorkingDir,
      terminal: tty,
      user: user ? { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) } : undefined,
      privileged: s.config.Privileged,
    });
    if (tty && !proc.env.some((e) => e.startsWith('TERM='))) proc.env.push('TERM=xterm');
    await fsp.mkdir(s.dir, { recursive: true, mode: 0o700 });
    const specPath = path.join(s.dir, 'process.json');
    await fsp.writeFile(specPath, JSON.stringify(proc));
    const logPath = path.join(s.dir, 'log');
    const follower = new LogFollower(logPath, { offset: 0, ino: 0 }, onEntry, opts.blocked);
    follower.start();
    let handle;
    try {
      handle = await conmonExec({
        conmonPath: this.opts.conmonPath,
        runtimePath: this.containers.runc.exe,
        runtimeArgs: this.containers.runc.globalArgs,
        cid: rec.Id,
        cuuid: id,
        name: rec.Name.slice(1),
        bundle: s.dir,
        pidFile: path.join(s.dir, 'pid'),
        conmonPidFile: path.join(s.dir, 'conmon.pid'),
        exitDir: s.dir,
        persistDir: s.dir,
        logPath,
        terminal: tty,
        stdin,
        processSpecPath: specPath,
      });
    } catch (err) {
      follower.stop();
      s.running = false;
      s.exitCode = (err as { exitHint?: number }).exitHint ?? 126;
      await fsp.rm(s.dir, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
    s.pid = handle.pid;
    s.running = true;
    this.event(`exec_start: ${s.config.Cmd!.join(' ')}`, rec.Id, id);
    const [h, w] = s.config.ConsoleSize ?? [0, 0];
    if (tty && h && w) resizeTerminal(s.dir, h, w);
    const input = stdin ? attachInput(path.join(s.dir, 'attach'), tty) : undefined;
    const done = (async () => {
      let code = await handle.exit;
      if (code === undefined) {
        const text = await fsp.readFile(path.join(s.dir, rec.Id), 'utf8').catch(() => '');
        code = text.trim() === '' ? 137 : Number(text.trim());
      }
      await follower.drain();
      input?.close();
      s.running = false;
      s.exitCode = code;
      this.event('exec_die', rec.Id, id, { exitCode: String(code) });
      await fsp.rm(s.dir, { recursive: true, force: true }).catch(() => undefined);
      return code;
    })();
    return { done, input, resume: () => follower.resume() };
  }

  resize(id: string, height: number, width: number): void {
    const s = this.get(id);
    if (!s.running) throw conflict(`exec ${id} is not running`);
    resizeTerminal(s.dir, height, width);
  }
}
