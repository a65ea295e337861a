/**
 * The `container|image|network|volume prune` family: one shape in docker (confirm unless --force, POST
 * /<what>s/prune with the filters, list what went and the space reclaimed), so one command builder.
 */
import type { Command, Ctx } from '../command';
import type { FlagSpec } from '../flags';
import { filtersJson } from '../filters';
import { humanSize } from '../units';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** docker's command.PromptForConfirmation: reads one line from stdin; only "y"/"Y" confirms. */
export async function confirm(ctx: Ctx, message: string): Promise<boolean> {
  ctx.out(`${message}\nAre you sure you want to continue? [y/N] `);
  const line = await new Promise<string>((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) done();
    };
    const done = () => {
      process.stdin.removeListener('data', onData);
      process.stdin.removeListener('end', done);
      process.stdin.pause();
      resolve(buf.split('\n')[0]);
    };
    process.stdin.on('data', onData);
    process.stdin.on('end', done);
  });
  return /^\s*[yY]\s*$/.test(line);
}

export interface PruneVerb {
  what: 'container' | 'image' | 'network' | 'volume';
  description: string;
  /** The example in --filter's help, e.g. "until=<timestamp>". */
  filterExample: string;
  /** -a/--all's help, for the verbs that have the flag. */
  allHelp?: string;
  /** The confirmation prompt, given --all. */
  warning: (all: boolean) => string;
  /** A filter the verb adds itself, given --all (image prune's dangling=..., volume prune's all=true). */
  impliedFilter?: (all: boolean) => string | undefined;
}

export function pruneCommand(p: PruneVerb): Command {
  const plural = `${p.what[0].toUpperCase()}${p.what.slice(1)}s`;
  const flags: FlagSpec[] = [
    { name: 'filter', kind: 'list', type: 'filter', help: `Provide filter values (e.g. '${p.filterExample}')` },
    { name: 'force', short: 'f', kind: 'bool', help: 'Do not prompt for confirmation' },
  ];
  if (p.allHelp) flags.unshift({ name: 'all', short: 'a', kind: 'bool', help: p.allHelp });
  return {
    spec: { usage: `${p.what} prune [OPTIONS]`, description: p.description, maxArgs: 0, flags },
    async run(ctx) {
      const all = Boolean(ctx.v.all);
      if (!ctx.v.force && !(await confirm(ctx, p.warning(all)))) return 0; // docker: cancelled quietly, exit 0
      const implied = p.impliedFilter?.(all);
      const filters = [...((ctx.v.filter ?? []) as string[]), ...(implied ? [implied] : [])];
      const r = await ctx.client.json<Json>('POST', `/${p.what}s/prune`, { query: { filters: filtersJson(filters) } });
      const deleted = (r?.[`${plural}Deleted`] ?? []) as unknown[];
      // Images come as {Untagged}|{Deleted} objects, printed lower-case like docker.
      const line = (d: unknown) => (typeof d === 'string' ? d : Object.entries(d as Json).filter(([, v]) => v).map(([k, v]) => `${k.toLowerCase()}: ${v}`).join('\n'));
      if (deleted.length) ctx.out(`Deleted ${plural}:\n${deleted.map(line).join('\n')}\n\n`);
      if (p.what !== 'network') ctx.out(`Total reclaimed space: ${humanSize(r?.SpaceReclaimed ?? 0)}\n`);
      return 0;
    },
  };
}
