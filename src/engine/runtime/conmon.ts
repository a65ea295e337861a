/**
 * Launching conmon, the small C monitor that owns a container's stdio, log file and exit status, so no
 * Node process lives per container and containers outlive the engine.
 *
 * conmon double-forks: the process we spawn exits at once; the daemon half runs `runc create` (or
 * `runc exec --detach`) and reports over the sync pipe (`_OCI_SYNCPIPE`, JSON lines `{"data": n}`): first the
 * container pid (negative + message on failure), then, for exec, the exit code. At exit it writes the exit
 * code to `<exit-dir>/<container id>` and `<persist-dir>/exit`, and an `oom` file on an OOM kill.
 * Arguments follow podman's libpod/oci_conmon_linux.go.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import path from 'node:path';
import { internal, invalid } from '../../common/errors';
import type { Launcher } from './launcher';

export interface ConmonCommon {
  conmonPath: string;
  runtimePath: string;
  runtimeArgs: string[];
  /** Container id (runc's). */
  cid: string;
  /** conmon's own id: the container id, or the exec id. */
  cuuid: string;
  name: string;
  /** Directory holding the attach socket and ctl fifo (the bundle for containers, the exec dir for execs). */
  bundle: string;
  pidFile: string;
  conmonPidFile: string;
  exitDir: string;
  persistDir: string;
  logPath: string;
  logSizeMax?: number;
  terminal: boolean;
  stdin: boolean;
  /** Keep the container's stdin open when an attached client leaves (Docker's StdinOnce=false). */
  leaveStdinOpen?: boolean;
  /** Kill after this many seconds (health checks). */
  timeoutSeconds?: number;
}

export interface ExecOptions extends ConmonCommon {
  processSpecPath: string;
}

export interface ConmonHandle {
  /** The container's (or exec process's) pid. */
  pid: number;
  /** For exec: resolves with the exit code reported on the sync pipe (undefined if the pipe closed first). */
  exit: Promise<number | undefined>;
}

function commonArgs(o: ConmonCommon): string[] {
  const args = [
    '--api-version', '1',
    '-c', o.cid,
    '-u', o.cuuid,
    '-r', o.runtimePath,
    '-b', o.bundle,
    '-p', o.pidFile,
    '-n', o.name,
    '--exit-dir', o.exitDir,
    '--persist-dir', o.persistDir,
    '--full-attach',
    '-l', `k8s-file:${o.logPath}`,
    '--log-level', 'error',
    '--conmon-pidfile', o.conmonPidFile,
    // conmon fsyncs the log at exit by default: a cost on every container exit we do not need.
    '--no-sync-log',
  ];
  for (const a of o.runtimeArgs) args.push('--runtime-arg', a);
  if (o.logSizeMax && o.logSizeMax > 0) args.push('--log-size-max', String(o.logSizeMax));
  if (o.terminal) args.push('-t');
  if (o.stdin) args.push('-i');
  if (o.stdin && o.leaveStdinOpen) args.push('--leave-stdin-open');
  if (o.timeoutSeconds && o.timeoutSeconds > 0) args.push('-T', String(Math.ceil(o.timeoutSeconds)));
  return args;
}

/**
 * Starts conmon, which runs `runc create`; resolves once the container exists (its init waits for `runc start`).
 * With a launcher, conmon is started by its helper instead of a fork of this process (see launcher.ts).
 */
export async function conmonCreate(o: ConmonCommon, launcher?: Launcher): Promise<ConmonHandle> {
  if (!launcher) return launch(o, commonArgs(o));
  if (o.bundle.length + '/attach'.length >= 108) throw invalid(`attach socket path too long under ${o.bundle}`);
  const r = await launcher
    .launch({
      // The runtime as the helper runs it: its sealed copy of runc (launcher.ts).
      argv: [o.conmonPath, ...commonArgs({ ...o, runtimePath: launcher.runtimeArg(o.runtimePath) })],
      // conmon writes an `oom` marker into its working directory on an OOM kill: run it in the bundle.
      cwd: o.bundle,
      env: { _OCI_SYNCPIPE: '3' },
      errFile: path.join(o.bundle, 'conmon.err'),
    })
    .catch((err: Error) => {
      throw internal(`cannot run conmon: ${err.message}`, err);
    });
  if (r.line === undefined) throw internal(`conmon exited without reporting a pid: ${r.stderr.trim() || 'no message'}`);
  const msg = parseSync(r.line);
  if (msg.data < 0 || msg.message) throw runtimeError(msg.message ?? `conmon reported ${msg.data}`);
  // conmon keeps the sync pipe for an exec's exit code only; a container's exit comes through the exit dir.
  return { pid: msg.data, exit: Promise.resolve(undefined) };
}

/** Starts conmon in exec mode (`runc exec --detach --process spec`); resolves once the process runs. */
export function conmonExec(o: ExecOptions): Promise<ConmonHandle> {
  return launch(o, [...commonArgs(o), '-e', '--exec-process-spec', o.processSpecPath]);
}

function launch(o: ConmonCommon, args: string[]): Promise<ConmonHandle> {
  if (o.bundle.length + '/attach'.length >= 108) throw invalid(`attach socket path too long under ${o.bundle}`);
  return new Promise((resolve, reject) => {
    const child = spawn(o.conmonPath, args, {
      // conmon writes an `oom` marker into its working directory on an OOM kill (CRI-O runs it in the
      // bundle): run it there too, never in the engine's own cwd.
      cwd: o.bundle,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, _OCI_SYNCPIPE: '3' },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(internal(`cannot run conmon: ${err.message}`, err)));
    const sync = child.stdio[3] as Readable;
    const messages = lines(sync);
    let settled = false;
    let resolveExit!: (code: number | undefined) => void;
    const exit = new Promise<number | undefined>((r) => (resolveExit = r));
    (async () => {
      for await (const msg of messages) {
        if (!settled) {
          settled = true;
          if (msg.data < 0 || msg.message) {
            sync.destroy();
            reject(runtimeError(msg.message ?? `conmon reported ${msg.data}`));
            return;
          }
          resolve({ pid: msg.data, exit });
        } else {
          resolveExit(msg.data);
          sync.destroy();
          return;
        }
      }
      if (!settled) {
        settled = true;
        reject(internal(`conmon exited without reporting a pid: ${stderr.trim() || 'no message'}`));
      }
      resolveExit(undefined);
    })().catch((err) => {
      if (!settled) reject(err);
      resolveExit(undefined);
    });
    // The spawned half exits at once (double fork); the daemon half holds the sync pipe.
    child.on('exit', (code) => {
      if (code !== 0 && !settled) {
        settled = true;
        reject(internal(`conmon failed (exit ${code}): ${stderr.trim()}`));
      }
    });
  });
}

/** runc's error text as conmon relays it ("runtime stderr: time=... msg=..."), reduced to the message. */
function runtimeError(raw: string): Error {
  const msgs = [...raw.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\"/g, '"'));
  const text = (msgs.length ? msgs[msgs.length - 1] : raw).trim();
  // Docker's wording for a missing executable is what users grep for.
  const m = /exec: "([^"]+)": (executable file not found in \$PATH|stat [^:]+: no such file or directory)/.exec(text);
  const err = internal(`failed to create task for container: ${text}`);
  (err as Error & { exitHint?: number }).exitHint = m ? 127 : /permission denied/.test(text) ? 126 : 128;
  return err;
}

async function* lines(stream: Readable): AsyncGenerator<{ data: number; message?: string }> {
  let buf = '';
  for await (const chunk of stream) {
    buf += (chunk as Buffer).toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) yield parseSync(line);
    }
  }
}

function parseSync(line: string): { data: number; message?: string } {
  try {
    return JSON.parse(line) as { data: number; message?: string };
  } catch {
    // conmon escapes messages; anything unparsable is reported verbatim
    return { data: -1, message: line.trim() };
  }
}
