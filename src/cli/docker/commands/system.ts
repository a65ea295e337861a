/** version, info, events: the engine's self-description and its event stream, printed like docker 28. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command, Ctx } from '../command';
import { API_VERSION } from '../client';
import { compileTemplate } from '../template';
import { bytesSize, apiTimestamp } from '../units';
import { filtersJson, rfc3339NanoFixed } from '../filters';

const FORMAT_FLAG = { name: 'format', short: 'f', kind: 'string' as const, help: 'Format output using a custom template' };

function clientVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '../../../../../package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'dev';
  }
}

const goArch = () => (process.arch === 'x64' ? 'amd64' : process.arch);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function withFormat(ctx: Ctx, data: unknown): boolean {
  if (!ctx.v.format) return false;
  const f = ctx.v.format === 'json' ? '{{json .}}' : (ctx.v.format as string);
  ctx.out(compileTemplate(f).execute(data) + '\n');
  return true;
}

const version: Command = {
  spec: { usage: 'version [OPTIONS]', description: 'Show the skiff client and engine version information', maxArgs: 0, flags: [FORMAT_FLAG] },
  async run(ctx) {
    const client = {
      Platform: { Name: 'skiff' },
      Version: clientVersion(),
      APIVersion: API_VERSION,
      DefaultAPIVersion: API_VERSION,
      GitCommit: '',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: goArch(),
      BuildTime: '',
      Context: 'default',
    };
    let server: Json | undefined;
    let serverErr: unknown;
    try {
      server = await ctx.client.json<Json>('GET', '/version');
    } catch (e) {
      serverErr = e;
    }
    if (withFormat(ctx, { Client: client, Server: server ?? null })) {
      if (serverErr) throw serverErr;
      return 0;
    }
    const lines = [
      'Client:',
      ` Version:           ${client.Version}`,
      ` API version:       ${client.APIVersion}`,
      ` Go version:        ${client.GoVersion}`,
      ` Git commit:        ${client.GitCommit}`,
      ` Built:             ${client.BuildTime}`,
      ` OS/Arch:           ${client.Os}/${client.Arch}`,
      ` Context:           ${client.Context}`,
    ];
    if (server) {
      lines.push('', `Server:${server.Platform?.Name ? ` ${server.Platform.Name}` : ''}`);
      const comps: Json[] = server.Components?.length ? server.Components : [{ Name: 'Engine', Version: server.Version, Details: {} }];
      for (const c of comps) {
        lines.push(` ${c.Name}:`);
        if (c.Name === 'Engine') {
          // docker prints the Engine component's Version and Details (not the top-level fields).
          const d = (c.Details ?? {}) as Record<string, string>;
          const f = (k: string) => d[k] ?? '';
          lines.push(
            `  Version:          ${c.Version ?? ''}`,
            `  API version:      ${f('ApiVersion')} (minimum version ${f('MinAPIVersion')})`,
            `  Go version:       ${f('GoVersion')}`,
            `  Git commit:       ${f('GitCommit')}`,
            `  Built:            ${ansicTime(f('BuildTime'))}`,
            `  OS/Arch:          ${f('Os')}/${f('Arch')}`,
            `  Experimental:     ${f('Experimental')}`,
          );
        } else {
          lines.push(`  Version:          ${c.Version}`);
          for (const [k, val] of Object.entries((c.Details ?? {}) as Json)) lines.push(`  ${(k + ':').padEnd(18)}${val}`);
        }
      }
    }
    ctx.out(lines.join('\n') + '\n');
    if (serverErr) throw serverErr;
    return 0;
  },
};

const info: Command = {
  spec: { usage: 'info [OPTIONS]', description: 'Display system-wide information', maxArgs: 0, flags: [FORMAT_FLAG] },
  async run(ctx) {
    const i = await ctx.client.json<Json>('GET', '/info');
    if (withFormat(ctx, i)) return 0;
    const L: string[] = ['Client:', ` Version:    ${clientVersion()}`, ' Context:    default', ' Debug Mode: false', '', 'Server:'];
    L.push(` Containers: ${i.Containers}`, `  Running: ${i.ContainersRunning}`, `  Paused: ${i.ContainersPaused}`, `  Stopped: ${i.ContainersStopped}`);
    L.push(` Images: ${i.Images}`, ` Server Version: ${i.ServerVersion}`, ` Storage Driver: ${i.Driver}`);
    for (const [k, val] of (i.DriverStatus ?? []) as string[][]) L.push(`  ${k}: ${val}`);
    L.push(` Logging Driver: ${i.LoggingDriver}`, ` Cgroup Driver: ${i.CgroupDriver}`, ` Cgroup Version: ${i.CgroupVersion}`, ' Plugins:');
    for (const k of ['Volume', 'Network', 'Log']) if (i.Plugins?.[k]) L.push(`  ${k}: ${(i.Plugins[k] as string[]).join(' ')}`);
    L.push(` Swarm: ${i.Swarm?.LocalNodeState ?? 'inactive'}`);
    if (i.Swarm?.NodeID) L.push(`  NodeID: ${i.Swarm.NodeID}`, `  Is Manager: ${Boolean(i.Swarm.ControlAvailable)}`);
    L.push(` Runtimes: ${Object.keys(i.Runtimes ?? {}).join(' ')}`, ` Default Runtime: ${i.DefaultRuntime}`, ` Init Binary: ${i.InitBinary ?? ''}`);
    if (i.SecurityOptions?.length) {
      L.push(' Security Options:');
      for (const so of i.SecurityOptions as string[]) {
        const kv = Object.fromEntries(so.split(',').map((p) => p.split('=')));
        L.push(`  ${kv.name}`);
        for (const [k, val] of Object.entries(kv)) if (k !== 'name') L.push(`   ${k[0].toUpperCase()}${k.slice(1)}: ${val}`);
      }
    }
    L.push(
      ` Kernel Version: ${i.KernelVersion}`,
      ` Operating System: ${i.OperatingSystem}`,
      ` OSType: ${i.OSType}`,
      ` Architecture: ${i.Architecture}`,
      ` CPUs: ${i.NCPU}`,
      ` Total Memory: ${bytesSize(i.MemTotal)}`,
      ` Name: ${i.Name}`,
      ` ID: ${i.ID}`,
      ` Docker Root Dir: ${i.DockerRootDir}`,
      ` Debug Mode: ${Boolean(i.Debug)}`,
      ` Experimental: ${Boolean(i.ExperimentalBuild)}`,
    );
    const insecure = (i.RegistryConfig?.InsecureRegistryCIDRs ?? []) as string[];
    if (insecure.length) L.push(' Insecure Registries:', ...insecure.map((c) => `  ${c}`));
    L.push(` Live Restore Enabled: ${Boolean(i.LiveRestoreEnabled)}`);
    ctx.out(L.join('\n') + '\n');
    for (const w of (i.Warnings ?? []) as string[]) ctx.err(w + '\n');
    return 0;
  },
};

/** docker's default event line: "TIME type action id (k=v, ...)". */
export function prettyEvent(raw: string, e: Json): string {
  const tn = /"timeNano":\s*(\d+)/.exec(raw)?.[1];
  let line = '';
  if (tn && tn !== '0') line += rfc3339NanoFixed(BigInt(tn)) + ' ';
  else if (e.time) line += rfc3339NanoFixed(BigInt(e.time) * 1_000_000_000n) + ' ';
  line += `${e.Type} ${e.Action} ${e.Actor?.ID ?? ''}`;
  const attrs = (e.Actor?.Attributes ?? {}) as Record<string, string>;
  const keys = Object.keys(attrs).sort();
  if (keys.length) line += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})`;
  return line + '\n';
}

const events: Command = {
  spec: {
    usage: 'events [OPTIONS]',
    description: 'Get real time events from the server',
    maxArgs: 0,
    flags: [
      { name: 'filter', short: 'f', kind: 'list', type: 'filter', help: 'Filter output based on conditions provided' },
      { name: 'format', kind: 'string', help: 'Format output using a custom template' },
      { name: 'since', kind: 'string', help: 'Show all events created since timestamp' },
      { name: 'until', kind: 'string', help: 'Stream events until this timestamp' },
    ],
  },
  async run(ctx) {
    const now = Date.now(); // docker's events reports bad times without naming the flag
    const res = await ctx.client.request('GET', '/events', {
      query: {
        since: ctx.v.since ? apiTimestamp(ctx.v.since, now) : undefined,
        until: ctx.v.until ? apiTimestamp(ctx.v.until, now) : undefined,
        filters: filtersJson(ctx.v.filter),
      },
    });
    const tpl = ctx.v.format ? compileTemplate(ctx.v.format === 'json' ? '{{json .}}' : ctx.v.format) : undefined;
    let buf = '';
    const onSignal = () => res.destroy();
    process.once('SIGINT', onSignal);
    await new Promise<void>((resolve, reject) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const e = JSON.parse(line) as Json;
          ctx.out(tpl ? tpl.execute(e) + '\n' : prettyEvent(line, e));
        }
      });
      res.on('end', resolve);
      res.on('close', resolve);
      res.on('error', reject);
    });
    process.removeListener('SIGINT', onSignal);
    return 0;
  },
};

export const commands: Record<string, Command> = { version, info, events };

/** docker prints an RFC 3339 build time in Go's time.ANSIC layout ("Mon Jan _2 15:04:05 2006"); anything else as is. */
export function ansicTime(v: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v)) return v;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return v;
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}
