/** What every docker-like verb is: a flag spec and an async body over an Engine API client. */
import type { CommandSpec, ParsedFlags } from './flags';
import type { EngineClient } from './client';

export interface Ctx {
  /** Created on first use so --help and usage errors never touch the socket. */
  readonly client: EngineClient;
  readonly flags: ParsedFlags;
  /** Flag values by long name (shortcut for flags.values). */
  readonly v: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly args: string[];
  out(s: string): void;
  err(s: string): void;
}

export interface Command {
  spec: CommandSpec;
  /** Returns the process exit code. */
  run(ctx: Ctx): Promise<number>;
}

/** Thrown by commands for a client-side error docker prints plainly (optionally with a status). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Runs `fn` per argument like docker's multi-object verbs: print errors, keep going, exit 1 if any failed. */
export async function forEachArg(ctx: Ctx, fn: (arg: string) => Promise<string | void>): Promise<number> {
  let failed = false;
  for (const a of ctx.args) {
    try {
      const line = await fn(a);
      if (line !== undefined) ctx.out(line + '\n');
    } catch (e) {
      failed = true;
      ctx.err(errorLine(e) + '\n');
    }
  }
  return failed ? 1 : 0;
}

/** docker's rendering of an error: daemon errors get "Error response from daemon: ". */
export function errorLine(e: unknown): string {
  if (e && typeof e === 'object' && (e as Error).name === 'DaemonError') return `Error response from daemon: ${(e as Error).message}`;
  return e instanceof Error ? e.message : String(e);
}

export const enc = encodeURIComponent;

/** Path-escapes a reference but keeps '/' and ':' as docker's Go client does (image names like reg:5000/a/b:tag). */
export const encRef = (s: string) => s.split('/').map((p) => encodeURIComponent(p).replace(/%3A/gi, ':').replace(/%40/g, '@')).join('/');
