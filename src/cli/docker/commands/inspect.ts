/**
 * inspect: any object like docker does (container, then image, network, volume; each miss a 404), the raw
 * JSON array re-indented as Go's json.Indent, or a Go template per object (-f '{{.State.Status}}').
 */
import type { Command, Ctx } from '../command';
import { CliError, enc, encRef } from '../command';
import { DaemonError } from '../client';
import { indentJson } from '../format';
import { compileTemplate } from '../template';

const KINDS: Record<string, (ctx: Ctx, ref: string) => string> = {
  container: (ctx, ref) => `/containers/${enc(ref)}/json`,
  image: (ctx, ref) => `/images/${encRef(ref)}/json`,
  network: (ctx, ref) => `/networks/${enc(ref)}`,
  volume: (ctx, ref) => `/volumes/${enc(ref)}`,
};

async function fetchRaw(ctx: Ctx, kind: string, ref: string): Promise<string> {
  return ctx.client.text('GET', KINDS[kind](ctx, ref), { query: kind === 'container' && ctx.v.size ? { size: true } : undefined });
}

/** Renders found objects and collects per-reference errors like docker's inspect.Inspect. */
async function inspectAll(ctx: Ctx, getRaw: (ref: string) => Promise<string>): Promise<number> {
  const tpl = ctx.v.format && ctx.v.format !== 'json' ? compileTemplate(ctx.v.format) : undefined;
  const raws: string[] = [];
  const errors: string[] = [];
  let printed = 0;
  for (const ref of ctx.args) {
    let raw: string;
    try {
      raw = await getRaw(ref);
    } catch (e) {
      errors.push(e instanceof DaemonError ? `Error response from daemon: ${e.message}` : (e as Error).message);
      if (!(e instanceof DaemonError) && !(e instanceof CliError)) throw e;
      continue;
    }
    if (tpl) {
      try {
        ctx.out(tpl.execute(JSON.parse(raw)) + '\n');
        printed++;
      } catch (e) {
        errors.push((e as Error).message);
      }
    } else raws.push(raw.trim());
  }
  if (!tpl) ctx.out(raws.length ? indentJson(`[${raws.join(',')}]`) + '\n' : '[]\n');
  else if (printed === 0) ctx.out('\n'); // docker's TemplateInspector.Flush on an empty buffer
  if (errors.length) {
    ctx.err(errors.join('\n') + '\n');
    return 1;
  }
  return 0;
}

const FLAGS = [
  { name: 'format', short: 'f', kind: 'string' as const, help: "Format output using a custom template: 'json', 'TEMPLATE'" },
];

const inspect: Command = {
  spec: {
    usage: 'inspect [OPTIONS] NAME|ID [NAME|ID...]',
    description: 'Return low-level information on skiff objects',
    minArgs: 1,
    flags: [
      ...FLAGS,
      { name: 'size', short: 's', kind: 'bool', help: 'Display total file sizes if the type is container' },
      { name: 'type', kind: 'string', help: 'Only inspect objects of the given type' },
    ],
  },
  run(ctx) {
    const type = ctx.v.type as string | undefined;
    if (type && !KINDS[type]) throw new CliError(`"${type}" is not a valid value for --type`);
    const kinds = type ? [type] : Object.keys(KINDS);
    return inspectAll(ctx, async (ref) => {
      for (const kind of kinds) {
        try {
          return await fetchRaw(ctx, kind, ref);
        } catch (e) {
          if (e instanceof DaemonError && (e.status === 404 || (kind === 'image' && e.status === 400))) continue;
          throw e;
        }
      }
      throw new CliError(type ? `Error: No such ${type}: ${ref}` : `Error: No such object: ${ref}`);
    });
  },
};

function typed(kind: string, what: string): Command {
  return {
    spec: {
      usage: `${kind} inspect [OPTIONS] ${what.toUpperCase()} [${what.toUpperCase()}...]`,
      description: `Display detailed information on one or more ${what}s`,
      minArgs: 1,
      flags: kind === 'container' ? [...FLAGS, { name: 'size', short: 's', kind: 'bool', help: 'Display total file sizes' }] : FLAGS,
    },
    run: (ctx) => inspectAll(ctx, (ref) => fetchRaw(ctx, kind, ref)),
  };
}

export const commands: Record<string, Command> = {
  inspect,
  'container inspect': typed('container', 'container'),
  'image inspect': typed('image', 'image'),
  'volume inspect': typed('volume', 'volume'),
  'network inspect': typed('network', 'network'),
};
