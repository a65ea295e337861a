/**
 * Runs the agent's short host commands (pod namespace setup, unmounts) through one long-lived `bash` helper
 * instead of spawning each from this process.
 *
 * Why: Node spawns by fork()ing the calling process, and the fork of the server (API server + store + engine
 * + agent, 150–250 MB resident) costs 8–20 ms of the event loop per spawn on this VM (measured: a bare
 * `spawn('/bin/true')` takes ~5 ms at 44 MB RSS, ~28 ms at 244 MB). Under pod churn those forks were a third
 * of the event loop. A fork of a small bash is nearly free, and it runs on its own CPU.
 *
 * Protocol (no files): the script goes down the helper's stdin as "<id> <length>\n<script>"; the helper runs
 * it in a background command substitution (bash reaps its background jobs, unlike dash: no zombies) and answers one line
 * "<id> <exit code> <output with newlines folded, at most 1000 chars>" — under PIPE_BUF, so lines from
 * concurrent jobs never interleave. The helper is restarted if it dies; jobs in flight then fail.
 *
 * Costs, measured (strace, perf): bash 5 reads the job with one read(2) (`read -N` of a pipe is not byte by
 * byte; only the short "<id> <length>" line is), so a job file would save nothing. What a job costs is its
 * forks, ~0.7 ms of CPU each here: the background subshell, the command substitution, and each non-final
 * command of the script. Tried and dropped: one fork per job, the helper reaping with `wait -n -p` and woken
 * for new input by SIGUSR1 — bash 5.2 loses a job's exit status (reports -1) when a trapped signal
 * interrupts `wait -n` while it reaps, and jobs it has already reaped drop out of what `wait -n` sees.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const LOOP = `while IFS=' ' read -r id n; do
  IFS= read -r -d '' -N "$n" script
  { out=$(eval "$script" 2>&1 </dev/null); c=$?; out=\${out//$'\\n'/ }; printf '%s %s %s\\n' "$id" "$c" "\${out:0:1000}"; } &
done
`;

export interface ShellResult {
  code: number;
  /** stdout and stderr together. */
  output: string;
}

export class ShellError extends Error {
  constructor(readonly what: string, readonly result: ShellResult) {
    super(`${what} exited ${result.code}: ${result.output.trim()}`);
  }
}

export class ShellRunner {
  private child?: ChildProcess;
  private buf = '';
  private seq = 0;
  private readonly jobs = new Map<number, { resolve: (r: ShellResult) => void; reject: (e: Error) => void }>();

  /** Runs script (POSIX sh syntax, run by bash); rejects with ShellError on a non-zero exit unless allowFail. */
  async run(script: string, opts: { what?: string; allowFail?: boolean } = {}): Promise<ShellResult> {
    const id = ++this.seq;
    const res = await new Promise<ShellResult>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      const h = this.helper();
      this.setRef(h, true);
      h.stdin!.write(`${id} ${Buffer.byteLength(script)}\n${script}`);
    }).finally(() => {
      this.jobs.delete(id);
      if (!this.jobs.size && this.child) this.setRef(this.child, false);
    });
    if (res.code !== 0 && !opts.allowFail) throw new ShellError(opts.what ?? 'sh', res);
    return res;
  }

  /** The helper's pid while it runs (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Ends the helper (jobs already started finish on their own). */
  close(): void {
    const c = this.child;
    this.child = undefined;
    c?.stdin?.end();
  }

  private helper(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    // C locale: read -N counts bytes.
    const c = spawn('bash', ['-c', LOOP], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' } });
    this.child = c;
    this.buf = '';
    c.stdout!.setEncoding('utf8');
    c.stdout!.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const m = /^(\d+) (\d+) ?(.*)$/.exec(line);
        if (m) this.jobs.get(Number(m[1]))?.resolve({ code: Number(m[2]), output: m[3] });
      }
    });
    c.stdin!.on('error', () => undefined);
    c.on('exit', () => {
      if (this.child === c) this.child = undefined;
      for (const j of this.jobs.values()) j.reject(new Error('the shell helper exited'));
    });
    return c;
  }

  /** The idle helper must not keep the process alive; one with jobs in flight must. */
  private setRef(c: ChildProcess, on: boolean): void {
    for (const h of [c, c.stdout, c.stdin] as unknown as { ref?: () => void; unref?: () => void }[]) {
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }
}

/** Single-quotes a word for sh. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
