/**
 * `docker save`: images as one tarball that both formats can read — Docker's docker-archive
 * (manifest.json + repositories) and an OCI image layout (oci-layout, index.json, blobs/sha256/...), the
 * combined form Docker 25+ writes. Blobs are streamed from the content store (verified as they are read).
 */
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { hexOf } from './digest';
import { MediaType, type Manifest } from './oci';
import { familiarName, familiarString, fullName, parseReference, referenceString, type Reference } from './reference';
import { padding, tarEnd, tarEntry, tarHeader } from './tar-writer';
import type { ImageService } from './service';

export interface SavePlan {
  images: Array<{ id: string; manifestDigest: string; manifest: Manifest; tags: Reference[] }>;
}

/** Resolves names first so that a missing image is a clean 404 before any byte is sent. */
async function plan(images: ImageService, names: string[]): Promise<SavePlan> {
  const byId = new Map<string, { id: string; manifestDigest: string; manifest: Manifest; tags: Reference[] }>();
  const add = async (id: string, tag?: Reference) => {
    let entry = byId.get(id);
    if (!entry) {
      const img = images.lookup(id);
      entry = { id, manifestDigest: img.manifestDigest, manifest: await images.manifest(img), tags: [] };
      byId.set(id, entry);
    }
    if (tag && !entry.tags.some((t) => referenceString(t) === referenceString(tag))) entry.tags.push(tag);
  };
  for (const name of names) {
    const img = images.lookup(name); // throws NotFound "No such image: x"
    let parsed: Reference | undefined;
    try {
      parsed = parseReference(name);
    } catch {
      parsed = undefined;
    }
    const byIdRef = img.id.startsWith(name) || img.id.startsWith(`sha256:${name}`);
    if (!parsed || byIdRef) {
      await add(img.id);
    } else if (!parsed.tag && !parsed.digest) {
      // A bare name saves every tag of that repository (Docker does the same).
      for (const [r, id] of images.meta.allRefs()) {
        const p = parseReference(r);
        if (p.tag && fullName(p) === fullName(parsed)) await add(id, p);
      }
      if (!byId.has(img.id)) await add(img.id, { ...parsed, tag: 'latest' });
    } else if (parsed.tag) {
      await add(img.id, parsed);
    } else {
      await add(img.id);
    }
  }
  return { images: [...byId.values()] };
}

/** Writes with back-pressure; a client that went away ends the save instead of waiting for ever. */
async function writeChunk(out: Writable, chunk: Buffer): Promise<void> {
  if (out.destroyed || out.writableEnded) throw new Error('save: the client went away');
  if (!out.write(chunk)) {
    const ac = new AbortController();
    try {
      await Promise.race([once(out, 'drain', { signal: ac.signal }), once(out, 'close', { signal: ac.signal })]);
    } finally {
      ac.abort();
    }
    if (out.destroyed) throw new Error('save: the client went away');
  }
}

async function write(images: ImageService, p: SavePlan, out: Writable): Promise<void> {
  const written = new Set<string>();
  await writeChunk(out, tarEntry({ path: 'blobs/', type: 'dir', mode: 0o755 }));
  await writeChunk(out, tarEntry({ path: 'blobs/sha256/', type: 'dir', mode: 0o755 }));
  const blob = async (digest: string) => {
    if (written.has(digest)) return;
    written.add(digest);
    const info = await images.content.info(digest);
    await writeChunk(out, tarHeader({ path: `blobs/sha256/${hexOf(digest)}`, size: info.size, mode: 0o444 }));
    for await (const chunk of images.content.readStream(digest)) await writeChunk(out, chunk as Buffer);
    await writeChunk(out, padding(info.size));
  };
  const dockerManifest: unknown[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] as unknown[] };
  for (const img of p.images) {
    await blob(img.id);
    for (const l of img.manifest.layers) await blob(l.digest);
    await blob(img.manifestDigest);
    const manifestSize = (await images.content.info(img.manifestDigest)).size;
    const descriptor = { mediaType: img.manifest.mediaType ?? MediaType.ociManifest, digest: img.manifestDigest, size: manifestSize };
    if (img.tags.length === 0) index.manifests.push(descriptor);
    for (const t of img.tags) {
      index.manifests.push({
        ...descriptor,
        annotations: { 'io.containerd.image.name': referenceString(t), 'org.opencontainers.image.ref.name': t.tag ?? 'latest' },
      });
      (repositories[familiarName(t)] ??= {})[t.tag ?? 'latest'] = hexOf(img.id);
    }
    dockerManifest.push({
      Config: `blobs/sha256/${hexOf(img.id)}`,
      RepoTags: img.tags.length ? img.tags.map((t) => familiarString(t)) : null,
      Layers: img.manifest.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
    });
  }
  const json = (name: string, v: unknown) => tarEntry({ path: name, mode: 0o644 }, Buffer.from(JSON.stringify(v)));
  await writeChunk(out, json('index.json', index));
  await writeChunk(out, json('manifest.json', dockerManifest));
  await writeChunk(out, json('oci-layout', { imageLayoutVersion: '1.0.0' }));
  if (Object.keys(repositories).length) await writeChunk(out, json('repositories', repositories));
  await writeChunk(out, tarEnd());
  for (const img of p.images) images.emit('save', img.id, img.tags[0] ? familiarString(img.tags[0]) : undefined);
}

export const saveArchive = { plan, write };
