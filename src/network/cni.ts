/**
 * A small libcni: runs a network configuration list (conflist) against a network namespace by executing
 * the plugins with the CNI environment and the config on stdin, as the CNI spec 1.0.0 describes.
 *
 * - ADD runs the plugins in order, each given the previous plugin's result as `prevResult`.
 * - DEL runs them in reverse with the cached ADD result as `prevResult` (plugins must tolerate its absence
 *   and a vanished netns: that is what reconcile after a crash relies on).
 * - CHECK runs them in order with the cached result.
 * Runtime config (`portMappings`, `ips`, `mac`) reaches only the plugins that declare the capability.
 */
import { runVia, type Runner } from './exec';

export const CNI_VERSION = '1.0.0';

export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
}

export interface RuntimeConf {
  containerId: string;
  /** Empty when the namespace is gone (DEL during cleanup). */
  netns: string;
  ifName: string;
  /** Capability arguments, e.g. { portMappings: [...], ips: ["10.0.0.5/24"], mac: "..." }. */
  capabilityArgs?: Record<string, unknown>;
  args?: Record<string, string>;
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}
export interface CniIp {
  interface?: number;
  address: string;
  gateway?: string;
}
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
}

export class CniError extends Error {
  constructor(
    readonly plugin: string,
    readonly command: string,
    readonly cniCode: number | undefined,
    readonly msg: string,
    readonly details?: string,
  ) {
    super(`CNI plugin ${plugin} ${command} failed: ${msg}${details ? ` (${details})` : ''}`);
  }
}

export class CniInvoker {
  constructor(
    readonly pluginDirs: string[] = ['/usr/lib/cni', '/opt/cni/bin'],
    private readonly runner?: Runner,
  ) {}

  async add(list: ConfList, rt: RuntimeConf): Promise<CniResult> {
    let prev: CniResult | undefined;
    for (const plugin of list.plugins) {
      prev = (await this.exec('ADD', pluginStdin(list, plugin, rt, prev), plugin.type, rt)) as CniResult;
    }
    if (!prev) throw new Error(`conflist ${list.name} has no plugins`);
    return prev;
  }

  async del(list: ConfList, rt: RuntimeConf, cached?: CniResult): Promise<void> {
    const errors: Error[] = [];
    // Every plugin gets its DEL even if an earlier one failed: leaving rules behind is worse than an error.
    for (const plugin of [...list.plugins].reverse()) {
      try {
        await this.exec('DEL', pluginStdin(list, plugin, rt, cached), plugin.type, rt);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    if (errors.length) throw errors[0];
  }

  async check(list: ConfList, rt: RuntimeConf, cached: CniResult): Promise<void> {
    for (const plugin of list.plugins) {
      await this.exec('CHECK', pluginStdin(list, plugin, rt, cached), plugin.type, rt);
    }
  }

  private async exec(command: string, stdin: string, type: string, rt: RuntimeConf): Promise<unknown> {
    if (!/^[A-Za-z0-9_-]+$/.test(type)) throw new Error(`bad CNI plugin type ${JSON.stringify(type)}`);
    const bin = await this.find(type);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: rt.containerId,
      CNI_NETNS: rt.netns,
      CNI_IFNAME: rt.ifName,
      CNI_PATH: this.pluginDirs.join(':'),
    };
    if (rt.args && Object.keys(rt.args).length) {
      env.CNI_ARGS = Object.entries(rt.args)
        .map(([k, v]) => `${k}=${v}`)
        .join(';');
    }
    const res = await runVia(this.runner, bin, [], { env, stdin, allowFail: true, timeoutMs: 60_000 });
    if (res.code !== 0) {
      let msg = (res.stderr || res.stdout).trim() || `exit ${res.code}`;
      let code: number | undefined;
      let details: string | undefined;
      try {
        const e = JSON.parse(res.stdout) as { code?: number; msg?: string; details?: string };
        code = e.code;
        msg = e.msg ?? msg;
        details = e.details;
      } catch {
        /* not a CNI error object: keep the raw text */
      }
      throw new CniError(type, command, code, msg, details);
    }
    if (command !== 'ADD') return undefined;
    try {
      return JSON.parse(res.stdout);
    } catch {
      throw new CniError(type, command, undefined, `unparseable result: ${res.stdout.slice(0, 200)}`);
    }
  }

  private found = new Map<string, string>();
  private async find(type: string): Promise<string> {
    const hit = this.found.get(type);
    if (hit) return hit;
    const { access } = await import('node:fs/promises');
    for (const d of this.pluginDirs) {
      try {
        await access(`${d}/${type}`, 1);
        this.found.set(type, `${d}/${type}`);
        return `${d}/${type}`;
      } catch {
        /* next dir */
      }
    }
    throw new CniError(type, 'find', undefined, `plugin ${type} not found in ${this.pluginDirs.join(':')}`);
  }
}

/** The stdin config for one plugin of a list (pure; exported for tests). */
export function pluginStdin(list: ConfList, plugin: PluginConf, rt: RuntimeConf, prev?: CniResult): string {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const caps = plugin.capabilities ?? {};
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, value] of Object.entries(rt.capabilityArgs ?? {})) {
    if (caps[cap] && value !== undefined) runtimeConfig[cap] = value;
  }
  if (Object.keys(runtimeConfig).length) conf.runtimeConfig = runtimeConfig;
  if (prev) conf.prevResult = prev;
  return JSON.stringify(conf);
}
