/**
 * Docker's flag syntax (spf13/pflag as the docker CLI configures it), hand-parsed: importing a general CLI
 * library costs more start-up time than this whole file, and docker's rules are few:
 *   --name=value, --name value, -n value, -nvalue, -n=value, clustered booleans (-it, -itd, -dp 80:80),
 *   --bool / --bool=false (never `--bool false`), repeatable list flags (-e A -e B), `--` ends flags,
 *   and for run/create/exec "stop at the first positional" (the image's own argv is not ours).
 * Pure: no I/O; errors are UsageError values the caller prints the docker way (exit 125).
 */

export type FlagKind = 'bool' | 'string' | 'list' | 'int';

export interface FlagSpec {
  name: string;
  short?: string;
  kind: FlagKind;
  /** Docker's type word in --help ("string", "list", "bytes", "duration", "int", "decimal"...). */
  type?: string;
  help?: string;
  /** Default shown in --help and returned for string/int flags not given. */
  default?: string | number | boolean;
  /** Validates/converts a string value at parse time; throw an Error whose message docker would print. */
  parse?: (value: string) => unknown;
  /** Accepted but not shown in --help. */
  hidden?: boolean;
}

export interface CommandSpec {
  /** e.g. "run [OPTIONS] IMAGE [COMMAND] [ARG...]" (after "skiff "). */
  usage: string;
  description: string;
  flags: FlagSpec[];
  /** false for run/create/exec: flags stop at the first positional argument. */
  interspersed?: boolean;
  minArgs?: number;
  maxArgs?: number;
}

export type FlagValue = string | boolean | number | string[] | unknown;

export interface ParsedFlags {
  /** Keyed by long name. Bools default false, lists default [], others their default (or undefined). */
  values: Record<string, FlagValue>;
  /** Long names of flags the user actually set (docker's flags.Changed). */
  changed: Set<string>;
  args: string[];
  help: boolean;
}

/** A flag or argument-count error: docker prints the message, the usage line and a hint, exit 125 (or 1). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 125,
    /**
     * Argument-count errors are printed as "skiff: 'skiff x' requires ...", with a "See ... --help" hint
     * ('run': a "Run ... --help" hint, as docker does for "accepts no arguments").
     */
    readonly argCount: boolean | 'run' = false,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Flags every skiff docker verb accepts (docker's global -H/--host, and --help). */
export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'host', short: 'H', kind: 'string', help: 'Daemon socket to connect to (default $DOCKER_HOST or unix:///run/skiff/docker.sock)', hidden: true },
  { name: 'help', kind: 'bool', help: 'Print usage' },
];

const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool. */
export function parseBool(v: string): boolean {
  if (TRUE_WORDS.has(v)) return true;
  if (FALSE_WORDS.has(v)) return false;
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

/** Go's strconv.ParseInt(v, 0, 64) as pflag's int flags use it. */
export function parseInt64(v: string): number {
  if (!/^[+-]?(0x[0-9a-fA-F]+|0o?[0-7]+|0b[01]+|\d+)$/.test(v)) {
    throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  }
  const neg = v.startsWith('-');
  const body = v.replace(/^[+-]/, '');
  const n = /^0[0-7]+$/.test(body) ? parseInt(body, 8) : Number(body.replace(/^0o/, '0o'));
  return neg ? -n : n;
}

function display(f: FlagSpec): string {
  return f.short ? `-${f.short}, --${f.name}` : `--${f.name}`;
}

export function parseFlags(spec: CommandSpec, argv: string[]): ParsedFlags {
  const all = [...spec.flags, ...GLOBAL_FLAGS.filter((g) => !spec.flags.some((f) => f.name === g.name || (g.short && f.short === g.short)))];
  // docker's -h means --help unless the command binds -h itself (run/create: --hostname).
  const hasShortH = all.some((f) => f.short === 'h');
  const byLong = new Map(all.map((f) => [f.name, f]));
  const byShort = new Map(all.filter((f) => f.short).map((f) => [f.short as string, f]));

  const values: Record<string, FlagValue> = {};
  for (const f of all) {
    if (f.kind === 'bool') values[f.name] = f.default ?? false;
    else if (f.kind === 'list') values[f.name] = [];
    else if (f.default !== undefined) values[f.name] = f.default;
  }
  const changed = new Set<string>();
  const args: string[] = [];
  let help = false;

  const set = (f: FlagSpec, raw: string | undefined) => {
    changed.add(f.name);
    if (f.kind === 'bool') {
      let v = true;
      if (raw !== undefined) {
        try {
          v = parseBool(raw);
        } catch (e) {
          throw new UsageError(`invalid argument ${JSON.stringify(raw)} for "${display(f)}" flag: ${(e as Error).message}`);
        }
      }
      values[f.name] = v;
      if (f.name === 'help') help = v;
      return;
    }
    const value = raw as string;
    let parsed: unknown = value;
    try {
      if (f.parse) parsed = f.parse(value);
      else if (f.kind === 'int') parsed = parseInt64(value);
    } catch (e) {
      throw new UsageError(`invalid argument ${JSON.stringify(value)} for "${display(f)}" flag: ${(e as Error).message}`);
    }
    if (f.kind === 'list') (values[f.name] as unknown[]).push(parsed);
    else values[f.name] = parsed;
  };

  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const f = byLong.get(name);
      if (!f) throw new UsageError(`unknown flag: --${name}`);
      if (eq >= 0) set(f, a.slice(eq + 1));
      else if (f.kind === 'bool') set(f, undefined);
      else if (i + 1 < argv.length) set(f, argv[++i]);
      else throw new UsageError(`flag needs an argument: --${name}`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // A cluster of shorthands: booleans until one that takes a value, which takes the rest (or next arg).
      let j = 1;
      while (j < a.length) {
        const c = a[j];
        if (c === 'h' && !hasShortH) {
          help = true;
          j++;
          continue;
        }
        const f = byShort.get(c);
        if (!f) throw new UsageError(`unknown shorthand flag: '${c}' in ${a}`);
        const rest = a.slice(j + 1);
        if (f.kind === 'bool') {
          if (rest.startsWith('=')) {
            set(f, rest.slice(1));
            break;
          }
          set(f, undefined);
          j++;
          continue;
        }
        if (rest.length > 0) set(f, rest.startsWith('=') ? rest.slice(1) : rest);
        else if (i + 1 < argv.length) set(f, argv[++i]);
        else throw new UsageError(`flag needs an argument: '${c}' in -${c}`);
        break;
      }
      continue;
    }
    args.push(a);
    if (spec.interspersed === false) {
      i++;
      break;
    }
  }
  args.push(...argv.slice(i));

  if (!help) checkArgCount(spec, args.length);
  return { values, changed, args, help };
}

function checkArgCount(spec: CommandSpec, n: number): void {
  const cmd = commandName(spec);
  const word = (k: number) => `argument${k === 1 ? '' : 's'}`;
  const { minArgs: min, maxArgs: max } = spec;
  // docker's cli/required.go wording; only "at least" errors end with "See ... --help", the others "Run".
  if (min !== undefined && max !== undefined && min === max) {
    if (n !== min) {
      if (min === 0) throw new UsageError(`'${cmd}' accepts no arguments`, 1, 'run');
      throw new UsageError(`'${cmd}' requires ${min} ${word(min)}`, 1, 'run');
    }
    return;
  }
  if (min !== undefined && max !== undefined && min > 0 && (n < min || n > max)) {
    throw new UsageError(`'${cmd}' requires at least ${min} and at most ${max} ${word(max)}`, 1, 'run');
  }
  if (min !== undefined && n < min) throw new UsageError(`'${cmd}' requires at least ${min} ${word(min)}`, 1, true);
  if (max !== undefined && n > max) {
    if (max === 0) throw new UsageError(`'${cmd}' accepts no arguments`, 1, 'run');
    throw new UsageError(`'${cmd}' requires at most ${max} ${word(max)}`, 1, 'run');
  }
}

/** Name of the command as docker prints it in hints ("skiff run", "skiff volume create"). */
export function commandName(spec: CommandSpec): string {
  const words = spec.usage.split(' ');
  const n = words.findIndex((w) => !/^[a-z][a-z-]*$/.test(w));
  return `skiff ${words.slice(0, n < 0 ? words.length : n).join(' ')}`;
}

/** The text docker prints after a usage error (to stderr). */
export function usageErrorText(spec: CommandSpec, err: UsageError): string {
  const name = commandName(spec);
  if (err.argCount) {
    const hint = err.argCount === 'run' ? 'Run' : 'See';
    return `skiff: ${err.message}\n\nUsage:  skiff ${spec.usage}\n\n${hint} '${name} --help' for more information\n`;
  }
  return `${err.message}\n\nUsage:  skiff ${spec.usage}\n\nRun '${name} --help' for more information\n`;
}

/** docker-style --help text. */
export function helpText(spec: CommandSpec): string {
  const shown = [...spec.flags, ...GLOBAL_FLAGS].filter((f) => !f.hidden || f.name === 'host');
  const left = (f: FlagSpec) => {
    const t = f.kind === 'bool' ? '' : ` ${f.type ?? (f.kind === 'list' ? 'list' : f.kind)}`;
    return `${f.short ? `-${f.short}, ` : '    '}--${f.name}${t}`;
  };
  const width = Math.max(...shown.map((f) => left(f).length)) + 3;
  const lines = shown.map((f) => {
    let h = f.help ?? '';
    if (f.default !== undefined && f.default !== false && f.default !== '') h += ` (default ${typeof f.default === 'string' ? JSON.stringify(f.default) : f.default})`;
    return `  ${left(f).padEnd(width)}${h}`;
  });
  return `\nUsage:  skiff ${spec.usage}\n\n${spec.description}\n\nOptions:\n${lines.join('\n')}\n`;
}

/** docker's opts.ConvertKVStringsToMap: repeated KEY=VALUE flag values as a map; a bare KEY maps to "". */
export function kvMap(list: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i < 0) o[kv] = '';
    else o[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return o;
}

/** --format of the list verbs (images, ps, stats, network ls, volume ls): docker's flagsHelper.FormatHelp. */
export const TABLE_FORMAT_FLAG: FlagSpec = {
  name: 'format',
  kind: 'string',
  help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'",
};
