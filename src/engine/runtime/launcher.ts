/**
 * Starts self-daemonizing monitors (conmon) through one long-lived `bash` helper instead of spawning each
 * from the engine's own process.
 *
 * Why: Node spawns by fork()ing the calling process; a fork of the engine (70+ MB resident, far more when the
 * agent and API server share the process) blocks the event loop for 5–28 ms on this VM, and sits on the
 * critical path of every container start. A fork of a small bash is nearly free and runs on its own CPU.
 * (src/agent/shell.ts does the same for the agent's host commands.)
 *
 * What is run must daemonize itself (conmon double-forks and calls setsid), so nothing it leaves behind is a
 * child of the helper or of the engine: it outlives both, a kill -9 included. The helper only waits for the
 * first line on the program's sync pipe (fd 3, conmon's `_OCI_SYNCPIPE`), which for conmon is the container
 * pid or an error, and answers with it.
 *
 * Protocol (no files on success): the job goes down the helper's stdin as "<id> <length>\n<script>"; the helper
 * acknowledges it ("<id> +") and runs it in a background subshell (bash reaps its background jobs), which
 * answers one line on stdout:
 *   "<id> sync <first sync line>"   the program reported (a line shorter than 3500 bytes)
 *   "<id> long"                     the same, but the line is long: it was written to the error file instead
 *   "<id> fail"                     the sync pipe closed without a line: the error file holds stderr
 * Lines stay under PIPE_BUF, so answers of concurrent jobs never interleave. (bash 5 reads the job itself with
 * one read(2); a launch costs two bash forks, the subshell that answers and the one that execs the program.)
 * run() jobs (short commands whose output is wanted: networking's netns and CNI calls) take stdin from a file
 * and write stdout/stderr to files under the work dir, and answer "<id> exit <code>".
 *
 * The container manager uses it unless SKIFF_NO_LAUNCHER is set (then conmon is spawned from the engine, as
 * before; for A/B measurements).
 *
 * If the helper dies, the next launch starts a new one. A job it had started keeps its own copy of the helper's
 * stdout and still answers through it; a job it had not read yet (no acknowledgement) is given to the new one.
 *
 * The sealed runtime (option `runtime`, the engine's runc): the helper also holds a copy of runc in a fully
 * sealed memfd (F_SEAL_SEAL|SHRINK|GROW|WRITE), and runc is run as /proc/<helper>/fd/<n>, through a symlink
 * <work dir>/runc so that it is still named runc in ps (`runtimePath()`; RUNTIME in a job's argv). Why:
 * `runc init` (nsexec's ensure_cloned_binary) otherwise makes itself a safe copy and re-execs it, for every
 * container and exec: a read-only bind mount of its binary (mkstemp, mount, remount, umount: what runc 1.1.5
 * does here) or else a copy of the whole 8.7 MB into a fresh memfd. The mount variant costs little CPU in runc
 * itself, but each mount event makes systemd (on a real node) re-read the whole mountinfo (runc issues #2532,
 * #3925), and takes the kernel's namespace lock that every container's own mounts contend for. The copy exists
 * so that a container cannot overwrite the host's runc through /proc/self/exe (CVE-2019-5736); a sealed memfd
 * cannot be written at all, so runc itself re-uses one
 * (cloned_binary.c is_self_cloned: "an admin could bind-mount a sealed memfd to /usr/bin/runc"). Node has no
 * memfd_create: a few lines of perl (perl-base is Essential on Debian) make it before exec'ing the helper's
 * bash, which inherits it (same pid); jobs close it, so conmon and runc do not pin it. The copy is taken when
 * the helper starts: a runc upgraded on disk is used from the next helper (engine restart) on. Without perl,
 * or if the memfd cannot be made, RUNTIME is the configured path, as is runtimePath() while no helper runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** $1: the runtime to run (the sealed copy or the configured path); $2: the memfd's fd, closed in jobs. */
const LOOP = `RUNC=$1 MFD=$2
while IFS=' ' read -r id n; do
  IFS= read -r -d '' -N "$n" job
  printf '%s +\n' "$id"
  { [ -z "$MFD" ] || exec {MFD}<&-; eval "$job"; } </dev/null 2>/dev/null &
done
`;

/**
 * Makes the sealed memfd copy of the runtime ($ARGV[0]), says "memfd <path>" ("-": none) on stdout, and execs
 * the helper's bash loop ($ARGV[1]) with the runtime to use. syscall 319 is memfd_create on x86_64, flags
 * MFD_ALLOW_SEALING (no MFD_CLOEXEC: bash must inherit it); fcntl 2 = F_SETFD, 1033 = F_ADD_SEALS, 15 = all
 * four seals, exactly what runc's is_self_cloned wants. $^F: perl leaves the handle open across exec.
 * The path is a symlink <work dir>/runc ($ARGV[2]) to /proc/<pid>/fd/<n>, replaced atomically by each new
 * helper: a program's name (comm: what ps, top and perf show) is the basename of the path it was executed by,
 * so runc stays "runc" and not "4".
 */
const SEAL = `$| = 1;
my ($rt, $loop, $dir) = @ARGV;
my ($fd, $keep) = (-1);
$^F = 1 << 20;
if ($^O eq 'linux' && $rt ne '' && open(my $in, '<:raw', $rt)) {
  my $m = syscall(319, my $name = 'skiff_runc', 2);
  if ($m >= 0 && open($keep, '+<&=:raw', $m)) {
    my ($buf, $ok, $n) = ('', 1);
    while ($n = sysread($in, $buf, 1 << 20)) { $ok = 0, last unless (syswrite($keep, $buf) // -1) == $n; }
    if ($ok && defined $n && fcntl($keep, 2, 0) && fcntl($keep, 1033, 15)) { $fd = $m } else { close $keep; undef $keep }
  }
  close $in;
}
my $path = $fd >= 0 ? "/proc/$$/fd/$fd" : '';
if ($path ne '' && $dir ne '') {
  my $tmp = "$dir/.runc.$$";
  unlink $tmp;
  $path = "$dir/runc" if symlink($path, $tmp) && rename($tmp, "$dir/runc");
}
print 'memfd ', ($path eq '' ? '-' : $path), "\n";
exec 'bash', '-c', $loop, 'skiff-launch', $path eq '' ? $rt : $path, $fd >= 0 ? $fd : '';
`;

/** An argv entry standing for the runtime the helper runs (the sealed copy); NUL cannot be in a real argument. */
export const RUNTIME = '\0runtime';

/** The longest sync line answered inline (the answer stays under PIPE_BUF = 4096 bytes). */
const INLINE_MAX = 3500;

export interface LaunchOptions {
  /** Program and arguments (the program must daemonize and report on fd 3). */
  argv: string[];
  /** Working directory of the program. */
  cwd: string;
  /** Extra environment for the program (on top of the engine's at the helper's start). */
  env?: Record<string, string>;
  /** Where the program's stderr goes (read on failure); also carries a long sync line. */
  errFile: string;
}

export interface LaunchResult {
  /** The first line the program wrote on its sync pipe; undefined if the pipe closed first. */
  line?: string;
  /** The program's stderr when it reported nothing. */
  stderr: string;
}

/** Single-quotes a word for sh. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The job script for one launch (pure: tested on its own). */
export function launchScript(id: number, o: LaunchOptions): string {
  const env = Object.entries(o.env ?? {})
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${k}`);
      return `${k}=${shq(v)} `;
    })
    .join('');
  const err = shq(o.errFile);
  return [
    `cd ${shq(o.cwd)} || { printf '%s fail\\n' ${id}; exit; }`,
    // The program's fd 3 is the write end of a pipe whose read end this subshell keeps as its own fd 3.
    `exec 3< <(${env}exec ${o.argv.map((a) => (a === RUNTIME ? '"$RUNC"' : shq(a))).join(' ')} 3>&1 >/dev/null 2>${err} </dev/null)`,
    `if IFS= read -r line <&3; then`,
    `  if [ \${#line} -lt ${INLINE_MAX} ]; then printf '%s sync %s\\n' ${id} "$line"; else printf '%s\\n' "$line" >${err}; printf '%s long\\n' ${id}; fi`,
    `else printf '%s fail\\n' ${id}; fi`,
    '',
  ].join('\n');
}

export interface RunOptions {
  /** The whole environment of the command (default: the helper's, i.e. the engine's at its start). */
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The job script for a short command whose output is wanted: stdin, stdout and stderr are files (exact bytes,
 * any size), the answer is "<id> exit <code>". Pure: tested on its own.
 */
export function runScript(id: number, argv: string[], files: { in?: string; out: string; err: string }, o: RunOptions): string {
  const env = o.env
    ? ['env', '-i', ...Object.entries(o.env).filter(([, v]) => v !== undefined).map(([k, v]) => {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${k}`);
        return `${k}=${v}`;
      })]
    : [];
  const timeout = o.timeoutMs ? ['timeout', '-s', 'KILL', String(Math.max(1, Math.ceil(o.timeoutMs / 1000)))] : [];
  const cmd = [...timeout, ...env, ...argv].map(shq).join(' ');
  return `${cmd} <${files.in ? shq(files.in) : '/dev/null'} >${shq(files.out)} 2>${shq(files.err)}; printf '%s exit %s\n' ${id} $?\n`;
}

interface Job {
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
  /** Turns the job's answer ("sync <line>", "exit 0"...) into its result. */
  finish: (kind: string, rest: string) => unknown;
  script: string;
  /** The helper the job was last given to. */
  helper: ChildProcess;
  /** That helper read it and started it (its "<id> +" line came). */
  acked: boolean;
  sends: number;
}

/** How often a job is given to a new helper when the one holding it dies before starting it. */
const MAX_SENDS = 3;
/** After a helper's exit, how long its last lines may take to be read before unacknowledged jobs are resent. */
const EXIT_GRACE_MS = 50;

export class Launcher {
  private child?: ChildProcess;
  private seq = 0;
  private readonly jobs = new Map<number, Job>();
  private closed = false;
  /** Helpers known to be gone whose 'exit' may not have been seen yet: never written to again. */
  private readonly dead = new WeakSet<ChildProcess>();

  /** Runs the program through the helper; resolves with its first sync line (or its stderr if none). */
  launch(o: LaunchOptions): Promise<LaunchResult> {
    return this.submit<LaunchResult>(
      (id) => launchScript(id, o),
      async (kind, rest) => {
        if (kind === 'sync') return { line: rest, stderr: '' };
        const text = await fsp.readFile(o.errFile, 'utf8').catch(() => '');
        return kind === 'long' ? { line: text.replace(/\n$/, ''), stderr: '' } : { stderr: text };
      },
    );
  }

  /**
   * Runs a short command through the helper and collects its exit code and output (what src/network's `run`
   * does by spawning from this process). A command the helper cannot start exits 127 with the reason in stderr.
   */
  run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
    const dir = this.workDir();
    const base = path.join(dir, `${process.pid}-${++this.runSeq}`);
    const files = { in: o.stdin !== undefined ? `${base}.in` : undefined, out: `${base}.out`, err: `${base}.err` };
    if (files.in) fs.writeFileSync(files.in, o.stdin!);
    const take = (f: string | undefined): string => {
      if (!f) return '';
      try {
        return fs.readFileSync(f, 'utf8');
      } catch {
        return '';
      } finally {
        try {
          fs.unlinkSync(f);
        } catch {
          /* gone */
        }
      }
    };
    return this.submit<RunResult>(
      (id) => runScript(id, [cmd, ...args], files, o),
      (kind, rest) => {
        take(files.in);
        const out = { code: kind === 'exit' ? Number(rest) : 127, stdout: take(files.out), stderr: take(files.err) };
        return out;
      },
    );
  }

  private runSeq = 0;
  private dir?: string;

  /** The helper holding a sealed copy of the runtime, and that copy's path (see the header). */
  private sealed?: { helper: ChildProcess; path: string };

  /**
   * @param opts.workDir where run() keeps its stdio files (default: a new temp dir); removed by close().
   * @param opts.runtime the runtime (runc) the helper keeps a sealed copy of: RUNTIME in a job's argv, runtimePath().
   */
  constructor(private readonly opts: { workDir?: string; runtime?: string } = {}) {}

  /**
   * The path to run `runtime` by: the helper's sealed copy while that helper runs, else `runtime` itself
   * (also for any other runtime than the one this launcher was given).
   */
  runtimePath(runtime: string): string {
    const s = this.sealed;
    if (runtime !== this.opts.runtime || !s || s.helper !== this.child || this.dead.has(s.helper) || s.helper.exitCode !== null || s.helper.signalCode !== null)
      return runtime;
    return s.path;
  }

  /** What to put in a job's argv for `runtime`: RUNTIME when the helper runs it (its sealed copy), else the path. */
  runtimeArg(runtime: string): string {
    return runtime === this.opts.runtime ? RUNTIME : runtime;
  }

  /** Where run() keeps its stdio files (small, removed after each command). */
  private workDir(): string {
    if (!this.dir) {
      if (this.opts.workDir) fs.mkdirSync((this.dir = this.opts.workDir), { recursive: true, mode: 0o700 });
      else this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-launcher-'));
    }
    return this.dir;
  }

  private submit<T>(script: (id: number) => string, finish: (kind: string, rest: string) => T | Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('launcher closed'));
    const id = ++this.seq;
    const text = script(id);
    return new Promise<T>((resolve, reject) => {
      const job: Job = { resolve: resolve as (r: unknown) => void, reject, finish, script: text, helper: undefined!, acked: false, sends: 0 };
      this.jobs.set(id, job);
      this.send(id, job);
    }).finally(() => {
      this.jobs.delete(id);
      if (!this.jobs.size && this.child) this.setRef(this.child, false);
    });
  }

  /** Starts the helper now, so that the first launch does not pay for it. */
  warm(): void {
    if (this.closed) return;
    const h = this.helper();
    if (!this.jobs.size) this.setRef(h, false);
  }

  /** False once closed (run() and launch() then reject at once, having sent nothing). */
  get open(): boolean {
    return !this.closed;
  }

  /** The helper's pid while it runs (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Ends the helper; jobs already started finish and still answer. */
  close(): void {
    this.closed = true;
    const c = this.child;
    this.child = undefined;
    c?.stdin?.end();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private send(id: number, job: Job): void {
    const h = this.helper();
    job.helper = h;
    job.acked = false;
    job.sends++;
    this.setRef(h, true);
    h.stdin!.write(`${id} ${Buffer.byteLength(job.script)}\n${job.script}`);
  }

  private helper(): ChildProcess {
    const cur = this.child;
    if (cur && !this.dead.has(cur) && cur.exitCode === null && cur.signalCode === null) return cur;
    // C locale: `read -N` counts bytes. Own stderr: nothing of it reaches the engine's.
    const rt = this.opts.runtime;
    // syscall 319 is memfd_create on x86_64 only.
    const perl = rt && process.arch === 'x64' ? findPerl() : undefined;
    const [cmd, args] = perl && rt ? [perl, ['-e', SEAL, rt, LOOP, this.workDir()]] : ['bash', ['-c', LOOP, 'skiff-launch', rt ?? '', '']];
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' } });
    this.child = c;
    const out = c.stdout!;
    let buf = '';
    out.setEncoding('utf8');
    out.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^memfd (.+)$/.exec(line);
        if (m) {
          if (m[1] !== '-') this.sealed = { helper: c, path: m[1] };
        } else void this.answer(line);
      }
    });
    const gone = () => {
      this.dead.add(c);
      if (this.child === c) this.child = undefined;
    };
    // The helper died: jobs it never read are still in its stdin. Once its last lines are read, give
    // those to a new helper (a job it started answers on its own copy of the output pipe).
    c.on('exit', () => {
      gone();
      setTimeout(() => this.resendUnstarted(c), EXIT_GRACE_MS);
    });
    // Every holder of the output pipe is gone (the helper and the jobs it started): nothing more comes.
    out.on('close', () => {
      gone();
      this.resendUnstarted(c);
      for (const [id, j] of this.jobs) if (j.helper === c) this.settle(id, undefined, new Error('the launch helper exited'));
    });
    c.stdin!.on('error', () => undefined);
    c.on('error', () => undefined);
    return c;
  }

  private resendUnstarted(c: ChildProcess): void {
    for (const [id, j] of this.jobs) {
      if (j.helper !== c || j.acked) continue;
      if (this.closed || j.sends >= MAX_SENDS) this.settle(id, undefined, new Error('the launch helper exited'));
      else this.send(id, j);
    }
  }

  private async answer(line: string): Promise<void> {
    const m = /^(\d+) (\+|sync|long|fail|exit) ?(.*)$/.exec(line);
    if (!m) return;
    const id = Number(m[1]);
    const job = this.jobs.get(id);
    if (!job) return;
    if (m[2] === '+') return void (job.acked = true);
    try {
      this.settle(id, await job.finish(m[2], m[3]));
    } catch (err) {
      this.settle(id, undefined, err as Error);
    }
  }

  private settle(id: number, r: unknown, err?: Error): void {
    const job = this.jobs.get(id);
    if (!job) return;
    this.jobs.delete(id);
    if (err) job.reject(err);
    else job.resolve(r);
  }

  /** The idle helper must not keep the process alive; one with jobs in flight must. */
  private setRef(c: ChildProcess, on: boolean): void {
    for (const h of [c, c.stdout, c.stdin] as unknown as { ref?: () => void; unref?: () => void }[]) {
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }
}

let perlPath: string | null | undefined;

/** perl on PATH (cached), or undefined. */
function findPerl(): string | undefined {
  if (perlPath === undefined) {
    perlPath = null;
    for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
      const p = path.join(dir || '.', 'perl');
      try {
        fs.accessSync(p, fs.constants.X_OK);
        perlPath = p;
        break;
      } catch {
        /* not here */
      }
    }
  }
  return perlPath ?? undefined;
}
