/**
 * The overlayfs snapshotter: one writable layer per key (a container) at <root>/containers/<key>/{upper,work}
 * over the image's shared read-only layer dirs. Layers come from a callback so this module knows nothing
 * of images (the composition root wires ImageService.layersOf).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { invalid, notFound } from '../../common/errors';
import type { RootfsMount, Snapshotter } from '../images/types';
import type { LayerInfo } from './layers';
import { mountOverlay, unmount } from './mount';

export interface OverlaySnapshotterOptions {
  /** The snapshotter root (DATA_DIR/snapshots); layer links live in <root>/l. */
  root: string;
  /** The image's layers, bottom first, unpacked. */
  layersOf(imageId: string): Promise<LayerInfo[]>;
}

interface SnapshotMeta {
  key: string;
  imageId: string;
  /** Bottom first. */
  chainIds: string[];
  /** Short links relative to root, bottom first. */
  links: string[];
  dirs: string[];
}

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class OverlaySnapshotter implements Snapshotter {
  private readonly dir: string;
  private readonly pending = new Set<Promise<void>>();
  /** Metadata of the snapshots this process prepared or read (a start asks again for what create made). */
  private readonly metas = new Map<string, SnapshotMeta>();

  constructor(private readonly opts: OverlaySnapshotterOptions) {
    this.dir = path.join(opts.root, 'containers');
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Deletions a crash interrupted.
    for (const name of fs.readdirSync(this.dir)) {
      if (name.startsWith('.trash-')) fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
    }
    if (/[,:]/.test(opts.root)) throw invalid(`snapshot root "${opts.root}" must not contain ',' or ':' (overlay options)`);
  }

  private keyDir(key: string): string {
    if (!KEY_RE.test(key)) throw invalid(`invalid snapshot key "${key}"`);
    return path.join(this.dir, key);
  }

  private async meta(key: string): Promise<SnapshotMeta> {
    const known = this.metas.get(key);
    if (known) return known;
    try {
      const m = JSON.parse(await fsp.readFile(path.join(this.keyDir(key), 'meta.json'), 'utf8')) as SnapshotMeta;
      this.metas.set(key, m);
      return m;
    } catch {
      throw notFound(`snapshot ${key} does not exist`);
    }
  }

  private toMount(key: string, m: SnapshotMeta): RootfsMount {
    const kd = this.keyDir(key);
    return {
      type: 'overlay',
      source: 'overlay',
      options: [
        `lowerdir=${[...m.dirs].reverse().join(':')}`,
        `upperdir=${path.join(kd, 'upper')}`,
        `workdir=${path.join(kd, 'work')}`,
      ],
      upperDir: path.join(kd, 'upper'),
    };
  }

  async prepare(key: string, imageId: string): Promise<RootfsMount> {
    const kd = this.keyDir(key);
    try {
      const existing = await this.meta(key);
      if (existing.imageId !== imageId) throw invalid(`snapshot ${key} exists for another image (${existing.imageId})`);
      return this.toMount(key, existing);
    } catch (err) {
      if (!(err instanceof Error && /does not exist/.test(err.message))) throw err;
    }
    const layers = await this.opts.layersOf(imageId);
    if (layers.length === 0) throw invalid(`image ${imageId} has no layers`);
    const meta: SnapshotMeta = {
      key,
      imageId,
      chainIds: layers.map((l) => l.chainId),
      links: layers.map((l) => l.link),
      dirs: layers.map((l) => l.dir),
    };
    const tmp = `${kd}.tmp`;
    // On the thread pool: metadata writes on the data dir's file system (ext4) can wait for its journal for
    // milliseconds when the disk is busy, which synchronously would stall everything else this process does.
    await fsp.rm(tmp, { recursive: true, force: true });
    await fsp.mkdir(path.join(tmp, 'upper'), { recursive: true, mode: 0o755 });
    await fsp.mkdir(path.join(tmp, 'work'), { mode: 0o700 });
    await fsp.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta));
    await fsp.rename(tmp, kd);
    this.metas.set(key, meta);
    return this.toMount(key, meta);
  }

  async mount(key: string, target: string, opts: { volatile?: boolean } = {}): Promise<void> {
    const m = await this.meta(key);
    const kd = this.keyDir(key);
    await fsp.mkdir(target, { recursive: true });
    // Relative, top first: the kernel resolves them against mount's cwd (the snapshotter root).
    let options =
      `lowerdir=${[...m.links].reverse().join(':')},` +
      `upperdir=${path.join(kd, 'upper')},workdir=${path.join(kd, 'work')}`;
    // A volatile mount leaves work/work/incompat/volatile behind and the kernel refuses to mount that work dir
    // again until it is removed. Removing it accepts whatever a crash left in the upper dir — fine for a
    // container's writable layer, which is what volatile was asked for.
    await fsp.rm(path.join(kd, 'work', 'work', 'incompat'), { recursive: true, force: true });
    if (opts.volatile) options += ',volatile';
    // The kernel takes mount options in one page.
    if (Buffer.byteLength(options) >= 4000) {
      throw invalid(`cannot mount ${m.links.length} layers in one overlay: the mount options would exceed a page`);
    }
    await mountOverlay(target, options, this.opts.root);
  }

  async unmount(target: string): Promise<void> {
    await unmount(path.resolve(target));
  }

  /** Removes the writable layer: renamed away at once (invisible to list()), deleted in the background. */
  async remove(key: string): Promise<void> {
    const kd = this.keyDir(key);
    this.metas.delete(key);
    const trash = path.join(this.dir, `.trash-${key}-${crypto.randomBytes(4).toString('hex')}`);
    try {
      await fsp.rename(kd, trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await fsp.rm(`${kd}.tmp`, { recursive: true, force: true });
    const done = fsp.rm(trash, { recursive: true, force: true }).catch(() => {});
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /** Waits for background deletions (tests, shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async list(): Promise<string[]> {
    return (await fsp.readdir(this.dir)).filter((n) => KEY_RE.test(n) && !n.endsWith('.tmp'));
  }

  /** Chain ids of layers under some writable layer: they must not be removed. */
  async layersInUse(): Promise<Set<string>> {
    const used = new Set<string>();
    for (const key of await this.list()) {
      try {
        for (const c of (await this.meta(key)).chainIds) used.add(c);
      } catch {
        /* vanished meanwhile */
      }
    }
    return used;
  }

  /** Image ids with a writable layer (for "image in use" when no container manager says otherwise). */
  async imagesInUse(): Promise<Set<string>> {
    const used = new Set<string>();
    for (const key of await this.list()) {
      try {
        used.add((await this.meta(key)).imageId);
      } catch {
        /* vanished meanwhile */
      }
    }
    return used;
  }
}
