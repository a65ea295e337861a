/** ps: `GET /containers/json` rendered with docker's container formatter (columns, truncation, ports). */
import type { Command } from '../command';
import { TABLE_FORMAT_FLAG } from '../flags';
import { ellipsis, formatList, goQuote, joinLabels, shortId } from '../format';
import { filtersJson } from '../filters';
import { humanDuration, humanSize } from '../units';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ApiPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

function formGroup(key: string, start: number, last: number): string {
  const parts = key.split('/');
  let type = parts[0];
  let ip = '';
  if (parts.length > 1) {
    ip = parts[0];
    type = parts[1];
  }
  let group = String(start);
  if (start !== last) group = `${group}-${last}`;
  if (ip) group = `${ip}:${group}->${group}`;
  return `${group}/${type}`;
}

/** docker's DisplayablePorts: consecutive ports grouped into ranges, host mappings last. */
export function displayablePorts(input: ApiPort[]): string {
  const ports = [...input].sort(
    (a, b) =>
      a.PrivatePort - b.PrivatePort ||
      (a.IP ?? '').localeCompare(b.IP ?? '') ||
      (a.PublicPort ?? 0) - (b.PublicPort ?? 0) ||
      a.Type.localeCompare(b.Type),
  );
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  for (const p of ports) {
    const current = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if ((p.PublicPort ?? 0) !== current) {
        const host = p.IP.includes(':') ? `[${p.IP}]` : p.IP;
        hostMappings.push(`${host}:${p.PublicPort ?? 0}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: current, last: current });
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.delete(key);
    groups.set(key, { first: current, last: current });
  }
  for (const [key, g] of groups) result.push(formGroup(key, g.first, g.last));
  return [...result, ...hostMappings].join(', ');
}

/** Go's time.Time.String() for a unix time: "2006-01-02 15:04:05 -0700 MST" in local time. */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const off = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + off * 60_000).toISOString();
  const sign = off >= 0 ? '+' : '-';
  const hhmm = `${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}${String(Math.abs(off) % 60).padStart(2, '0')}`;
  let zone = 'UTC';
  if (off !== 0) {
    zone = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? `${sign}${hhmm}`;
  }
  return `${local.slice(0, 10)} ${local.slice(11, 19)} ${sign}${hhmm} ${zone}`;
}

/** The row object docker's --format templates see (.ID, .Names, .Label "x"...). */
export function containerRow(c: Json, trunc: boolean, now = Date.now()) {
  const names = ((c.Names ?? []) as string[]).map((n) => n.replace(/^\//, ''));
  const labels = (c.Labels ?? {}) as Record<string, string>;
  return {
    get ID() {
      return trunc ? shortId(c.Id) : c.Id;
    },
    get Names() {
      if (trunc) {
        const plain = names.find((n) => !n.includes('/'));
        if (plain !== undefined) return plain;
      }
      return names.join(',');
    },
    get Image() {
      let image: string = c.Image ?? '';
      if (image === '') return '<no image>';
      if (trunc) {
        if (image.startsWith('sha256:') && image.length > 19) return shortId(image);
        const at = image.indexOf('@');
        if (at > 0) image = image.slice(0, at);
      }
      return image;
    },
    get Command() {
      const cmd: string = c.Command ?? '';
      return goQuote(trunc ? ellipsis(cmd, 20) : cmd);
    },
    get CreatedAt() {
      return goTimeString(c.Created);
    },
    get RunningFor() {
      return `${humanDuration(now - c.Created * 1000)} ago`;
    },
    get Ports() {
      return displayablePorts((c.Ports ?? []) as ApiPort[]);
    },
    get State() {
      return c.State ?? '';
    },
    get Status() {
      return c.Status ?? '';
    },
    get Size() {
      const rw = humanSize(c.SizeRw ?? 0);
      return c.SizeRootFs > 0 ? `${rw} (virtual ${humanSize(c.SizeRootFs)})` : rw;
    },
    get Labels() {
      return joinLabels(labels);
    },
    Label(name: string) {
      return labels[name] ?? '';
    },
    get Mounts() {
      return ((c.Mounts ?? []) as Json[])
        .map((m) => {
          const n: string = m.Name || m.Source || '';
          return trunc ? ellipsis(n, 15) : n;
        })
        .join(',');
    },
    get LocalVolumes() {
      return String(((c.Mounts ?? []) as Json[]).filter((m) => m.Driver === 'local').length);
    },
    get Platform() {
      return c.ImageManifestDescriptor?.platform ?? null;
    },
    get Networks() {
      return Object.keys((c.NetworkSettings?.Networks ?? {}) as Json)
        .sort()
        .join(',');
    },
  };
}

export const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  RunningFor: 'CREATED',
  CreatedAt: 'CREATED AT',
  Status: 'STATUS',
  State: 'STATE',
  Ports: 'PORTS',
  Names: 'NAMES',
  Size: 'SIZE',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
};
const PS_JSON_KEYS = ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status'];

const ps: Command = {
  spec: {
    usage: 'ps [OPTIONS]',
    description: 'List containers',
    maxArgs: 0,
    flags: [
      { name: 'all', short: 'a', kind: 'bool', help: 'Show all containers (default shows just running)' },
      { name: 'filter', short: 'f', kind: 'list', type: 'filter', help: 'Filter output based on conditions provided' },
      TABLE_FORMAT_FLAG,
      { name: 'last', short: 'n', kind: 'int', help: 'Show n last created containers (includes all states)', default: -1 },
      { name: 'latest', short: 'l', kind: 'bool', help: 'Show the latest created container (includes all states)' },
      { name: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Only display container IDs' },
      { name: 'size', short: 's', kind: 'bool', help: 'Display total file sizes' },
    ],
  },
  async run(ctx) {
    const limit = ctx.v.latest ? 1 : (ctx.v.last as number);
    const list = await ctx.client.json<Json[]>('GET', '/containers/json', {
      query: {
        all: ctx.v.all || limit !== -1 || undefined,
        limit: limit > 0 ? limit : undefined,
        size: ctx.v.size || undefined,
        filters: filtersJson(ctx.v.filter),
      },
    });
    const trunc = !ctx.v['no-trunc'];
    const now = Date.now();
    let format: string | undefined = ctx.v.format;
    if (ctx.v.quiet) format = '{{.ID}}';
    const defaultTable = `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}${ctx.v.size ? '\t{{.Size}}' : ''}`;
    ctx.out(formatList(format, { defaultTable, headers: PS_HEADERS, jsonKeys: PS_JSON_KEYS, rows: list.map((c) => containerRow(c, trunc, now)) }));
    return 0;
  },
};

export const commands: Record<string, Command> = { ps };
