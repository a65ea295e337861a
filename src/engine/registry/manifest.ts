/**
 * Choosing and checking the documents a registry serves. Pure.
 */
import { invalid, notFound } from '../../common/errors';
import { MediaType, isIndexType, isManifestType, type Descriptor, type Index, type Manifest } from '../images/oci';

/** What a pull asks for, best first (Docker sends the same list). */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest].join(', ');

const LAYER_TYPES = new Set<string>([MediaType.ociLayer, MediaType.ociLayerGzip, MediaType.dockerLayer, MediaType.dockerLayerGzip]);

export type Document = { kind: 'index'; index: Index } | { kind: 'manifest'; manifest: Manifest; mediaType: string };

/** Parses a manifest or index; the Content-Type wins over the body's mediaType field (both may be absent). */
export function parseDocument(bytes: Buffer, contentType: string | null): Document {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw invalid('the registry served a manifest that is not valid JSON');
  }
  const ct = contentType?.split(';')[0].trim();
  const mt = (typeof j.mediaType === 'string' && j.mediaType) || (ct && ct !== 'application/json' && ct !== 'text/plain' ? ct : undefined);
  if (j.schemaVersion === 1 || mt?.includes('distribution.manifest.v1')) {
    throw invalid('unsupported manifest format: Docker Image manifest v2, Schema 1 (convert the image to v2 schema 2 or OCI)');
  }
  if (isIndexType(mt) || (!mt && Array.isArray(j.manifests))) {
    if (!Array.isArray(j.manifests)) throw invalid('the registry served an index without manifests');
    return { kind: 'index', index: j as unknown as Index };
  }
  if (isManifestType(mt) || (!mt && j.config && Array.isArray(j.layers))) {
    const m = j as unknown as Manifest;
    checkDescriptor(m.config, 'config');
    if (!Array.isArray(m.layers) || m.layers.length === 0) throw invalid('the image manifest lists no layers');
    for (const l of m.layers) {
      checkDescriptor(l, 'layer');
      if (!LAYER_TYPES.has(l.mediaType)) throw invalid(`unsupported layer media type ${l.mediaType}`);
    }
    return { kind: 'manifest', manifest: m, mediaType: mt ?? MediaType.ociManifest };
  }
  throw invalid(`unsupported manifest media type ${mt ?? '(none)'}`);
}

function checkDescriptor(d: Descriptor | undefined, what: string): void {
  if (!d || typeof d.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(d.digest)) {
    throw invalid(`the image manifest has an invalid ${what} digest ${JSON.stringify(d?.digest)}`);
  }
  if (typeof d.size !== 'number' || d.size < 0 || !Number.isSafeInteger(d.size)) throw invalid(`the image manifest has an invalid ${what} size`);
}

/** The entry of an index for os/arch (Docker's platform matcher, variant ignored for amd64). */
export function pickPlatform(index: Index, os: string, arch: string): Descriptor {
  const entries = index.manifests.filter((m) => isManifestType(m.mediaType) || isIndexType(m.mediaType) || !m.mediaType);
  const match = entries.find((m) => m.platform?.os === os && m.platform?.architecture === arch);
  if (!match) throw notFound(`no matching manifest for ${os}/${arch} in the manifest list entries`);
  return match;
}
