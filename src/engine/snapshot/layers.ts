/**
 * Read-only layer directories, unpacked once and shared by every container of every image that has them:
 * <root>/layers/<chainid hex>/fs, plus a short link <root>/l/<id> -> ../layers/<hex>/fs so that overlay mount
 * options stay far below the kernel's one-page limit (lowerdir=l/a:l/b:... relative to <root>, as Docker's
 * overlay2 does).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { internal, invalid } from '../../common/errors';
import { applyLayerInWorker, type ByteSource } from './unpack';

export interface LayerInfo {
  chainId: string;
  diffId: string;
  /** Sum of regular file sizes. */
  size: number;
  /** Absolute path of the unpacked layer. */
  dir: string;
  /** The short link relative to the snapshotter root, e.g. "l/5f3c...". */
  link: string;
}

interface LayerMeta {
  chainId: string;
  diffId: string;
  size: number;
  link: string;
}

const hexOf = (d: string) => d.replace(/^sha256:/, '');

export class LayerStore {
  private readonly layersDir: string;
  private readonly linksDir: string;
  private readonly inflight = new Map<string, Promise<LayerInfo>>();
  /** Committed layers are immutable until remove(): their info is kept in memory. */
  private readonly cache = new Map<string, LayerInfo>();

  constructor(readonly root: string) {
    this.layersDir = path.join(root, 'layers');
    this.linksDir = path.join(root, 'l');
    fs.mkdirSync(this.layersDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.linksDir, { recursive: true, mode: 0o700 });
    // Unpacks interrupted by a crash never became visible; remove them.
    for (const name of fs.readdirSync(this.layersDir)) {
      if (name.includes('.tmp-')) fs.rmSync(path.join(this.layersDir, name), { recursive: true, force: true });
    }
  }

  private layerDir(chainId: string): string {
    if (!/^sha256:[a-f0-9]{64}$/.test(chainId)) throw invalid(`invalid chain id "${chainId}"`);
    return path.join(this.layersDir, hexOf(chainId));
  }

  async get(chainId: string): Promise<LayerInfo | undefined> {
    const hit = this.cache.get(chainId);
    if (hit) return hit;
    const dir = this.layerDir(chainId);
    try {
      const meta = JSON.parse(await fsp.readFile(path.join(dir, 'meta.json'), 'utf8')) as LayerMeta;
      const info = { ...meta, dir: path.join(dir, 'fs') };
      this.cache.set(chainId, info);
      return info;
    } catch {
      return undefined;
    }
  }

  /**
   * Returns the layer, unpacking it from `open()` if it is not there yet (once, even when asked
   * concurrently). The unpacked stream must hash to `diffId`.
   */
  ensure(chainId: string, diffId: string, open: () => ByteSource): Promise<LayerInfo> {
    const running = this.inflight.get(chainId);
    if (running) return running;
    const p = (async () => {
      const existing = await this.get(chainId);
      if (existing) return existing;
      return this.unpack(chainId, diffId, open);
    })().finally(() => this.inflight.delete(chainId));
    this.inflight.set(chainId, p);
    return p;
  }

  private async unpack(chainId: string, diffId: string, open: () => ByteSource): Promise<LayerInfo> {
    const final = this.layerDir(chainId);
    const tmp = `${final}.tmp-${crypto.randomBytes(6).toString('hex')}`;
    await fsp.mkdir(path.join(tmp, 'fs'), { recursive: true, mode: 0o700 });
    await fsp.chmod(path.join(tmp, 'fs'), 0o755);
    try {
      const result = await applyLayerInWorker(path.join(tmp, 'fs'), open());
      if (result.diffId !== diffId) {
        throw invalid(`layer content does not match its diff id: expected ${diffId}, got ${result.diffId}`);
      }
      const link = `l/${crypto.randomBytes(10).toString('hex')}`;
      const meta: LayerMeta = { chainId, diffId, size: result.size, link };
      await fsp.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta));
      await fsp.symlink(`../layers/${hexOf(chainId)}/fs`, path.join(this.root, link));
      try {
        await fsp.rename(tmp, final);
      } catch (err) {
        await fsp.rm(path.join(this.root, link), { force: true });
        throw internal(`cannot commit layer ${chainId}`, err);
      }
      return { ...meta, dir: path.join(final, 'fs') };
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  async remove(chainId: string): Promise<void> {
    const info = await this.get(chainId);
    this.cache.delete(chainId);
    if (!info) return;
    const dir = this.layerDir(chainId);
    // Make it invisible first (a rename is atomic), then delete at leisure.
    const doomed = `${dir}.tmp-rm-${crypto.randomBytes(4).toString('hex')}`;
    await fsp.rename(dir, doomed);
    await fsp.rm(path.join(this.root, info.link), { force: true });
    await fsp.rm(doomed, { recursive: true, force: true });
  }

  /** Removes short links whose layer is gone (a crash between unlink steps). */
  async pruneLinks(): Promise<void> {
    for (const name of await fsp.readdir(this.linksDir)) {
      const link = path.join(this.linksDir, name);
      try {
        await fsp.stat(link);
      } catch {
        await fsp.rm(link, { force: true });
      }
    }
  }

  async list(): Promise<string[]> {
    return (await fsp.readdir(this.layersDir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }
}
