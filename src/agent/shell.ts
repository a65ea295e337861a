/**
 * Runs the agent's short host commands (pod namespace setup, unmounts) through one long-lived `bash` helper
 * instead of spawning each from this process.
 *
 * Why: Node spawns by fork()ing the calling process, and the fork of the server (API server + store + engine
 * + agent, 150–250 MB resident) costs 8–20 ms of the event loop per spawn on this VM (measured: a bare
 * `spawn('/bin/true')` takes ~5 ms at 44 MB RSS, ~28 ms at 244 MB). Under pod churn those forks were a third
 * of the event loop. A fork of a small bash is nearly free, and it runs on its own CPU.
 *
 * Protocol: each job is a script file under `dir`; the helper gets "<id> <file>" on stdin, runs the file in a
 * background subshell (sourced: no exec of another shell) (bash reaps its background jobs, unlike dash: no zombies), output to "<file>.out",
 * and answers "<id> <exit code>" on stdout (short lines: atomic on a pipe). The helper is restarted if it
 * dies; jobs in flight then fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';

const LOOP = `while IFS=' ' read -r id file; do
  { ( . "$file" ) >"$file.out" 2>&1 </dev/null; echo "$id $?"; } &
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
  private readonly jobs = new Map<number, { file: string; resolve: (code: number) => void; reject: (e: Error) => void }>();
  private ready?: Promise<void>;

  constructor(private readonly dir: string) {}

  /** Runs script (POSIX sh syntax, run by bash); rejects with ShellError on a non-zero exit unless allowFail. */
  async run(script: string, opts: { what?: string; allowFail?: boolean } = {}): Promise<ShellResult> {
    this.ready ??= fs.mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    await this.ready;
    const id = ++this.seq;
    const file = path.join(this.dir, `job-${process.pid}-${id}`);
    await fs.writeFile(file, script, { mode: 0o600 });
    try {
      const code = await new Promise<number>((resolve, reject) => {
        this.jobs.set(id, { file, resolve, reject });
        const h = this.helper();
        this.setRef(h, true);
        h.stdin!.write(`${id} ${file}\n`);
      });
      const output = await fs.readFile(`${file}.out`, 'utf8').catch(() => '');
      const res = { code, output };
      if (code !== 0 && !opts.allowFail) throw new ShellError(opts.what ?? 'sh', res);
      return res;
    } finally {
      this.jobs.delete(id);
      if (!this.jobs.size && this.child) this.setRef(this.child, false);
      await Promise.all([fs.rm(file, { force: true }), fs.rm(`${file}.out`, { force: true })]);
    }
  }

  /** Ends the helper (jobs already started finish on their own). */
  close(): void {
    const c = this.child;
    this.child = undefined;
    c?.stdin?.end();
  }

  private helper(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    const c = spawn('bash', ['-c', LOOP], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child = c;
    this.buf = '';
    c.stdout!.setEncoding('utf8');
    c.stdout!.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const [id, code] = this.buf.slice(0, nl).split(' ').map(Number);
        this.buf = this.buf.slice(nl + 1);
        this.jobs.get(id)?.resolve(code);
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
