/**
 * Runs host tools (ip, iptables, CNI plugins, mount helpers) without a shell: arguments are passed as an
 * array so no name or address a user chose is ever interpreted by a shell.
 */
import { spawn } from 'node:child_process';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  /** Resolve even on a non-zero exit (the caller inspects `code`). */
  allowFail?: boolean;
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: string[],
    readonly result: RunResult,
  ) {
    super(`${cmd} ${args.join(' ')} exited ${result.code}: ${(result.stderr || result.stdout).trim()}`);
  }
}

/**
 * Runs a command and reports its exit code and output without judging it (no throw on a non-zero exit): how a
 * caller may run the per-container commands (netns creation, CNI plugins) other than by spawning from this
 * process, e.g. through a small long-lived helper so that a large process is not forked for each.
 */
export type Runner = (cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number }) => Promise<RunResult>;

/** `run` through a Runner when one is given (same errors as run: CommandError unless allowFail). */
export async function runVia(runner: Runner | undefined, cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  if (!runner) return run(cmd, args, opts);
  const result = await runner(cmd, args, { env: opts.env, stdin: opts.stdin, timeoutMs: opts.timeoutMs });
  if (result.code !== 0 && !opts.allowFail) throw new CommandError(cmd, args, result);
  return result;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const result = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (result.code !== 0 && !opts.allowFail) reject(new CommandError(cmd, args, result));
      else resolve(result);
    });
    // A plugin that exits before reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
  });
}
