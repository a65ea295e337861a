/**
 * A content-addressed blob store (OCI blobs under <root>/blobs/sha256/<hex>), in containerd's shape: small
 * interfaces (Provider reads, Ingester writes, Manager lists and deletes) composed by one class.
 *
 * Every write goes to a temp file in <root>/ingest, is fsynced, verified against its digest and renamed into
 * place, so a blob is either absent or whole. Every read re-hashes what it serves: a blob corrupted on disk is
 * reported (Internal error "... is corrupted") instead of being served.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { SkiffError, invalid, notFound } from '../../common/errors';
import { checkDigest, hexOf } from './digest';

export interface BlobInfo {
  digest: string;
  size: number;
}

/** Reads blobs, verifying them. */
export interface Provider {
  info(digest: string): Promise<BlobInfo>;
  has(digest: string): Promise<boolean>;
  /** The whole blob (for manifests, configs). */
  readBlob(digest: string): Promise<Buffer>;
  /** A stream that errors at its end if the content does not match the digest. */
  readStream(digest: string): Readable;
}

/** A blob written to a temp file, hashed, not yet visible. */
export interface PendingBlob extends BlobInfo {
  /** Makes it visible under its digest. `expected` (if given) must equal the computed digest. */
  commit(expected?: string): Promise<void>;
  abort(): Promise<void>;
}

/** Writes blobs. */
export interface Ingester {
  ingest(source: Readable | AsyncIterable<Buffer>): Promise<PendingBlob>;
  writeBlob(data: Buffer, expected?: string): Promise<BlobInfo>;
}

/** Lists and deletes blobs. */
export interface Manager {
  delete(digest: string): Promise<void>;
  walk(fn: (info: BlobInfo) => void | Promise<void>): Promise<void>;
}

export class ContentStore implements Provider, Ingester, Manager {
  private readonly blobDir: string;
  private readonly ingestDir: string;

  constructor(readonly root: string) {
    this.blobDir = path.join(root, 'blobs', 'sha256');
    this.ingestDir = path.join(root, 'ingest');
    fs.mkdirSync(this.blobDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.ingestDir, { recursive: true, mode: 0o700 });
    // Leftovers of writes interrupted by a crash are never visible; drop them.
    for (const f of fs.readdirSync(this.ingestDir)) fs.rmSync(path.join(this.ingestDir, f), { force: true });
  }

  blobPath(digest: string): string {
    return path.join(this.blobDir, hexOf(digest));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await fsp.access(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  async info(digest: string): Promise<BlobInfo> {
    try {
      const st = await fsp.stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`content ${digest}: not found`);
      throw err;
    }
  }

  async readBlob(digest: string): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await fsp.readFile(this.blobPath(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`content ${digest}: not found`);
      throw err;
    }
    const actual = 'sha256:' + crypto.createHash('sha256').update(data).digest('hex');
    if (actual !== digest) throw corrupted(digest, actual);
    return data;
  }

  readStream(digest: string): Readable {
    const file = fs.createReadStream(this.blobPath(digest));
    const verify = new VerifyingStream(digest);
    file.on('error', (err) =>
      verify.destroy(
        (err as NodeJS.ErrnoException).code === 'ENOENT' ? notFound(`content ${digest}: not found`) : err,
      ),
    );
    return file.pipe(verify);
  }

  async ingest(source: Readable | AsyncIterable<Buffer>): Promise<PendingBlob> {
    const tmp = path.join(this.ingestDir, crypto.randomBytes(12).toString('hex'));
    const hash = crypto.createHash('sha256');
    let size = 0;
    const fh = await fsp.open(tmp, 'wx', 0o600);
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      }
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => {});
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    const digest = 'sha256:' + hash.digest('hex');
    let done = false;
    return {
      digest,
      size,
      commit: async (expected?: string) => {
        if (done) return;
        done = true;
        if (expected !== undefined && expected !== digest) {
          await fsp.rm(tmp, { force: true });
          throw invalid(`content digest mismatch: expected ${expected}, got ${digest}`);
        }
        await this.place(tmp, digest);
      },
      abort: async () => {
        if (done) return;
        done = true;
        await fsp.rm(tmp, { force: true });
      },
    };
  }

  async writeBlob(data: Buffer, expected?: string): Promise<BlobInfo> {
    const digest = 'sha256:' + crypto.createHash('sha256').update(data).digest('hex');
    if (expected !== undefined && expected !== digest) {
      throw invalid(`content digest mismatch: expected ${expected}, got ${digest}`);
    }
    if (await this.has(digest)) return { digest, size: data.length };
    const tmp = path.join(this.ingestDir, crypto.randomBytes(12).toString('hex'));
    const fh = await fsp.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.place(tmp, digest);
    return { digest, size: data.length };
  }

  async delete(digest: string): Promise<void> {
    await fsp.rm(this.blobPath(digest), { force: true });
  }

  async walk(fn: (info: BlobInfo) => void | Promise<void>): Promise<void> {
    for (const hex of await fsp.readdir(this.blobDir)) {
      if (!/^[a-f0-9]{64}$/.test(hex)) continue;
      const st = await fsp.stat(path.join(this.blobDir, hex)).catch(() => undefined);
      if (st) await fn({ digest: `sha256:${hex}`, size: st.size });
    }
  }

  private async place(tmp: string, digest: string): Promise<void> {
    checkDigest(digest);
    const target = this.blobPath(digest);
    if (await this.has(digest)) {
      await fsp.rm(tmp, { force: true });
      return;
    }
    await fsp.chmod(tmp, 0o444);
    await fsp.rename(tmp, target);
    await fsyncDir(this.blobDir);
  }
}

function corrupted(digest: string, actual: string): SkiffError {
  return new SkiffError('Internal', `content ${digest} is corrupted (its data hashes to ${actual})`);
}

/** Passes data through and fails at the end unless it hashed to `digest`. */
class VerifyingStream extends Transform {
  private readonly hash = crypto.createHash('sha256');
  constructor(private readonly digest: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const actual = 'sha256:' + this.hash.digest('hex');
    cb(actual === this.digest ? null : corrupted(this.digest, actual));
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes a file atomically: temp file + fsync + rename + fsync of the directory. */
export async function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const tmp = `${file}.tmp-${crypto.randomBytes(6).toString('hex')}`;
  const fh = await fsp.open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}
