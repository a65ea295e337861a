/**
 * Container storage: turning -v / --mount / --tmpfs / image VOLUMEs into mount points at create time, and
 * mount points into OCI mounts at start.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { invalid } from '../../common/errors';
import type { OciMount } from '../runtime/spec';
import type { VolumeService } from '../volumes/service';
import { parseBind } from './config';
import { rootfsPath } from './user';
import type { ContainerConfig, HostConfig, MountPoint } from './types';

/** Resolves mount points, creating named and anonymous volumes. On failure, volumes it created are removed. */
export async function resolveMounts(config: ContainerConfig, hc: HostConfig, volumes: VolumeService): Promise<MountPoint[]> {
  const points: MountPoint[] = [];
  const created: string[] = [];
  const seen = new Set<string>();
  const add = (mp: MountPoint) => {
    const dest = path.posix.normalize(mp.Destination);
    if (seen.has(dest)) throw invalid(`Duplicate mount point: ${dest}`);
    seen.add(dest);
    points.push({ ...mp, Destination: dest });
  };
  const volume = async (name: string, anonymous: boolean) => {
    const existed = name !== '' && volumes.has(name);
    const v = await volumes.create({ Name: name || undefined }, anonymous);
    if (!existed) created.push(v.Name);
    return v;
  };
  try {
    for (const spec of hc.Binds ?? []) {
      const b = parseBind(spec);
      if (b.named) {
        const v = await volume(b.source, b.source === '');
        add({ Type: 'volume', Name: v.Name, Source: v.Mountpoint, Destination: b.target, Driver: 'local', Mode: b.readOnly ? 'ro' : '', RW: !b.readOnly, Propagation: '', ...(b.source === '' ? { Anonymous: true } : {}) });
      } else {
        // `-v /host:/ctr` creates a missing host directory (Docker's legacy behaviour; --mount refuses).
        await fsp.mkdir(b.source, { recursive: true });
        add({ Type: 'bind', Source: path.resolve(b.source), Destination: b.target, Mode: b.readOnly ? 'ro' : '', RW: !b.readOnly, Propagation: b.propagation ?? 'rprivate' });
      }
    }
    for (const m of hc.Mounts ?? []) {
      if (!m.Target || !m.Target.startsWith('/')) throw invalid(`invalid mount config: mount path must be absolute: '${m.Target ?? ''}'`);
      if (m.Type === 'bind') {
        if (!m.Source || !path.isAbsolute(m.Source)) throw invalid(`invalid mount config for type "bind": invalid mount path: '${m.Source ?? ''}' mount path must be absolute`);
        if (!fs.existsSync(m.Source)) throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
        add({ Type: 'bind', Source: m.Source, Destination: m.Target, Mode: '', RW: !m.ReadOnly, Propagation: m.BindOptions?.Propagation ?? 'rprivate' });
      } else if (m.Type === 'volume') {
        const v = await volume(m.Source ?? '', !m.Source);
        add({ Type: 'volume', Name: v.Name, Source: v.Mountpoint, Destination: m.Target, Driver: 'local', Mode: 'z', RW: !m.ReadOnly, Propagation: '', ...(!m.Source ? { Anonymous: true } : {}) });
      } else if (m.Type === 'tmpfs') {
        const opts: string[] = [];
        if (m.TmpfsOptions?.SizeBytes) opts.push(`size=${m.TmpfsOptions.SizeBytes}`);
        if (m.TmpfsOptions?.Mode) opts.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
        add({ Type: 'tmpfs', Source: '', Destination: m.Target, Mode: '', RW: !m.ReadOnly, Propagation: '', TmpfsOptions: opts.join(',') });
      } else throw invalid(`mount type unknown: "${(m as { Type: string }).Type}"`);
    }
    for (const [target, opts] of Object.entries(hc.Tmpfs ?? {})) {
      if (!target.startsWith('/')) throw invalid(`invalid tmpfs mount path: ${target}`);
      add({ Type: 'tmpfs', Source: '', Destination: target, Mode: '', RW: !opts.split(',').includes('ro'), Propagation: '', TmpfsOptions: opts });
    }
    // Image VOLUMEs not covered by the request get anonymous volumes.
    for (const target of Object.keys(config.Volumes ?? {})) {
      if (seen.has(path.posix.normalize(target))) continue;
      const v = await volume('', true);
      add({ Type: 'volume', Name: v.Name, Source: v.Mountpoint, Destination: target, Driver: 'local', Mode: '', RW: true, Propagation: '', Anonymous: true });
    }
  } catch (err) {
    for (const name of created) await volumes.remove(name, true).catch(() => undefined);
    throw err;
  }
  return points;
}

/** OCI mounts for the mount points (sorted so parents mount before children). */
export function ociMounts(points: MountPoint[]): OciMount[] {
  return [...points]
    .sort((a, b) => a.Destination.split('/').length - b.Destination.split('/').length)
    .map((p): OciMount => {
      if (p.Type === 'tmpfs') {
        const user = (p.TmpfsOptions ?? '').split(',').filter(Boolean);
        const base = ['nosuid', 'nodev', user.includes('exec') ? 'exec' : 'noexec'];
        return { destination: p.Destination, type: 'tmpfs', source: 'tmpfs', options: [...base, ...user.filter((o) => o !== 'exec' && o !== 'noexec')] };
      }
      return {
        destination: p.Destination,
        type: 'bind',
        source: p.Source,
        options: ['rbind', p.RW ? 'rw' : 'ro', p.Propagation || 'rprivate'],
      };
    });
}

/** Docker copies the image's content at a volume's path into the volume the first time it is used. */
export async function copyUpVolumes(rootfs: string | string[], points: MountPoint[]): Promise<void> {
  for (const p of points) {
    if (p.Type !== 'volume') continue;
    const src = rootfsPath(rootfs, p.Destination);
    try {
      if ((await fsp.readdir(p.Source)).length > 0) continue;
      const st = await fsp.lstat(src);
      if (!st.isDirectory()) continue;
      await fsp.cp(src, p.Source, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    } catch {
      // nothing to copy
    }
  }
}
