/**
 * The kubelet's AtomicWriter for configMap/secret/downwardAPI/projected volumes: the payload lives in a
 * timestamped directory, `..data` is a symlink to it, and each visible file is a symlink through `..data`.
 * An update writes a new directory and swaps `..data` with one rename, so a reader inside the container
 * sees either the old or the new set of files, never a mix.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface PayloadFile {
  data: Buffer;
  mode: number;
}

const DATA = '..data';

function same(dir: string, payload: Map<string, PayloadFile>): boolean {
  let cur: string;
  try {
    cur = fs.readlinkSync(path.join(dir, DATA));
  } catch {
    return false;
  }
  const base = path.join(dir, cur);
  const existing = listFiles(base);
  if (existing.length !== payload.size) return false;
  for (const rel of existing) {
    const p = payload.get(rel);
    if (!p) return false;
    try {
      const st = fs.statSync(path.join(base, rel));
      if ((st.mode & 0o777) !== p.mode) return false;
      if (!fs.readFileSync(path.join(base, rel)).equals(p.data)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function listFiles(base: string, prefix = ''): string[] {
  let ents: fs.Dirent[];
  try {
    ents = fs.readdirSync(path.join(base, prefix), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of ents) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(base, rel));
    else out.push(rel);
  }
  return out;
}

function validPath(rel: string): boolean {
  return !!rel && !path.isAbsolute(rel) && !rel.split('/').some((p) => p === '..' || p === '') && !rel.startsWith('..');
}

/** Writes the payload into dir atomically; returns true when something changed. */
export function writeAtomic(dir: string, payload: Map<string, PayloadFile>): boolean {
  for (const rel of payload.keys()) if (!validPath(rel)) throw new Error(`invalid path in volume payload: ${rel}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (same(dir, payload)) return false;
  const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace('T', '_').replace('Z', '')}.${process.hrtime.bigint() % 1000000000n}`;
  const tsDir = path.join(dir, stamp);
  fs.mkdirSync(tsDir, { mode: 0o755 });
  for (const [rel, f] of payload) {
    const p = path.join(tsDir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
    fs.writeFileSync(p, f.data, { mode: f.mode });
    fs.chmodSync(p, f.mode);
  }
  let old: string | undefined;
  try {
    old = fs.readlinkSync(path.join(dir, DATA));
  } catch {
    old = undefined;
  }
  const tmp = path.join(dir, '..data_tmp');
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(stamp, tmp);
  fs.renameSync(tmp, path.join(dir, DATA));
  // Top-level user-visible links: key -> ..data/key (first path component only).
  const tops = new Set([...payload.keys()].map((r) => r.split('/')[0]));
  for (const t of tops) {
    const link = path.join(dir, t);
    let ok = false;
    try {
      ok = fs.readlinkSync(link) === path.join(DATA, t);
    } catch {
      ok = false;
    }
    if (!ok) {
      fs.rmSync(link, { force: true, recursive: true });
      fs.symlinkSync(path.join(DATA, t), link);
    }
  }
  // Remove links of keys that disappeared, and the old payload.
  for (const e of fs.readdirSync(dir)) {
    if (e.startsWith('..')) continue;
    if (!tops.has(e)) fs.rmSync(path.join(dir, e), { force: true, recursive: true });
  }
  if (old && old !== stamp) fs.rmSync(path.join(dir, old), { recursive: true, force: true });
  return true;
}
