/**
 * `docker import --change` / `docker commit --change`: Dockerfile instructions applied to an image config
 * (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, ONBUILD). Pure.
 */
import { invalid } from '../../common/errors';
import type { ImageRuntimeConfig } from './types';

/** JSON form `["a","b"]` or shell form (wrapped in /bin/sh -c, as Docker does). */
function execOrShell(arg: string): string[] {
  const t = arg.trim();
  if (t.startsWith('[')) {
    try {
      const parsed = JSON.parse(t) as unknown;
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[];
    } catch {
      /* not JSON: shell form */
    }
  }
  return ['/bin/sh', '-c', t];
}

/** `k=v k2="v 2"` or the legacy single `k v`. */
function keyValues(arg: string, instruction: string): Array<[string, string]> {
  const t = arg.trim();
  const first = t.split(/\s/)[0];
  if (!first.includes('=')) {
    const m = /^(\S+)\s+(.*)$/s.exec(t);
    if (!m) throw invalid(`${instruction} requires at least one argument`);
    return [[m[1], m[2]]];
  }
  const out: Array<[string, string]> = [];
  const re = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) {
    const v = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4] !== undefined ? m[4] : m[5];
    out.push([m[1], v]);
  }
  return out;
}

export function applyChanges(config: ImageRuntimeConfig, changes: string[]): ImageRuntimeConfig {
  const c: ImageRuntimeConfig = { ...config };
  for (const change of changes) {
    const m = /^\s*(\w+)\s*(.*)$/s.exec(change);
    if (!m) throw invalid(`invalid change "${change}"`);
    const instruction = m[1].toUpperCase();
    const arg = m[2];
    switch (instruction) {
      case 'CMD':
        c.Cmd = execOrShell(arg);
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = execOrShell(arg);
        break;
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of keyValues(arg, 'ENV')) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(keyValues(arg, 'LABEL')) };
        break;
      case 'EXPOSE': {
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const p of arg.trim().split(/\s+/).filter(Boolean)) ports[p.includes('/') ? p : `${p}/tcp`] = {};
        c.ExposedPorts = ports;
        break;
      }
      case 'USER':
        c.User = arg.trim();
        break;
      case 'WORKDIR':
        c.WorkingDir = arg.trim();
        break;
      case 'STOPSIGNAL':
        c.StopSignal = arg.trim();
        break;
      case 'VOLUME': {
        const vols = { ...(c.Volumes ?? {}) };
        const t = arg.trim();
        const list = t.startsWith('[') ? (JSON.parse(t) as string[]) : t.split(/\s+/);
        for (const v of list.filter(Boolean)) vols[v] = {};
        c.Volumes = vols;
        break;
      }
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), arg.trim()];
        break;
      default:
        throw invalid(`${instruction} is not a valid change command`);
    }
  }
  return c;
}
