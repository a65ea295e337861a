/**
 * Pull: tag → manifest (an index/list narrowed to linux/<host arch>) → config and layer blobs into the content
 * store, each verified against its digest, blobs already there skipped → the image committed with its tag and
 * RepoDigest. Progress messages in Docker's JSON-message shape. On any failure nothing stays behind: pending
 * blobs are aborted and blobs no image references are dropped.
 */
import { SkiffError, invalid } from '../../common/errors';
import { sha256, shortId } from '../images/digest';
import { hostArch, type Descriptor, type ImageConfigBlob } from '../images/oci';
import { familiarName, familiarString, fullName, parseReference, referenceString, type Reference } from '../images/reference';
import type { ImageService } from '../images/service';
import type { PendingBlob } from '../images/content';
import { pullError, RegistryHttpError } from './errors';
import { MANIFEST_ACCEPT, parseDocument, pickPlatform } from './manifest';
import type { RegistryTransport } from './transport';

export type Progress = (msg: Record<string, unknown>) => void;

/** Documents (manifests, configs) larger than this are refused: they are held in memory. */
const MAX_DOCUMENT = 8 << 20;
const PARALLEL = 3;
const DOWNLOAD_ATTEMPTS = 3;

/** Transport failures and server errors; not content that fails verification, nor 4xx answers. */
function retriable(err: unknown): boolean {
  if (err instanceof RegistryHttpError) return err.status >= 500;
  if (err instanceof SkiffError) return err.code === 'Unavailable';
  return true; // a connection reset mid-body surfaces as a plain Error from the stream
}

export interface PullResult {
  id: string;
  /** Digest of what the reference points at (an index's own digest for multi-platform images). */
  digest: string;
  upToDate: boolean;
}

async function readLimited(res: Response, what: string): Promise<Buffer> {
  const len = Number(res.headers.get('content-length') ?? '0');
  if (len > MAX_DOCUMENT) throw invalid(`${what} is too large (${len} bytes)`);
  const buf = Buffer.from(await res.arrayBuffer());
  if (buf.length > MAX_DOCUMENT) throw invalid(`${what} is too large (${buf.length} bytes)`);
  return buf;
}

/** An explicit platform (`docker pull --platform os/arch`); default linux/<host arch>. */
export interface Platform {
  os: string;
  architecture: string;
}

export async function pull(images: ImageService, t: RegistryTransport, ref: Reference, progress: Progress, platform?: Platform): Promise<PullResult> {
  const want: Platform = platform ?? { os: 'linux', architecture: hostArch() };
  const name = familiarName(ref);
  const display = familiarString(ref);
  const scope = `repository:${ref.path}:pull`;
  const pending: PendingBlob[] = [];
  const touched: string[] = [];
  try {
    await t.ping();
    const fetchDoc = async (reference: string, expected?: string) => {
      const res = await t.request(`/v2/${ref.path}/manifests/${reference}`, { scope, headers: { Accept: MANIFEST_ACCEPT } });
      const bytes = await readLimited(res, 'manifest');
      const digest = sha256(bytes);
      if (expected && digest !== expected) throw invalid(`manifest verification failed for digest ${expected}`);
      return { bytes, digest, doc: parseDocument(bytes, res.headers.get('content-type')) };
    };
    const top = await fetchDoc(ref.digest ?? ref.tag ?? 'latest', ref.digest);
    progress({ status: `Pulling from ${ref.path}`, id: ref.tag ?? ref.digest });
    let cur = top;
    for (let depth = 0; cur.doc.kind === 'index'; depth++) {
      if (depth > 2) throw invalid('nested manifest lists are too deep');
      const pick = pickPlatform(cur.doc.index, want.os, want.architecture);
      cur = await fetchDoc(pick.digest, pick.digest);
    }
    if (cur.doc.kind !== 'manifest') throw invalid('no image manifest');
    const manifest = cur.doc.manifest;
    const manifestBytes = cur.bytes;

    // Up to date: the reference already names this very image.
    let before: string | undefined;
    try {
      before = images.lookup(referenceString(ref)).id;
    } catch {
      before = undefined;
    }
    const upToDate = before === manifest.config.digest && (await images.content.has(cur.digest));

    // Config: small, held in memory, verified, written by commit.
    let config: Buffer;
    if (await images.content.has(manifest.config.digest)) {
      config = await images.content.readBlob(manifest.config.digest);
    } else {
      const res = await t.request(`/v2/${ref.path}/blobs/${manifest.config.digest}`, { scope });
      config = await readLimited(res, 'image config');
      if (sha256(config) !== manifest.config.digest) throw invalid(`image config verification failed for digest ${manifest.config.digest}`);
    }
    touched.push(manifest.config.digest);
    if (platform) {
      // A single-platform image asked for with --platform must be that platform (moby's check).
      const cfg = JSON.parse(config.toString('utf8')) as ImageConfigBlob;
      if (cfg.os !== want.os || cfg.architecture !== want.architecture) {
        throw new SkiffError(
          'NotFound',
          `image with reference ${display} was found but does not match the specified platform: wanted ${want.os}/${want.architecture}, actual: ${cfg.os}/${cfg.architecture}`,
        );
      }
    }

    // Layers: present ones are skipped; the others stream into the store, PARALLEL at a time.
    const layers = manifest.layers;
    const todo: Descriptor[] = [];
    const seen = new Set<string>();
    for (const l of layers) {
      if (seen.has(l.digest)) continue;
      seen.add(l.digest);
      touched.push(l.digest);
      if (await images.content.has(l.digest)) {
        if (!upToDate) progress({ status: 'Already exists', progressDetail: {}, id: shortId(l.digest) });
      } else {
        todo.push(l);
        progress({ status: 'Pulling fs layer', progressDetail: {}, id: shortId(l.digest) });
      }
    }
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (next < todo.length && !failed) {
        const l = todo[next++];
        for (let attempt = 1; ; attempt++) {
          try {
            pending.push(await fetchLayer(t, ref.path, scope, l, images, progress));
            break;
          } catch (err) {
            // A dropped connection or a registry hiccup is retried (moby retries too); bad content is not.
            if (attempt >= DOWNLOAD_ATTEMPTS || failed || t.aborted || !retriable(err)) {
              failed = true;
              throw err;
            }
            progress({ status: `Retrying in ${attempt} second${attempt > 1 ? 's' : ''}`, progressDetail: {}, id: shortId(l.digest) });
            await new Promise((r) => setTimeout(r, attempt * 1000));
          }
        }
      }
    };
    // Settle every download before failing, so that the cleanup below sees (and aborts) all of them.
    const results = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL, todo.length) }, worker));
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;

    // Nothing new (the node agent's Always policy asks on every start): no rewrite of the image index.
    const repoDigest = `${fullName(ref)}@${top.digest}`;
    if (upToDate && images.meta.ref(referenceString(parseReference(repoDigest))) === before) {
      progress({ status: `Digest: ${top.digest}` });
      progress({ status: `Status: Image is up to date for ${display}` });
      images.emit('pull', display, display);
      return { id: before!, digest: top.digest, upToDate };
    }
    const id = await images.commit(config, layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })), ref.tag ? [referenceString(ref)] : [], {
      before: async () => {
        for (const p of pending) await p.commit();
      },
      manifest: manifestBytes,
      repoDigests: [repoDigest],
    });
    for (const l of todo) progress({ status: 'Pull complete', progressDetail: {}, id: shortId(l.digest) });
    progress({ status: `Digest: ${top.digest}` });
    progress({ status: upToDate ? `Status: Image is up to date for ${display}` : `Status: Downloaded newer image for ${display}` });
    // moby names the reference in pull events (id and name), not the image id; also for an up-to-date pull.
    images.emit('pull', display, display);
    return { id, digest: top.digest, upToDate };
  } catch (err) {
    for (const p of pending) await p.abort();
    await images.dropUnreferenced(touched).catch(() => {});
    throw pullError(err, name, display);
  }
}

/** Streams one layer blob into the content store (not yet visible), reporting progress; verifies digest and size. */
async function fetchLayer(t: RegistryTransport, repo: string, scope: string, l: Descriptor, images: ImageService, progress: Progress): Promise<PendingBlob> {
  const id = shortId(l.digest);
  const res = await t.request(`/v2/${repo}/blobs/${l.digest}`, { scope });
  if (!res.body) throw invalid(`empty response for layer ${l.digest}`);
  let current = 0;
  let lastReport = 0;
  const body = res.body as unknown as AsyncIterable<Uint8Array>;
  const source = (async function* () {
    for await (const c of body) {
      const chunk = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      current += chunk.length;
      if (current > l.size) throw invalid(`layer ${l.digest} is larger than the ${l.size} bytes its manifest says`);
      const now = Date.now();
      if (now - lastReport > 100 || current === l.size) {
        lastReport = now;
        progress({ status: 'Downloading', progressDetail: { current, total: l.size }, id });
      }
      yield chunk;
    }
  })();
  const blob = await images.content.ingest(source);
  progress({ status: 'Verifying Checksum', progressDetail: {}, id });
  if (blob.digest !== l.digest || blob.size !== l.size) {
    await blob.abort();
    throw new SkiffError('InvalidArgument', `filesystem layer verification failed for digest ${l.digest}`);
  }
  progress({ status: 'Download complete', progressDetail: {}, id });
  return blob;
}
