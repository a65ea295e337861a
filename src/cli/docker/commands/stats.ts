/** stats: one sample per container (`GET /containers/{id}/stats?stream=0`) computed like docker's formatter. */
import type { Command, Ctx } from '../command';
import { enc } from '../command';
import { TABLE_FORMAT_FLAG } from '../flags';
import { formatList, shortId } from '../format';
import { bytesSize, humanSize } from '../units';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** docker's CPU/memory/IO arithmetic for a Linux stats sample. */
export function statsRow(s: Json, idOrName: string, trunc = true) {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const online = s.cpu_stats?.online_cpus || (s.cpu_stats?.cpu_usage?.percpu_usage ?? []).length || 1;
  const cpu = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * online * 100 : 0;
  const m = s.memory_stats ?? {};
  const st = (m.stats ?? {}) as Record<string, number>;
  let mem = m.usage ?? 0;
  if (st.total_inactive_file !== undefined && st.total_inactive_file < mem) mem -= st.total_inactive_file;
  else if (st.inactive_file !== undefined && st.inactive_file < mem) mem -= st.inactive_file;
  const limit = m.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values((s.networks ?? {}) as Record<string, Json>)) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  let rd = 0;
  let wr = 0;
  for (const e of (s.blkio_stats?.io_service_bytes_recursive ?? []) as Json[]) {
    const op = String(e.op ?? '').toLowerCase();
    if (op === 'read') rd += e.value ?? 0;
    else if (op === 'write') wr += e.value ?? 0;
  }
  const id: string = s.id ?? '';
  return {
    Container: idOrName,
    ID: id ? (trunc ? shortId(id) : id) : idOrName,
    Name: String(s.name ?? '').replace(/^\//, '') || '--',
    CPUPerc: `${cpu.toFixed(2)}%`,
    MemUsage: `${bytesSize(mem)} / ${bytesSize(limit)}`,
    MemPerc: `${(limit ? (mem / limit) * 100 : 0).toFixed(2)}%`,
    NetIO: `${humanSize(rx)} / ${humanSize(tx)}`,
    BlockIO: `${humanSize(rd)} / ${humanSize(wr)}`,
    PIDs: String(s.pids_stats?.current ?? 0),
  };
}

const HEADERS = { Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS' };

async function sample(ctx: Ctx, ids: string[]) {
  return Promise.all(
    ids.map(async (id) => statsRow(await ctx.client.json<Json>('GET', `/containers/${enc(id)}/stats`, { query: { stream: false } }), id, !ctx.v['no-trunc'])),
  );
}

const stats: Command = {
  spec: {
    usage: 'stats [OPTIONS] [CONTAINER...]',
    description: 'Display a live stream of container(s) resource usage statistics',
    flags: [
      { name: 'all', short: 'a', kind: 'bool', help: 'Show all containers (default shows just running)' },
      TABLE_FORMAT_FLAG,
      { name: 'no-stream', kind: 'bool', help: 'Disable streaming stats and only pull the first result' },
      { name: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
    ],
  },
  async run(ctx) {
    const ids = async () =>
      ctx.args.length ? ctx.args : (await ctx.client.json<Json[]>('GET', '/containers/json', { query: { all: ctx.v.all || undefined } })).map((c) => c.Id as string);
    const render = (rows: ReturnType<typeof statsRow>[]) =>
      formatList(ctx.v.format, {
        defaultTable: 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}',
        headers: HEADERS,
        jsonKeys: ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs'],
        rows,
      });
    if (ctx.v['no-stream']) {
      ctx.out(render(await sample(ctx, await ids())));
      return 0;
    }
    let stop = false;
    process.once('SIGINT', () => (stop = true));
    while (!stop) {
      const text = render(await sample(ctx, await ids()));
      ctx.out(`\x1b[2J\x1b[H${text}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    return 0;
  },
};

export const commands: Record<string, Command> = { stats };
