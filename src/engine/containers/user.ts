/**
 * `-u user[:group]` resolved against the container's own /etc/passwd and /etc/group (Docker resolves
 * inside the rootfs too; numeric ids need no files). Missing names are a start error, as in Docker.
 */
import fs from 'node:fs';
import path from 'node:path';
import { invalid } from '../../common/errors';

/** A file of the rootfs: `rootfs` is the mounted root, or the overlay's layer dirs top first (first hit wins). */
export function rootfsPath(rootfs: string | string[], rel: string): string {
  const dirs = Array.isArray(rootfs) ? rootfs : [rootfs];
  for (const d of dirs) {
    const p = path.join(d, rel);
    try {
      fs.lstatSync(p);
      return p;
    } catch {
      /* next layer */
    }
  }
  return path.join(dirs[0], rel);
}

/**
 * Tables read from image layers, by path. Layers below the container's own (the overlay's lower dirs) never
 * change, so every container of an image shares one read; the top (writable) layer and a mounted rootfs are
 * read each time. Bounded: a few images' worth.
 */
const layerTables = new Map<string, string[][]>();
const LAYER_TABLES_MAX = 64;

function readTable(rootfs: string | string[], file: string): string[][] {
  const p = rootfsPath(rootfs, file);
  const fromLower = Array.isArray(rootfs) && rootfs.length > 1 && !p.startsWith(rootfs[0] + '/');
  const cached = fromLower ? layerTables.get(p) : undefined;
  if (cached) return cached;
  let table: string[][];
  try {
    table = fs
      .readFileSync(p, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
  if (fromLower) {
    if (layerTables.size >= LAYER_TABLES_MAX) layerTables.delete(layerTables.keys().next().value!);
    layerTables.set(p, table);
  }
  return table;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

export function resolveUser(rootfs: string | string[], spec: string): ResolvedUser {
  const [userPart = '', groupPart] = (spec || '').split(':');
  const passwd = readTable(rootfs, 'etc/passwd');
  const groups = readTable(rootfs, 'etc/group');
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name = 'root';
  if (userPart === '') {
    const root = passwd.find((p) => p[2] === '0');
    if (root) home = root[5] || '/';
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((p) => Number(p[2]) === uid);
    if (entry) {
      gid = Number(entry[3]);
      home = entry[5] || '/';
      name = entry[0];
    } else name = '';
  } else {
    const entry = passwd.find((p) => p[0] === userPart);
    if (!entry) throw invalid(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
    home = entry[5] || '/';
    name = entry[0];
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((e) => e[0] === groupPart);
      if (!g) throw invalid(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = Number(g[2]);
    }
  }
  const additionalGids =
    name === ''
      ? []
      : groups.filter((g) => (g[3] ?? '').split(',').includes(name) && Number(g[2]) !== gid).map((g) => Number(g[2]));
  return { uid, gid, additionalGids, home };
}
