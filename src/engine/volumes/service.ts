/**
 * Named volumes (the "local" driver): DATA_DIR/volumes/<name>/_data, metadata beside it in
 * DATA_DIR/volumes/<name>/meta.json. Whether a volume is in use is asked of the container manager through
 * a callback (volumes sit below containers and never import them).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { conflict, invalid, notFound } from '../../common/errors';

export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string>;
  /** Created for an image VOLUME or `-v /path` without a name. */
  Anonymous?: boolean;
}

export interface VolumeServiceOptions {
  dataDir: string;
  /** Ids of containers using the volume. */
  usersOf(name: string): string[];
  onEvent?(action: string, name: string, attributes: Record<string, string>): void;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class VolumeService {
  private readonly root: string;
  private readonly cache = new Map<string, VolumeRecord>();

  constructor(private readonly opts: VolumeServiceOptions) {
    this.root = path.join(opts.dataDir, 'volumes');
    fs.mkdirSync(this.root, { recursive: true, mode: 0o701 });
    for (const name of fs.readdirSync(this.root)) {
      try {
        this.cache.set(name, JSON.parse(fs.readFileSync(path.join(this.root, name, 'meta.json'), 'utf8')) as VolumeRecord);
      } catch {
        // No metadata: a create that did not finish.
        fs.rmSync(path.join(this.root, name), { recursive: true, force: true });
      }
    }
  }

  /** Idempotent for an existing name (Docker returns the existing volume). */
  async create(req: { Name?: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }, anonymous = false): Promise<VolumeRecord> {
    const name = req.Name || crypto.randomBytes(32).toString('hex');
    if (!NAME_RE.test(name))
      throw invalid(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
    if (req.Driver && req.Driver !== 'local') throw notFound(`plugin "${req.Driver}" not found`);
    if (req.DriverOpts && Object.keys(req.DriverOpts).length)
      throw invalid(`create ${name}: driver options are not supported by skiff's local driver`);
    const existing = this.cache.get(name);
    if (existing) return existing;
    const dir = path.join(this.root, name);
    const rec: VolumeRecord = {
      Name: name,
      Driver: 'local',
      Mountpoint: path.join(dir, '_data'),
      CreatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      Labels: req.Labels ?? {},
      Scope: 'local',
      Options: {},
      ...(anonymous ? { Anonymous: true } : {}),
    };
    await fsp.mkdir(rec.Mountpoint, { recursive: true, mode: 0o755 });
    await fsp.writeFile(path.join(dir, 'meta.json'), JSON.stringify(rec));
    this.cache.set(name, rec);
    this.opts.onEvent?.('create', name, { driver: 'local' });
    return rec;
  }

  get(name: string): VolumeRecord {
    const v = this.cache.get(name);
    if (!v) throw notFound(`get ${name}: no such volume`);
    return v;
  }

  has(name: string): boolean {
    return this.cache.has(name);
  }

  list(): VolumeRecord[] {
    return [...this.cache.values()];
  }

  async remove(name: string, force = false): Promise<void> {
    const v = this.cache.get(name);
    if (!v) {
      if (force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    const users = this.opts.usersOf(name);
    if (users.length)
      throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    this.cache.delete(name);
    await fsp.rm(path.join(this.root, name), { recursive: true, force: true });
    this.opts.onEvent?.('destroy', name, { driver: 'local' });
  }

  /** Removes unused volumes: anonymous ones only, unless `all` (Docker API >= 1.42 semantics). */
  async prune(opts: { all?: boolean; labels?: string[] } = {}): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let space = 0;
    for (const v of this.list()) {
      if (!opts.all && !v.Anonymous) continue;
      if (opts.labels?.length && !opts.labels.every((l) => matchLabel(v.Labels, l))) continue;
      if (this.opts.usersOf(v.Name).length) continue;
      space += await dirSize(path.join(this.root, v.Name));
      await this.remove(v.Name).catch(() => undefined);
      deleted.push(v.Name);
    }
    return { VolumesDeleted: deleted, SpaceReclaimed: space };
  }

  async usage(name: string): Promise<number> {
    return dirSize(path.join(this.root, name, '_data'));
  }
}

export function matchLabel(labels: Record<string, string>, filter: string): boolean {
  const [k, v] = filter.split(/=(.*)/s);
  return v === undefined ? k in labels : labels[k] === v;
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(p);
    else
      try {
        total += (await fsp.lstat(p)).size;
      } catch {
        /* gone */
      }
  }
  return total;
}
