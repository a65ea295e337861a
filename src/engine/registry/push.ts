/**
 * Push: for each tag, the image's blobs (layers, then config) are checked with HEAD, mounted from another
 * repository of the same registry that this image came from when possible, else uploaded (POST, then one PUT
 * ?digest= with the whole blob, streamed from the content store and verified as read); then the stored
 * manifest is PUT unchanged, so its digest is the one a later pull records. Progress as the docker CLI
 * expects it ("The push refers to repository [...]", "<layer>: Pushed", "<tag>: digest: ... size: N").
 */
import { Readable } from 'node:stream';
import { notFound } from '../../common/errors';
import { shortId } from '../images/digest';
import { MediaType, type Descriptor } from '../images/oci';
import { familiarName, fullName, parseReference, referenceString, type Reference } from '../images/reference';
import type { ImageService } from '../images/service';
import { pushError } from './errors';
import { drain, type RegistryTransport } from './transport';
import type { Progress } from './pull';

export interface PushedTag {
  tag: string;
  digest: string;
  size: number;
}

/**
 * The tags to push: the one given, or every tag of the repository (Docker's push without a tag). moby's
 * errors: no tag at all in the repository, or not the one asked for.
 */
export function tagsToPush(images: ImageService, repo: Reference): Array<{ tag: string; id: string }> {
  const all: Array<{ tag: string; id: string }> = [];
  for (const [r, id] of images.meta.allRefs()) {
    const p = parseReference(r);
    if (p.tag && fullName(p) === fullName(repo)) all.push({ tag: p.tag, id });
  }
  if (all.length === 0) throw notFound(`An image does not exist locally with the tag: ${familiarName(repo)}`);
  if (!repo.tag) return all.sort((a, b) => a.tag.localeCompare(b.tag));
  const one = all.find((x) => x.tag === repo.tag);
  if (!one) throw notFound(`tag does not exist: ${familiarName(repo)}:${repo.tag}`);
  return [one];
}

export async function push(images: ImageService, t: RegistryTransport, repo: Reference, progress: Progress): Promise<PushedTag[]> {
  const scope = `repository:${repo.path}:pull,push`;
  progress({ status: `The push refers to repository [${fullName(repo)}]` });
  const tags = tagsToPush(images, repo);
  const out: PushedTag[] = [];
  try {
    await t.ping();
    const done = new Set<string>();
    for (const { tag, id } of tags) {
      const img = images.meta.image(id)!;
      const manifest = await images.manifest(img);
      const manifestBytes = await images.content.readBlob(img.manifestDigest);
      const diffIds = (await images.config(id)).rootfs.diff_ids;
      // Other repositories of the same registry holding this image: blobs can be mounted from there.
      const mountFrom = images.meta
        .refsOf(id)
        .map((r) => parseReference(r))
        .filter((p) => p.domain === repo.domain && p.path !== repo.path)
        .map((p) => p.path);
      const layerIds = manifest.layers.map((l, i) => shortId(diffIds[i] ?? l.digest));
      // docker lists layers top first.
      for (let i = manifest.layers.length - 1; i >= 0; i--) progress({ status: 'Preparing', progressDetail: {}, id: layerIds[i] });
      for (let i = manifest.layers.length - 1; i >= 0; i--) {
        const l = manifest.layers[i];
        const lid = layerIds[i];
        if (done.has(l.digest)) {
          progress({ status: 'Layer already exists', progressDetail: {}, id: lid });
          continue;
        }
        const how = await pushBlob(images, t, repo.path, scope, l, mountFrom, (current) =>
          progress({ status: 'Pushing', progressDetail: { current, total: l.size }, id: lid }),
        );
        done.add(l.digest);
        progress({
          status: how === 'exists' ? 'Layer already exists' : how === 'pushed' ? 'Pushed' : `Mounted from ${how.from}`,
          progressDetail: {},
          id: lid,
        });
      }
      if (!done.has(id)) {
        const cfgInfo = await images.content.info(id);
        await pushBlob(images, t, repo.path, scope, { mediaType: MediaType.ociConfig, digest: id, size: cfgInfo.size }, mountFrom, () => {});
        done.add(id);
      }
      const res = await t.request(`/v2/${repo.path}/manifests/${tag}`, {
        method: 'PUT',
        scope,
        headers: { 'Content-Type': manifest.mediaType ?? MediaType.ociManifest },
        body: manifestBytes,
      });
      await drain(res);
      const digest = img.manifestDigest;
      const returned = res.headers.get('docker-content-digest');
      if (returned && returned !== digest) throw new Error(`the registry stored the manifest under ${returned}, not ${digest}`);
      progress({ status: `${tag}: digest: ${digest} size: ${manifestBytes.length}`, progressDetail: {} });
      progress({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: manifestBytes.length } });
      // The image now has a RepoDigest in this repository, as Docker records after a push.
      await images.meta.update((db) => {
        if (db.images[id]) db.refs[`${fullName(repo)}@${digest}`] = id;
      });
      images.emit('push', `${familiarName(repo)}:${tag}`, `${familiarName(repo)}:${tag}`);
      out.push({ tag, digest, size: manifestBytes.length });
    }
    return out;
  } catch (err) {
    throw pushError(err);
  }
}

type How = 'exists' | 'pushed' | { from: string };

async function pushBlob(
  images: ImageService,
  t: RegistryTransport,
  repo: string,
  scope: string,
  d: Descriptor,
  mountFrom: string[],
  onProgress: (current: number) => void,
): Promise<How> {
  const head = await t.request(`/v2/${repo}/blobs/${d.digest}`, { method: 'HEAD', scope, ok: [404] });
  await drain(head);
  if (head.status === 200) return 'exists';
  for (const from of mountFrom) {
    // Cross-repository mount: 201 when the registry linked it, 202 (an upload session) when it could not.
    const res = await t.request(`/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(from)}`, {
      method: 'POST',
      scope: `${scope} repository:${from}:pull`,
    });
    await drain(res);
    if (res.status === 201) return { from };
    const loc = res.headers.get('location');
    if (loc) await t.request(loc, { method: 'DELETE', scope, ok: [404, 405] }).then(drain, () => {});
  }
  const start = await t.request(`/v2/${repo}/blobs/uploads/`, { method: 'POST', scope, headers: { 'Content-Length': '0' } });
  await drain(start);
  const location = start.headers.get('location');
  if (!location) throw new Error(`the registry started an upload of ${d.digest} without a Location`);
  const url = new URL(location, t.url(`/v2/${repo}/blobs/uploads/`));
  url.searchParams.set('digest', d.digest);
  const info = await images.content.info(d.digest);
  let body: Buffer | Readable;
  if (info.size < 1 << 20) {
    body = await images.content.readBlob(d.digest);
  } else {
    let current = 0;
    let last = 0;
    const source = images.content.readStream(d.digest);
    body = Readable.from(
      (async function* () {
        for await (const c of source as AsyncIterable<Buffer>) {
          current += c.length;
          const now = Date.now();
          if (now - last > 100) {
            last = now;
            onProgress(current);
          }
          yield c;
        }
      })(),
    );
  }
  const put = await t.request(url.toString(), {
    method: 'PUT',
    scope,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(info.size) },
    body,
  });
  onProgress(info.size);
  await drain(put);
  return 'pushed';
}
