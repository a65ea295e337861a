/** stop, kill, restart, rm, pause, unpause, wait, rename, port, top, container prune. */
import type { Command, Ctx } from '../command';
import { CliError, enc, errorLine, forEachArg } from '../command';
import { tabwrite } from '../format';
import { pruneCommand } from './prune';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function post(ctx: Ctx, path: string, query?: Record<string, string | number | boolean | undefined>): Promise<void> {
  (await ctx.client.request('POST', path, { query })).resume();
}

const containers = 'CONTAINER [CONTAINER...]';

/** stop and restart: the same flags (-t, or the hidden --timeout, and -s) sent to /containers/{id}/<verb>. */
function stopOrRestart(ctx: Ctx, verb: 'stop' | 'restart'): Promise<number> {
  return forEachArg(ctx, async (c) => {
    const t = ctx.flags.changed.has('time') ? ctx.v.time : ctx.flags.changed.has('timeout') ? ctx.v.timeout : undefined;
    await post(ctx, `/containers/${enc(c)}/${verb}`, { t, signal: ctx.v.signal });
    return c;
  });
}

const stop: Command = {
  spec: {
    usage: `stop [OPTIONS] ${containers}`,
    description: 'Stop one or more running containers',
    minArgs: 1,
    flags: [
      { name: 'signal', short: 's', kind: 'string', help: 'Signal to send to the container' },
      { name: 'time', short: 't', kind: 'int', help: 'Seconds to wait before killing the container' },
      { name: 'timeout', kind: 'int', hidden: true },
    ],
  },
  run: (ctx) => stopOrRestart(ctx, 'stop'),
};

const restart: Command = {
  spec: { ...stop.spec, usage: `restart [OPTIONS] ${containers}`, description: 'Restart one or more containers' },
  run: (ctx) => stopOrRestart(ctx, 'restart'),
};

const kill: Command = {
  spec: {
    usage: `kill [OPTIONS] ${containers}`,
    description: 'Kill one or more running containers',
    minArgs: 1,
    flags: [{ name: 'signal', short: 's', kind: 'string', help: 'Signal to send to the container' }],
  },
  run: (ctx) =>
    forEachArg(ctx, async (c) => {
      await post(ctx, `/containers/${enc(c)}/kill`, { signal: ctx.v.signal || undefined });
      return c;
    }),
};

const rm: Command = {
  spec: {
    usage: `rm [OPTIONS] ${containers}`,
    description: 'Remove one or more containers',
    minArgs: 1,
    flags: [
      { name: 'force', short: 'f', kind: 'bool', help: 'Force the removal of a running container (uses SIGKILL)' },
      { name: 'link', short: 'l', kind: 'bool', help: 'Remove the specified link' },
      { name: 'volumes', short: 'v', kind: 'bool', help: 'Remove anonymous volumes associated with the container' },
    ],
  },
  run: (ctx) =>
    forEachArg(ctx, async (c) => {
      const name = c.replace(/^\//, '');
      if (!name) throw new CliError('Container name cannot be empty');
      const res = await ctx.client.request('DELETE', `/containers/${enc(name)}`, {
        query: { force: ctx.v.force || undefined, v: ctx.v.volumes || undefined, link: ctx.v.link || undefined },
      });
      res.resume();
      return c;
    }),
};

function simple(verb: string, description: string): Command {
  return {
    spec: { usage: `${verb} ${containers}`, description, minArgs: 1, flags: [] },
    run: (ctx) =>
      forEachArg(ctx, async (c) => {
        await post(ctx, `/containers/${enc(c)}/${verb}`);
        return c;
      }),
  };
}

const wait: Command = {
  spec: { usage: `wait ${containers}`, description: 'Block until one or more containers stop, then print their exit codes', minArgs: 1, flags: [] },
  run: (ctx) =>
    forEachArg(ctx, async (c) => {
      const r = await ctx.client.json<{ StatusCode: number; Error?: { Message?: string } | null }>('POST', `/containers/${enc(c)}/wait`);
      if (r.Error?.Message) throw new CliError(r.Error.Message);
      return String(r.StatusCode);
    }),
};

const rename: Command = {
  spec: { usage: 'rename CONTAINER NEW_NAME', description: 'Rename a container', minArgs: 2, maxArgs: 2, flags: [] },
  async run(ctx) {
    const [oldName, newName] = ctx.args.map((s) => s.trim());
    if (!oldName || !newName) throw new CliError('Error: Neither old nor new names may be empty');
    try {
      await post(ctx, `/containers/${enc(oldName)}/rename`, { name: newName });
    } catch (e) {
      ctx.err(errorLine(e) + '\n');
      throw new CliError(`Error: failed to rename container named ${oldName}`);
    }
    return 0;
  },
};

/** "0.0.0.0:8080" / "[::]:8080" */
function hostAddr(b: { HostIp?: string; HostPort?: string }): string {
  const ip = b.HostIp || '0.0.0.0';
  return `${ip.includes(':') ? `[${ip}]` : ip}:${b.HostPort}`;
}

const port: Command = {
  spec: { usage: 'port CONTAINER [PRIVATE_PORT[/PROTO]]', description: 'List port mappings or a specific mapping for the container', minArgs: 1, maxArgs: 2, flags: [] },
  async run(ctx) {
    const c = await ctx.client.json<Json>('GET', `/containers/${enc(ctx.args[0])}/json`);
    const ports = (c.NetworkSettings?.Ports ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
    if (ctx.args[1]) {
      let [p, proto = 'tcp'] = ctx.args[1].split('/');
      if (!/^\d+$/.test(p)) throw new CliError(`Error: invalid port (${p}): strconv.ParseUint: parsing "${p}": invalid syntax`);
      proto = proto.toLowerCase();
      const b = ports[`${p}/${proto}`];
      if (!b || b.length === 0) throw new CliError(`Error: No public port '${ctx.args[1]}' published for ${ctx.args[0]}`);
      for (const x of b) ctx.out(hostAddr(x) + '\n');
      return 0;
    }
    const keys = Object.keys(ports).sort((a, b) => parseInt(a) - parseInt(b) || a.localeCompare(b));
    for (const k of keys) for (const x of ports[k] ?? []) ctx.out(`${k} -> ${hostAddr(x)}\n`);
    return 0;
  },
};

const top: Command = {
  spec: { usage: 'top CONTAINER [ps OPTIONS]', description: 'Display the running processes of a container', minArgs: 1, interspersed: false, flags: [] },
  async run(ctx) {
    const [c, ...psArgs] = ctx.args;
    const r = await ctx.client.json<{ Titles: string[]; Processes: string[][] }>('GET', `/containers/${enc(c)}/top`, {
      query: { ps_args: psArgs.length ? psArgs.join(' ') : undefined },
    });
    let text = r.Titles.join('\t') + '\n';
    for (const p of r.Processes ?? []) text += p.join('\t') + '\n';
    ctx.out(tabwrite(text, 20));
    return 0;
  },
};

const containerPrune = pruneCommand({
  what: 'container',
  description: 'Remove all stopped containers',
  filterExample: 'until=<timestamp>',
  warning: () => 'WARNING! This will remove all stopped containers.',
});

export const commands: Record<string, Command> = {
  stop,
  restart,
  kill,
  rm,
  pause: simple('pause', 'Pause all processes within one or more containers'),
  unpause: simple('unpause', 'Unpause all processes within one or more containers'),
  wait,
  rename,
  port,
  top,
  'container prune': containerPrune,
};
