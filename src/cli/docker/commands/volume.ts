/** volume create/ls/rm/prune (inspect lives with the other inspects). */
import type { Command } from '../command';
import { enc, forEachArg } from '../command';
import { formatList, labelFields } from '../format';
import { TABLE_FORMAT_FLAG, kvMap } from '../flags';
import { filtersJson } from '../filters';
import { pruneCommand } from './prune';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const create: Command = {
  spec: {
    usage: 'volume create [OPTIONS] [VOLUME]',
    description: 'Create a volume',
    maxArgs: 1,
    flags: [
      { name: 'driver', short: 'd', kind: 'string', help: 'Specify volume driver name', default: 'local' },
      { name: 'label', kind: 'list', help: 'Set metadata for a volume' },
      { name: 'name', kind: 'string', hidden: true },
      { name: 'opt', short: 'o', kind: 'list', type: 'map', help: 'Set driver specific options' },
    ],
  },
  async run(ctx) {
    const name = ctx.args[0] ?? ctx.v.name ?? '';
    if (ctx.args[0] && ctx.v.name) throw new Error('conflicting options: cannot specify a volume-name through both --name and as a positional arg');
    const v = await ctx.client.json<Json>('POST', '/volumes/create', {
      body: { Name: name, Driver: ctx.v.driver, DriverOpts: kvMap(ctx.v.opt), Labels: kvMap(ctx.v.label) },
    });
    ctx.out(`${v.Name}\n`);
    return 0;
  },
};

const ls: Command = {
  spec: {
    usage: 'volume ls [OPTIONS]',
    description: 'List volumes',
    maxArgs: 0,
    flags: [
      { name: 'cluster', kind: 'bool', hidden: true },
      { name: 'filter', short: 'f', kind: 'list', type: 'filter', help: "Provide filter values (e.g. 'dangling=true')" },
      TABLE_FORMAT_FLAG,
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Only display volume names' },
    ],
  },
  async run(ctx) {
    const r = await ctx.client.json<{ Volumes: Json[] | null; Warnings?: string[] | null }>('GET', '/volumes', { query: { filters: filtersJson(ctx.v.filter) } });
    const vols = [...(r.Volumes ?? [])].sort((a, b) => String(a.Name).localeCompare(String(b.Name)));
    const rows = vols.map((v) => ({
      Name: v.Name,
      Driver: v.Driver,
      Scope: v.Scope ?? 'local',
      Mountpoint: v.Mountpoint ?? '',
      ...labelFields(v.Labels),
      Links: 'N/A',
      Size: 'N/A',
      Availability: 'N/A',
      Group: 'N/A',
      Status: 'N/A',
    }));
    ctx.out(
      formatList(ctx.v.quiet ? '{{.Name}}' : ctx.v.format, {
        defaultTable: 'table {{.Driver}}\t{{.Name}}',
        headers: { Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE' },
        jsonKeys: ['Availability', 'Driver', 'Group', 'Labels', 'Links', 'Mountpoint', 'Name', 'Scope', 'Size', 'Status'],
        rows,
      }),
    );
    for (const w of r.Warnings ?? []) ctx.err(`${w}\n`);
    return 0;
  },
};

const rm: Command = {
  spec: {
    usage: 'volume rm [OPTIONS] VOLUME [VOLUME...]',
    description: 'Remove one or more volumes. You cannot remove a volume that is in use by a container.',
    minArgs: 1,
    flags: [{ name: 'force', short: 'f', kind: 'bool', help: 'Force the removal of one or more volumes' }],
  },
  run: (ctx) =>
    forEachArg(ctx, async (name) => {
      (await ctx.client.request('DELETE', `/volumes/${enc(name)}`, { query: { force: ctx.v.force || undefined } })).resume();
      return name;
    }),
};

const volPrune = pruneCommand({
  what: 'volume',
  description: 'Remove unused local volumes',
  filterExample: 'label=<label>',
  allHelp: 'Remove all unused volumes, not just anonymous ones',
  warning: (all) =>
    all
      ? 'WARNING! This will remove all local volumes not used by at least one container.'
      : 'WARNING! This will remove anonymous local volumes not used by at least one container.',
  impliedFilter: (all) => (all ? 'all=true' : undefined),
});

export const commands: Record<string, Command> = { 'volume create': create, 'volume ls': ls, 'volume rm': rm, 'volume prune': volPrune };
