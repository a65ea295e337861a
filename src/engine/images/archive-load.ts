/**
 * `docker load`: reads a docker-archive (manifest.json, as `docker save` writes, old or new layout) or an
 * OCI image layout (index.json + blobs/) tarball. Every regular file is streamed into a pending blob (never
 * onto the filesystem under its archive name, so hostile paths in the outer archive cannot escape); the
 * documents are then interpreted, the blobs they reference committed (OCI blob paths must match their
 * content's digest), and each image committed — which unpacks and verifies every layer against the config's
 * diff ids. Anything unreferenced is discarded.
 */
import path from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { invalid } from '../../common/errors';
import type { PendingBlob } from './content';
import { isDigest } from './digest';
import { hostArch, isIndexType, MediaType, type Descriptor, type Index, type Manifest } from './oci';
import { familiarString, parseReference, withDefaultTag } from './reference';
import { maybeDecompress, type ByteSource } from '../snapshot/unpack';
import type { ImageService } from './service';

export interface LoadedImage {
  id: string;
  /** Familiar name:tag, when the archive named the image. */
  tag?: string;
}

interface ArchiveFile {
  blob: PendingBlob;
  /** Kept for small files (documents). */
  data?: Buffer;
  gzip: boolean;
}

/** Files up to this size are also kept in memory: documents (configs, manifests) are read from there. */
const SMALL = 2 * 1024 * 1024;

function clean(p: string): string {
  return path.posix.normalize('/' + p).slice(1).replace(/\/$/, '');
}

export async function loadArchive(images: ImageService, source: ByteSource): Promise<LoadedImage[]> {
  const files = new Map<string, ArchiveFile>();
  const links = new Map<string, string>();
  let failure: unknown;
  let onFailure: () => void = () => {};
  const failed = new Promise<void>((r) => (onFailure = r));
  const fail = (err: unknown) => {
    failure ??= err;
    onFailure();
  };
  const work: Promise<void>[] = [];
  /** Entries being streamed into the content store: ended by force if we stop early. */
  const live = new Set<ReadEntry>();
  // strict: every tar warning (bad checksum, truncated input...) is an 'error' event.
  const parser = new Parser({ strict: true });
  parser.on('error', (err: Error) => fail(invalid(`invalid archive: ${err.message}`)));
  parser.on('entry', (e: ReadEntry) => {
    const name = clean(e.path);
    if (failure || name === '') return void e.resume();
    if (e.type === 'SymbolicLink' && e.linkpath) {
      links.set(name, clean(path.posix.join(path.posix.dirname(name), e.linkpath)));
      return void e.resume();
    }
    if (e.type === 'Link' && e.linkpath) {
      links.set(name, clean(e.linkpath));
      return void e.resume();
    }
    if (e.type !== 'File' && e.type !== 'OldFile' && e.type !== 'ContiguousFile') return void e.resume();
    const small = (e.size ?? 0) <= SMALL;
    const chunks: Buffer[] = [];
    let head: Buffer | undefined;
    const tee = (async function* () {
      for await (const c of e as AsyncIterable<Buffer>) {
        if (!head) head = c;
        if (small) chunks.push(c);
        yield c;
      }
    })();
    live.add(e);
    work.push(
      images.content.ingest(tee).then(
        (blob) => {
          live.delete(e);
          const prev = files.get(name);
          if (prev) void prev.blob.abort();
          files.set(name, { blob, data: small ? Buffer.concat(chunks) : undefined, gzip: !!head && head[0] === 0x1f && head[1] === 0x8b });
        },
        (err) => {
          live.delete(e);
          e.resume(); // keep the parser moving; the failure stops the read loop
          fail(err);
        },
      ),
    );
  });
  const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));
  try {
    try {
      for await (const chunk of maybeDecompress(source)) {
        if (!parser.write(chunk)) await Promise.race([new Promise<void>((r) => parser.once('drain', () => r())), failed]);
        if (failure) break;
      }
      if (!failure) {
        parser.end();
        await Promise.race([ended, failed]);
      }
    } catch (err) {
      fail(err);
    }
    if (failure) for (const e of live) e.destroy(); // their consumers finish; the blobs are aborted below
    await Promise.allSettled(work);
    if (failure) throw failure;
    return await interpret(images, files, links);
  } finally {
    await Promise.allSettled(work);
    for (const f of files.values()) await f.blob.abort(); // no-op for committed blobs
  }
}

async function interpret(images: ImageService, files: Map<string, ArchiveFile>, links: Map<string, string>): Promise<LoadedImage[]> {
  const get = (name: string): ArchiveFile => {
    let n = clean(name);
    for (let i = 0; i < 16 && !files.has(n) && links.has(n); i++) n = links.get(n)!;
    const f = files.get(n);
    if (!f) throw invalid(`invalid archive: "${name}" is missing`);
    return f;
  };
  const doc = <T>(name: string): T => {
    const f = get(name);
    if (!f.data) throw invalid(`invalid archive: "${name}" is too large`);
    try {
      return JSON.parse(f.data.toString('utf8')) as T;
    } catch {
      throw invalid(`invalid archive: "${name}" is not valid JSON`);
    }
  };
  const layerDesc = (f: ArchiveFile): Descriptor => ({
    mediaType: f.gzip ? MediaType.ociLayerGzip : MediaType.ociLayer,
    digest: f.blob.digest,
    size: f.blob.size,
  });
  // Layer blobs become visible under the image service's lock, just before their image is committed.
  const commitAll = (fs: ArchiveFile[]) => async () => {
    for (const f of fs) await f.blob.commit();
  };
  const committed: string[] = [];
  const loaded: LoadedImage[] = [];
  try {
    if (files.has('manifest.json')) {
      const manifest = doc<Array<{ Config: string; RepoTags?: string[] | null; Layers: string[] }>>('manifest.json');
      if (!Array.isArray(manifest)) throw invalid('invalid archive: manifest.json is not a list');
      for (const item of manifest) {
        if (typeof item?.Config !== 'string' || !Array.isArray(item.Layers)) throw invalid('invalid archive: bad manifest.json entry');
        const config = get(item.Config);
        if (!config.data) throw invalid(`invalid archive: config "${item.Config}" is too large`);
        const layerFiles = item.Layers.map((l) => get(l));
        const layers = layerFiles.map(layerDesc);
        committed.push(...layers.map((d) => d.digest));
        const tags = (item.RepoTags ?? []).map((t) => familiarString(withDefaultTag(parseReference(t))));
        const id = await images.commit(config.data, layers, tags, { before: commitAll(layerFiles) });
        if (tags.length === 0) loaded.push({ id });
        for (const t of tags) loaded.push({ id, tag: t });
      }
      for (const l of loaded) images.emit('load', l.id, l.tag);
      return loaded;
    }
    if (files.has('index.json')) {
      const blobFile = (digest: string): ArchiveFile => {
        if (!isDigest(digest)) throw invalid(`invalid archive: unsupported digest "${digest}"`);
        const f = get(`blobs/sha256/${digest.slice(7)}`);
        if (f.blob.digest !== digest) throw invalid(`invalid archive: blob ${digest} does not match its content (${f.blob.digest})`);
        return f;
      };
      const json = <T>(digest: string): T => {
        const f = blobFile(digest);
        if (!f.data) throw invalid(`invalid archive: document ${digest} is too large`);
        return JSON.parse(f.data.toString('utf8')) as T;
      };
      const pick = (desc: Descriptor, depth = 0): Descriptor => {
        if (!isIndexType(desc.mediaType)) return desc;
        if (depth > 4) throw invalid('invalid archive: nested indexes too deep');
        const idx = json<Index>(desc.digest);
        const match =
          idx.manifests.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === hostArch()) ??
          idx.manifests.find((m) => !m.platform);
        if (!match) throw invalid(`invalid archive: no manifest for linux/${hostArch()}`);
        return pick(match, depth + 1);
      };
      const index = doc<Index>('index.json');
      for (const top of index.manifests ?? []) {
        const desc = pick(top);
        const manifest = json<Manifest>(desc.digest);
        const configFile = blobFile(manifest.config.digest);
        if (!configFile.data) throw invalid('invalid archive: config too large');
        const layerFiles = manifest.layers.map((l) => blobFile(l.digest));
        const layers: Descriptor[] = manifest.layers.map((l, i) => ({ mediaType: l.mediaType, digest: l.digest, size: layerFiles[i].blob.size }));
        committed.push(...layers.map((d) => d.digest));
        // containerd's annotation is a full reference; OCI's ref.name may be just a tag ("latest"), which
        // names nothing on its own — only a value that looks like a reference (has ':' or '/') is used.
        const refName = top.annotations?.['org.opencontainers.image.ref.name'];
        const name = top.annotations?.['io.containerd.image.name'] ?? (refName && /[:/]/.test(refName) ? refName : undefined);
        let tags: string[] = [];
        if (name) {
          try {
            tags = [familiarString(withDefaultTag(parseReference(name)))];
          } catch {
            tags = []; // a bare tag ("latest") names nothing on its own
          }
        }
        const manifestBytes = blobFile(desc.digest).data;
        const id = await images.commit(configFile.data, layers, tags, { before: commitAll(layerFiles), manifest: manifestBytes });
        if (tags.length === 0) loaded.push({ id });
        for (const t of tags) loaded.push({ id, tag: t });
      }
      for (const l of loaded) images.emit('load', l.id, l.tag);
      return loaded;
    }
    throw invalid('invalid archive: neither manifest.json nor index.json found (not a docker-archive or OCI layout)');
  } catch (err) {
    await images.dropUnreferenced(committed);
    throw err;
  }
}
