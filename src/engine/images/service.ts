/**
 * The image service: images as OCI manifests + configs in the content store, references in the metadata
 * index, layers unpacked once in the layer store. Implements ImageLookup for the container manager and the
 * operations behind `docker images/rmi/tag/inspect/history/import/save/load`.
 */
import path from 'node:path';
import { SkiffError, conflict, invalid, notFound } from '../../common/errors';
import { ContentStore } from './content';
import { chainIds, isDigest, shortId } from './digest';
import { ImageMetadata, type StoredImage } from './metadata';
import { MediaType, type Descriptor, type ImageConfigBlob, type Manifest } from './oci';
import {
  familiarString,
  fullName,
  parseReference,
  parseTagged,
  referenceString,
  withDefaultTag,
  type Reference,
} from './reference';
import type { ImageLookup, ImageRecord, RegistryCredentials } from './types';
import type { LayerInfo, LayerStore } from '../snapshot/layers';

/** A container that uses an image (supplied by the container manager). */
export interface ImageUser {
  id: string;
  running: boolean;
}

export interface ImageServiceOptions {
  /** DATA_DIR: content in <dataDir>/content, metadata in <dataDir>/images. */
  dataDir: string;
  layers: LayerStore;
  /** Containers using an image; absent means "none". */
  usersOf?: (imageId: string) => ImageUser[];
  /** Layer chain ids under some container's writable layer (never deleted). */
  layersInUse?: () => Promise<Set<string>>;
  /** Image events (tag, untag, delete, import, load, save). */
  onEvent?: (action: string, id: string, attributes: Record<string, string>) => void;
}

/** One line of `docker rmi` output. */
export type DeleteItem = { Untagged: string } | { Deleted: string };

export interface NewLayer {
  /** The blob, already in the content store. */
  blob: Descriptor;
}

export interface ImageDetails extends ImageRecord {
  manifestDigest: string;
  manifestDescriptor: Descriptor;
  configBlob: ImageConfigBlob;
  layers: LayerInfo[];
  lastTagTime?: string;
}

export interface CommitOptions {
  /** Runs under the service's lock first (e.g. make pending layer blobs visible). */
  before?: () => Promise<void>;
  /** The original manifest bytes to keep (pulls, OCI loads); it must describe this config and these layers. */
  manifest?: Buffer;
  /** `name@sha256:...` references to record (a registry client records the pulled manifest digest). */
  repoDigests?: string[];
}

export class ImageService implements ImageLookup {
  readonly content: ContentStore;
  readonly meta: ImageMetadata;
  readonly layers: LayerStore;
  private readonly configs = new Map<string, ImageConfigBlob>();
  private readonly manifests = new Map<string, Manifest>();
  /**
   * Serialises what adds or drops blobs and layers (commit, remove, prune, garbage collection), so a delete
   * never collects a layer an image being committed has just found present.
   */
  private lockChain: Promise<unknown> = Promise.resolve();

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lockChain.then(fn, fn);
    this.lockChain = run.catch(() => undefined);
    return run;
  }

  constructor(private readonly opts: ImageServiceOptions) {
    this.content = new ContentStore(path.join(opts.dataDir, 'content'));
    this.meta = new ImageMetadata(path.join(opts.dataDir, 'images'));
    this.layers = opts.layers;
  }

  setUsersOf(fn: (imageId: string) => ImageUser[]): void {
    this.opts.usersOf = fn;
  }

  /** The registry client's pull (wired by the daemon), for callers below the API edge (the node agent). */
  private puller?: (ref: string, credentials?: RegistryCredentials) => Promise<unknown>;

  setPuller(fn: (ref: string, credentials?: RegistryCredentials) => Promise<unknown>): void {
    this.puller = fn;
  }

  /** Whether a registry client is wired in. */
  canPull(): boolean {
    return !!this.puller;
  }

  /** Pulls `ref` through the registry client; throws its errors (NotFound when none is wired). */
  async pull(ref: string, credentials?: RegistryCredentials): Promise<void> {
    if (!this.puller) throw notFound(`pull access denied for ${displayRef(ref)}: this engine has no registry client`);
    await this.puller(ref, credentials);
  }

  private usersOf(id: string): ImageUser[] {
    return this.opts.usersOf?.(id) ?? [];
  }

  /** Publishes an image event (load, import, save come from the archive modules). */
  emit(action: string, id: string, name?: string): void {
    this.event(action, id, name);
  }

  private event(action: string, id: string, name?: string): void {
    this.opts.onEvent?.(action, id, name ? { name } : {});
  }

  count(): number {
    return this.meta.images().length;
  }

  // ---- resolution ----------------------------------------------------------------------------------

  /** Finds the stored image for a reference, full or short id. NotFound: `No such image: <ref>`. */
  lookup(ref: string): StoredImage {
    const missing = () => notFound(`No such image: ${displayRef(ref)}`, { kind: 'image', name: ref });
    if (ref === '') throw missing();
    if (isDigest(ref)) {
      const img = this.meta.image(ref);
      if (img) return img;
      throw missing();
    }
    if (/^[a-f0-9]{64}$/.test(ref)) {
      const img = this.meta.image(`sha256:${ref}`);
      if (img) return img;
      throw missing();
    }
    let parsed: Reference | undefined;
    try {
      parsed = parseReference(ref);
    } catch {
      parsed = undefined;
    }
    if (parsed) {
      const r = withDefaultTag(parsed);
      const id = this.meta.ref(referenceString(r));
      if (id && this.meta.image(id)) return this.meta.image(id)!;
      if (r.digest) {
        // name@digest also matches the manifest digest of an image tagged in that repository.
        for (const img of this.meta.images()) {
          if (img.manifestDigest !== r.digest) continue;
          if (this.meta.refsOf(img.id).some((x) => fullName(parseReference(x)) === fullName(r))) return img;
        }
      }
    }
    // A short id: a unique prefix of an image id.
    const hex = ref.replace(/^sha256:/, '');
    if (/^[a-f0-9]{1,64}$/.test(hex)) {
      const matches = this.meta.images().filter((i) => i.id.slice(7).startsWith(hex));
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) throw invalid(`ambiguous image id prefix "${ref}": ${matches.length} images match`);
    }
    throw missing();
  }

  async resolve(ref: string): Promise<ImageRecord> {
    return this.record(this.lookup(ref));
  }

  /** The config if it was read before (sync; list filters). */
  configCached(id: string): ImageConfigBlob | undefined {
    return this.configs.get(id);
  }

  async config(id: string): Promise<ImageConfigBlob> {
    const cached = this.configs.get(id);
    if (cached) return cached;
    const blob = JSON.parse((await this.content.readBlob(id)).toString('utf8')) as ImageConfigBlob;
    this.configs.set(id, blob);
    return blob;
  }

  async manifest(img: StoredImage): Promise<Manifest> {
    // Content-addressed, so immutable: verified once, then served from memory (container create reads it).
    const cached = this.manifests.get(img.manifestDigest);
    if (cached) return cached;
    const m = JSON.parse((await this.content.readBlob(img.manifestDigest)).toString('utf8')) as Manifest;
    this.manifests.set(img.manifestDigest, m);
    return m;
  }

  /** Tags (familiar form) and digests of an image, as Docker shows them. */
  namesOf(id: string): { repoTags: string[]; repoDigests: string[] } {
    const repoTags: string[] = [];
    const repoDigests: string[] = [];
    for (const r of this.meta.refsOf(id)) {
      const p = parseReference(r);
      if (p.digest) repoDigests.push(familiarString(p));
      else repoTags.push(familiarString(p));
    }
    return { repoTags, repoDigests };
  }

  async record(img: StoredImage): Promise<ImageRecord> {
    const cfg = await this.config(img.id);
    const { repoTags, repoDigests } = this.namesOf(img.id);
    return {
      id: img.id,
      repoTags,
      repoDigests,
      created: cfg.created ?? img.addedAt,
      size: img.size,
      architecture: cfg.architecture,
      os: cfg.os,
      config: cfg.config ?? {},
      diffIds: cfg.rootfs?.diff_ids ?? [],
    };
  }

  async details(ref: string): Promise<ImageDetails> {
    const img = this.lookup(ref);
    const rec = await this.record(img);
    const manifestBytes = await this.content.readBlob(img.manifestDigest);
    const manifestMediaType = (JSON.parse(manifestBytes.toString('utf8')) as Manifest).mediaType ?? MediaType.ociManifest;
    return {
      ...rec,
      manifestDigest: img.manifestDigest,
      manifestDescriptor: { mediaType: manifestMediaType, digest: img.manifestDigest, size: manifestBytes.length },
      configBlob: await this.config(img.id),
      layers: await this.layersOf(img.id),
      lastTagTime: img.lastTagTime,
    };
  }

  async list(): Promise<ImageRecord[]> {
    const out: ImageRecord[] = [];
    for (const img of this.meta.images()) out.push(await this.record(img));
    return out;
  }

  containersOf(id: string): number {
    return this.usersOf(id).length;
  }

  // ---- layers --------------------------------------------------------------------------------------

  /** The image's layers, bottom first, unpacking any that are missing (from the content store). */
  async layersOf(imageId: string): Promise<LayerInfo[]> {
    const img = this.meta.image(imageId) ?? this.lookup(imageId);
    const cfg = await this.config(img.id);
    const manifest = await this.manifest(img);
    const diffIds = cfg.rootfs.diff_ids;
    const chains = chainIds(diffIds);
    const out: LayerInfo[] = [];
    for (let i = 0; i < diffIds.length; i++) {
      const blob = manifest.layers[i];
      out.push(await this.layers.ensure(chains[i], diffIds[i], () => this.content.readStream(blob.digest)));
    }
    return out;
  }

  // ---- creation ------------------------------------------------------------------------------------

  /**
   * Records an image whose layer blobs are already in the content store: unpacks (and so validates) every
   * layer, writes config and manifest, then tags. Returns the image id. On a bad layer nothing is recorded.
   */
  commit(
    config: ImageConfigBlob | Buffer,
    layers: Descriptor[],
    tags: string[] = [],
    opts: CommitOptions = {},
  ): Promise<string> {
    return this.exclusive(async () => {
      await opts.before?.();
      return this.commitLocked(config, layers, tags, opts);
    });
  }

  private async commitLocked(config: ImageConfigBlob | Buffer, layers: Descriptor[], tags: string[], opts: CommitOptions): Promise<string> {
    const configBytes = Buffer.isBuffer(config) ? config : Buffer.from(JSON.stringify(config));
    const cfg = JSON.parse(configBytes.toString('utf8')) as ImageConfigBlob;
    const diffIds = cfg.rootfs?.diff_ids;
    if (!Array.isArray(diffIds) || diffIds.length !== layers.length) {
      throw invalid(`image config lists ${diffIds?.length ?? 0} layers but the image has ${layers.length}`);
    }
    if (diffIds.length === 0) throw invalid(`image has no layers`);
    for (const d of diffIds) if (!isDigest(d)) throw invalid(`invalid diff id "${d}" in image config`);
    const chains = chainIds(diffIds);
    let size = 0;
    for (let i = 0; i < layers.length; i++) {
      const info = await this.layers.ensure(chains[i], diffIds[i], () => this.content.readStream(layers[i].digest));
      size += info.size;
    }
    const configDesc = await this.content.writeBlob(configBytes);
    let manifestBytes: Buffer;
    if (opts.manifest) {
      // Keep the original manifest (its digest is what registries and RepoDigests name), if it describes
      // exactly this config and these layers.
      let m: Manifest;
      try {
        m = JSON.parse(opts.manifest.toString('utf8')) as Manifest;
      } catch {
        throw invalid('image manifest is not valid JSON');
      }
      if (m.config?.digest !== configDesc.digest || m.layers?.length !== layers.length || m.layers.some((l, i) => l.digest !== layers[i].digest)) {
        throw invalid('image manifest does not describe the image config and layers given');
      }
      manifestBytes = opts.manifest;
    } else {
      const manifest: Manifest = {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: configDesc.digest, size: configDesc.size },
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      };
      manifestBytes = Buffer.from(JSON.stringify(manifest));
    }
    const manifestDesc = await this.content.writeBlob(manifestBytes);
    const id = configDesc.digest;
    const refs = tags.map((t) => referenceString(parseTagged(t)));
    for (const d of opts.repoDigests ?? []) {
      const r = parseReference(d);
      if (!r.digest || r.tag) throw invalid(`"${d}" is not a name@digest reference`);
      refs.push(referenceString(r));
    }
    const now = new Date().toISOString();
    await this.meta.update((db) => {
      if (!db.images[id]) db.images[id] = { id, manifestDigest: manifestDesc.digest, size, addedAt: now };
      for (const r of refs) db.refs[r] = id;
      if (refs.length > 0) db.images[id].lastTagTime = now;
    });
    this.configs.set(id, cfg);
    return id;
  }

  /** Adds a layer blob (an uncompressed or gzip tar) to the content store; returns its descriptor. */
  async addLayerBlob(data: Buffer | AsyncIterable<Buffer>, gzip = false): Promise<Descriptor> {
    if (Buffer.isBuffer(data)) {
      const info = await this.content.writeBlob(data);
      return { mediaType: gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, ...info };
    }
    const pending = await this.content.ingest(data);
    await pending.commit();
    return { mediaType: gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: pending.digest, size: pending.size };
  }

  // ---- tag / remove --------------------------------------------------------------------------------

  async tag(source: string, target: string): Promise<void> {
    const img = this.lookup(source);
    const r = parseTagged(target);
    const now = new Date().toISOString();
    await this.meta.update((db) => {
      db.refs[referenceString(r)] = img.id;
      db.images[img.id].lastTagTime = now;
    });
    this.event('tag', img.id, familiarString(r));
  }

  /** Docker's ImageDelete: untag vs delete, conflicts with containers, force. */
  remove(ref: string, opts: { force?: boolean; noPrune?: boolean } = {}): Promise<DeleteItem[]> {
    return this.exclusive(() => this.removeLocked(ref, opts));
  }

  private async removeLocked(ref: string, opts: { force?: boolean; noPrune?: boolean }): Promise<DeleteItem[]> {
    const force = !!opts.force;
    const img = this.lookup(ref);
    const id = img.id;
    const items: DeleteItem[] = [];
    const refs = () => this.meta.refsOf(id);
    const isIdRef = isIdPrefix(id, ref);
    const users = this.usersOf(id);

    if (!isIdRef) {
      const r = withDefaultTag(parseReference(ref));
      const key = referenceString(r);
      if (!force && isSingleReference(refs()) && users.length > 0) {
        throw conflict(
          `conflict: unable to remove repository reference "${ref}" (must force) - container ${shortId(users[0].id)} is using its referenced image ${shortId(id)}`,
        );
      }
      if (this.meta.ref(key) === id) {
        await this.meta.update((db) => void delete db.refs[key]);
        items.push({ Untagged: familiarString(r) });
        this.event('untag', id, familiarString(r));
      } else {
        // Resolved through a digest or prefix match rather than a stored reference: treat like an id.
        return this.removeLocked(id, opts);
      }
      // Digest references left alone in the same repository go with the tag (Docker does the same).
      const left = refs();
      const sameRepoDigests = left.filter((x) => parseReference(x).digest && fullName(parseReference(x)) === fullName(r));
      if (left.length > 0 && left.length === sameRepoDigests.length) {
        await this.meta.update((db) => sameRepoDigests.forEach((x) => delete db.refs[x]));
        for (const x of sameRepoDigests) items.push({ Untagged: familiarString(parseReference(x)) });
      }
      if (refs().length > 0) return items;
      // Untagged the last name: the image goes too — unless a running container uses it (then it stays,
      // dangling, as Docker's "quiet" conflict does). Forced, a stopped container does not keep it.
      if (users.some((u) => u.running) || (users.length > 0 && !force)) return items;
    } else {
      // By id: with one name (plus digests of that repository) the names go with it; otherwise names stay and
      // only force removes them (Docker's "referenced in multiple repositories").
      const rs = refs();
      if (isSingleReference(rs)) {
        this.checkUsers(id, users, force);
        await this.untagAll(id, rs, items);
      }
    }
    const running = users.find((u) => u.running);
    if (running) this.checkUsers(id, users, force);
    if (!force && refs().length > 0) {
      throw conflict(`conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
    }
    this.checkUsers(id, users, force);
    await this.untagAll(id, refs(), items);
    await this.deleteImage(id, items);
    return items;
  }

  private async untagAll(id: string, rs: string[], items: DeleteItem[]): Promise<void> {
    if (rs.length === 0) return;
    await this.meta.update((db) => rs.forEach((x) => delete db.refs[x]));
    for (const x of rs) {
      items.push({ Untagged: familiarString(parseReference(x)) });
      this.event('untag', id, familiarString(parseReference(x)));
    }
  }

  private checkUsers(id: string, users: ImageUser[], force: boolean): void {
    const running = users.find((u) => u.running);
    if (running) {
      throw conflict(
        `conflict: unable to delete ${shortId(id)} (cannot be forced) - image is being used by running container ${shortId(running.id)}`,
      );
    }
    if (!force && users.length > 0) {
      throw conflict(
        `conflict: unable to delete ${shortId(id)} (must be forced) - image is being used by stopped container ${shortId(users[0].id)}`,
      );
    }
  }

  /** Drops the image record and every blob and layer no other image (or container) still needs. */
  private async deleteImage(id: string, items: DeleteItem[]): Promise<void> {
    const img = this.meta.image(id);
    if (!img) return;
    const manifest = await this.manifest(img).catch(() => undefined);
    const cfg = await this.config(id).catch(() => undefined);
    await this.meta.update((db) => {
      for (const [k, v] of Object.entries(db.refs)) if (v === id) delete db.refs[k];
      delete db.images[id];
    });
    this.configs.delete(id);
    this.manifests.delete(img.manifestDigest);
    items.push({ Deleted: id });
    this.event('delete', id);
    // What the remaining images still reference.
    const keepBlobs = new Set<string>();
    const keepChains = new Set<string>(await (this.opts.layersInUse?.() ?? Promise.resolve(new Set<string>())));
    for (const other of this.meta.images()) {
      keepBlobs.add(other.id).add(other.manifestDigest);
      try {
        const m = await this.manifest(other);
        m.layers.forEach((l) => keepBlobs.add(l.digest));
        chainIds((await this.config(other.id)).rootfs.diff_ids).forEach((c) => keepChains.add(c));
      } catch {
        /* a broken image keeps nothing alive */
      }
    }
    for (const d of [id, img.manifestDigest, ...(manifest?.layers.map((l) => l.digest) ?? [])]) {
      if (!keepBlobs.has(d)) await this.content.delete(d);
    }
    for (const c of chainIds(cfg?.rootfs.diff_ids ?? [])) {
      if (!keepChains.has(c)) {
        await this.layers.remove(c);
        items.push({ Deleted: c });
      }
    }
  }

  /** Deletes blobs no image references (after a failed load or import). */
  dropUnreferenced(digests: string[]): Promise<void> {
    return this.exclusive(() => this.dropUnreferencedLocked(digests));
  }

  private async dropUnreferencedLocked(digests: string[]): Promise<void> {
    const keep = new Set<string>();
    for (const img of this.meta.images()) {
      keep.add(img.id).add(img.manifestDigest);
      try {
        (await this.manifest(img)).layers.forEach((l) => keep.add(l.digest));
      } catch {
        /* broken image */
      }
    }
    for (const d of digests) if (!keep.has(d)) await this.content.delete(d);
  }

  /**
   * Removes what a crash can leave behind: blobs no image references (written before their image was
   * recorded) and layer dirs no image or writable layer uses. Run at start-up, before serving.
   */
  collectGarbage(): Promise<{ blobs: number; layers: number }> {
    return this.exclusive(() => this.collectGarbageLocked());
  }

  private async collectGarbageLocked(): Promise<{ blobs: number; layers: number }> {
    const keepBlobs = new Set<string>();
    const keepChains = new Set<string>(await (this.opts.layersInUse?.() ?? Promise.resolve(new Set<string>())));
    for (const img of this.meta.images()) {
      keepBlobs.add(img.id).add(img.manifestDigest);
      try {
        (await this.manifest(img)).layers.forEach((l) => keepBlobs.add(l.digest));
        chainIds((await this.config(img.id)).rootfs.diff_ids).forEach((c) => keepChains.add(c));
      } catch {
        /* a broken image keeps nothing alive */
      }
    }
    const doomed: string[] = [];
    await this.content.walk((b) => {
      if (!keepBlobs.has(b.digest)) doomed.push(b.digest);
    });
    for (const d of doomed) await this.content.delete(d);
    let layers = 0;
    for (const c of await this.layers.list()) {
      if (!keepChains.has(c)) {
        await this.layers.remove(c);
        layers++;
      }
    }
    await this.layers.pruneLinks();
    return { blobs: doomed.length, layers };
  }

  /** Removes dangling images (or, with all, every image no container uses). */
  prune(opts: { all?: boolean; filter?: (rec: ImageRecord) => boolean } = {}): Promise<{ deleted: DeleteItem[]; reclaimed: number }> {
    return this.exclusive(() => this.pruneLocked(opts));
  }

  private async pruneLocked(opts: { all?: boolean; filter?: (rec: ImageRecord) => boolean }): Promise<{
    deleted: DeleteItem[];
    reclaimed: number;
  }> {
    const deleted: DeleteItem[] = [];
    let reclaimed = 0;
    for (const img of this.meta.images()) {
      const refs = this.meta.refsOf(img.id);
      if (!opts.all && refs.length > 0) continue;
      if (this.usersOf(img.id).length > 0) continue;
      if (opts.filter && !opts.filter(await this.record(img))) continue;
      const items: DeleteItem[] = [];
      for (const r of refs) {
        await this.meta.update((db) => void delete db.refs[r]);
        items.push({ Untagged: familiarString(parseReference(r)) });
      }
      await this.deleteImage(img.id, items);
      reclaimed += img.size;
      deleted.push(...items);
    }
    return { deleted, reclaimed };
  }
}

/**
 * Docker's isSingleReference: exactly one tag (any number of digest references of that same repository),
 * or only digest references, all of one repository.
 */
export function isSingleReference(refs: string[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  const parsed = refs.map((r) => parseReference(r));
  const tags = parsed.filter((p) => !p.digest);
  if (tags.length > 1) return false;
  const digestRepos = new Set(parsed.filter((p) => p.digest).map((p) => fullName(p)));
  const single = tags[0] ?? parsed[0];
  return digestRepos.size === 1 && digestRepos.has(fullName(single));
}

/** True when ref is (a prefix of) the id rather than a name. */
function isIdPrefix(id: string, ref: string): boolean {
  return ref.length > 0 && (id.startsWith(ref) || id.startsWith(`sha256:${ref}`));
}

function displayRef(ref: string): string {
  try {
    if (/^[a-f0-9]{1,64}$/.test(ref) || ref.startsWith('sha256:')) return ref;
    return familiarString(withDefaultTag(parseReference(ref)));
  } catch {
    return ref;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof SkiffError && err.code === 'NotFound';
}
