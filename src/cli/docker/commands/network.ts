/** network create/ls/rm/connect/disconnect/prune (inspect lives with the other inspects). */
import type { Command } from '../command';
import { CliError, enc, forEachArg } from '../command';
import { formatList, labelFields, shortId } from '../format';
import { TABLE_FORMAT_FLAG, kvMap } from '../flags';
import { filtersJson } from '../filters';
import { pruneCommand } from './prune';
import { goTimeString } from './ps';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const create: Command = {
  spec: {
    usage: 'network create [OPTIONS] NETWORK',
    description: 'Create a network',
    minArgs: 1,
    maxArgs: 1,
    flags: [
      { name: 'attachable', kind: 'bool', help: 'Enable manual container attachment' },
      { name: 'aux-address', kind: 'list', type: 'map', help: 'Auxiliary IPv4 or IPv6 addresses used by Network driver' },
      { name: 'driver', short: 'd', kind: 'string', help: 'Driver to manage the Network', default: 'bridge' },
      { name: 'gateway', kind: 'list', type: 'strings', help: 'IPv4 or IPv6 Gateway for the master subnet' },
      { name: 'internal', kind: 'bool', help: 'Restrict external access to the network' },
      { name: 'ip-range', kind: 'list', type: 'strings', help: 'Allocate container ip from a sub-range' },
      { name: 'ipam-driver', kind: 'string', help: 'IP Address Management Driver', default: 'default' },
      { name: 'ipam-opt', kind: 'list', type: 'map', help: 'Set IPAM driver specific options' },
      { name: 'ipv4', kind: 'bool', help: 'Enable or disable IPv4 address assignment', default: true },
      { name: 'ipv6', kind: 'bool', help: 'Enable or disable IPv6 address assignment' },
      { name: 'label', kind: 'list', help: 'Set metadata on a network' },
      { name: 'opt', short: 'o', kind: 'list', type: 'map', help: 'Set driver specific options' },
      { name: 'scope', kind: 'string', help: "Control the network's scope" },
      { name: 'subnet', kind: 'list', type: 'strings', help: 'Subnet in CIDR format that represents a network segment' },
    ],
  },
  async run(ctx) {
    const subnets = ctx.v.subnet as string[];
    const gateways = ctx.v.gateway as string[];
    const ranges = ctx.v['ip-range'] as string[];
    if (gateways.length > subnets.length) throw new CliError('every ip-range or gateway must have a corresponding subnet');
    const config = subnets.map((s, i) => ({ Subnet: s, ...(gateways[i] ? { Gateway: gateways[i] } : {}), ...(ranges[i] ? { IPRange: ranges[i] } : {}) }));
    const body: Json = {
      Name: ctx.args[0],
      Driver: ctx.v.driver,
      Scope: ctx.v.scope ?? '',
      EnableIPv6: ctx.flags.changed.has('ipv6') ? Boolean(ctx.v.ipv6) : undefined,
      EnableIPv4: ctx.flags.changed.has('ipv4') ? Boolean(ctx.v.ipv4) : undefined,
      IPAM: { Driver: ctx.v['ipam-driver'], Config: config, Options: kvMap(ctx.v['ipam-opt']) },
      Internal: Boolean(ctx.v.internal),
      Attachable: Boolean(ctx.v.attachable),
      Options: kvMap(ctx.v.opt),
      Labels: kvMap(ctx.v.label),
    };
    const r = await ctx.client.json<{ Id: string; Warning?: string }>('POST', '/networks/create', { body });
    if (r.Warning) ctx.err(`${r.Warning}\n`);
    ctx.out(`${r.Id}\n`);
    return 0;
  },
};

const ls: Command = {
  spec: {
    usage: 'network ls [OPTIONS]',
    description: 'List networks',
    maxArgs: 0,
    flags: [
      { name: 'filter', short: 'f', kind: 'list', type: 'filter', help: "Provide filter values (e.g. 'driver=bridge')" },
      TABLE_FORMAT_FLAG,
      { name: 'no-trunc', kind: 'bool', help: 'Do not truncate the output' },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Only display network IDs' },
    ],
  },
  async run(ctx) {
    const list = await ctx.client.json<Json[]>('GET', '/networks', { query: { filters: filtersJson(ctx.v.filter) } });
    const trunc = !ctx.v['no-trunc'];
    const rows = [...list]
      .sort((a, b) => String(a.Name).localeCompare(String(b.Name)))
      .map((n) => ({
        ID: trunc ? shortId(n.Id) : n.Id,
        Name: n.Name,
        Driver: n.Driver,
        Scope: n.Scope ?? 'local',
        IPv6: String(Boolean(n.EnableIPv6)),
        IPv4: String(n.EnableIPv4 !== false),
        Internal: String(Boolean(n.Internal)),
        CreatedAt: n.Created ? goTimeString(Date.parse(n.Created) / 1000) : '',
        ...labelFields(n.Labels),
      }));
    ctx.out(
      formatList(ctx.v.quiet ? '{{.ID}}' : ctx.v.format, {
        defaultTable: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
        headers: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', IPv4: 'IPV4', Internal: 'INTERNAL', CreatedAt: 'CREATED AT', Labels: 'LABELS' },
        jsonKeys: ['CreatedAt', 'Driver', 'ID', 'IPv4', 'IPv6', 'Internal', 'Labels', 'Name', 'Scope'],
        rows,
      }),
    );
    return 0;
  },
};

const rm: Command = {
  spec: {
    usage: 'network rm NETWORK [NETWORK...]',
    description: 'Remove one or more networks',
    minArgs: 1,
    flags: [{ name: 'force', short: 'f', kind: 'bool', help: 'Do not error if the network does not exist' }],
  },
  run: async (ctx) => {
    const code = await forEachArg(ctx, async (name) => {
      try {
        (await ctx.client.request('DELETE', `/networks/${enc(name)}`)).resume();
      } catch (e) {
        if (ctx.v.force && (e as { status?: number }).status === 404) return undefined;
        throw e;
      }
      return name;
    });
    // docker's network rm reports a partial failure with a status line.
    if (code !== 0) throw new CliError(`exit status ${code}`, code);
    return 0;
  },
};

const connect: Command = {
  spec: {
    usage: 'network connect [OPTIONS] NETWORK CONTAINER',
    description: 'Connect a container to a network',
    minArgs: 2,
    maxArgs: 2,
    flags: [
      { name: 'alias', kind: 'list', help: 'Add network-scoped alias for the container' },
      { name: 'driver-opt', kind: 'list', help: 'driver options for the network' },
      { name: 'ip', kind: 'string', help: 'IPv4 address (e.g., "172.30.100.104")' },
      { name: 'ip6', kind: 'string', help: 'IPv6 address (e.g., "2001:db8::33")' },
      { name: 'link', kind: 'list', help: 'Add link to another container' },
      { name: 'link-local-ip', kind: 'list', help: 'Add a link-local address for the container' },
    ],
  },
  async run(ctx) {
    const [net, container] = ctx.args;
    const ipam: Json = {};
    if (ctx.v.ip) ipam.IPv4Address = ctx.v.ip;
    if (ctx.v.ip6) ipam.IPv6Address = ctx.v.ip6;
    if ((ctx.v['link-local-ip'] as string[]).length) ipam.LinkLocalIPs = ctx.v['link-local-ip'];
    const ep: Json = { Aliases: (ctx.v.alias as string[]).length ? ctx.v.alias : undefined, Links: (ctx.v.link as string[]).length ? ctx.v.link : undefined, DriverOpts: (ctx.v['driver-opt'] as string[]).length ? kvMap(ctx.v['driver-opt']) : undefined };
    if (Object.keys(ipam).length) ep.IPAMConfig = ipam;
    (await ctx.client.request('POST', `/networks/${enc(net)}/connect`, { body: { Container: container, EndpointConfig: ep } })).resume();
    return 0;
  },
};

const disconnect: Command = {
  spec: {
    usage: 'network disconnect [OPTIONS] NETWORK CONTAINER',
    description: 'Disconnect a container from a network',
    minArgs: 2,
    maxArgs: 2,
    flags: [{ name: 'force', short: 'f', kind: 'bool', help: 'Force the container to disconnect from a network' }],
  },
  async run(ctx) {
    const [net, container] = ctx.args;
    (await ctx.client.request('POST', `/networks/${enc(net)}/disconnect`, { body: { Container: container, Force: Boolean(ctx.v.force) } })).resume();
    return 0;
  },
};

const netPrune = pruneCommand({
  what: 'network',
  description: 'Remove all unused networks',
  filterExample: 'until=<timestamp>',
  warning: () => 'WARNING! This will remove all custom networks not used by at least one container.',
});

export const commands: Record<string, Command> = {
  'network create': create,
  'network ls': ls,
  'network rm': rm,
  'network connect': connect,
  'network disconnect': disconnect,
  'network prune': netPrune,
};
