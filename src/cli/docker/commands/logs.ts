/** logs: inspect for Config.Tty, then `GET /containers/{id}/logs`, demultiplexed unless the container has a TTY. */
import type { Command } from '../command';
import { enc } from '../command';
import { StdcopyDemuxer } from '../stdcopy';
import { apiTimestamp } from '../units';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const logs: Command = {
  spec: {
    usage: 'logs [OPTIONS] CONTAINER',
    description: 'Fetch the logs of a container',
    minArgs: 1,
    maxArgs: 1,
    flags: [
      { name: 'details', kind: 'bool', help: 'Show extra details provided to logs' },
      { name: 'follow', short: 'f', kind: 'bool', help: 'Follow log output' },
      { name: 'since', kind: 'string', help: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
      { name: 'tail', short: 'n', kind: 'string', help: 'Number of lines to show from the end of the logs', default: 'all' },
      { name: 'timestamps', short: 't', kind: 'bool', help: 'Show timestamps' },
      { name: 'until', kind: 'string', help: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    ],
  },
  async run(ctx) {
    const c = await ctx.client.json<Json>('GET', `/containers/${enc(ctx.args[0])}/json`);
    const now = Date.now();
    const res = await ctx.client.request('GET', `/containers/${enc(c.Id)}/logs`, {
      query: {
        stdout: true,
        stderr: true,
        since: ctx.v.since ? apiTimestamp(ctx.v.since, now, 'since') : undefined,
        until: ctx.v.until ? apiTimestamp(ctx.v.until, now, 'until') : undefined,
        timestamps: ctx.v.timestamps || undefined,
        follow: ctx.v.follow || undefined,
        tail: ctx.v.tail,
        details: ctx.v.details || undefined,
      },
    });
    const tty = Boolean(c.Config?.Tty);
    const demux = tty ? null : new StdcopyDemuxer();
    const onSigint = () => res.destroy();
    process.once('SIGINT', onSigint);
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        if (!demux) {
          if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
          continue;
        }
        for (const f of demux.push(chunk)) {
          const w = f.stream === 2 ? process.stderr : process.stdout;
          if (!w.write(f.payload)) await new Promise((r) => w.once('drain', r));
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET' && (e as Error).name !== 'AbortError') throw e;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    return 0;
  },
};

export const commands: Record<string, Command> = { logs };
