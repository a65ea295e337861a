/**
 * `docker import`: a rootfs tarball (plain or gzip) becomes a one-layer image. The layer is stored
 * uncompressed (its blob digest is its diff id) and unpacked — which is where a hostile tarball is
 * rejected, before anything is recorded.
 */
import { hostArch, MediaType, type ImageConfigBlob } from './oci';
import { maybeDecompress, type ByteSource } from '../snapshot/unpack';
import { applyChanges } from './changes';
import type { ImageService } from './service';
import { parseTagged } from './reference';
import { invalid } from '../../common/errors';

export interface ImportOptions {
  /** repo[:tag] to tag the result with. */
  tag?: string;
  /** Dockerfile instructions (CMD, ENV, ...). */
  changes?: string[];
  /** The history comment; Docker's default is "Imported from -". */
  message?: string;
}

export async function importRootfs(
  images: ImageService,
  source: ByteSource,
  opts: ImportOptions = {},
): Promise<string> {
  // Validate what is cheap before reading the body.
  const runtimeConfig = applyChanges({}, opts.changes ?? []);
  if (opts.tag) parseTagged(opts.tag);
  const pending = await images.content.ingest(maybeDecompress(source));
  if (pending.size === 0) {
    await pending.abort();
    throw invalid('invalid layer: empty tarball');
  }
  const created = new Date().toISOString();
  const config: ImageConfigBlob = {
    created,
    architecture: hostArch(),
    os: 'linux',
    config: runtimeConfig,
    rootfs: { type: 'layers', diff_ids: [pending.digest] },
    comment: opts.message || 'Imported from -',
    history: [{ created, comment: opts.message || 'Imported from -' }],
  };
  try {
    const id = await images.commit(config, [{ mediaType: MediaType.ociLayer, digest: pending.digest, size: pending.size }], opts.tag ? [opts.tag] : [], {
      before: () => pending.commit(),
    });
    images.emit('import', id, opts.tag);
    return id;
  } catch (err) {
    await pending.abort(); // no-op once committed
    await images.dropUnreferenced([pending.digest]);
    throw err;
  }
}
