/**
 * The image metadata index: which images exist (id = config digest -> manifest) and which references
 * (full "domain/path:tag" or "domain/path@digest") point at them. One JSON file, rewritten atomically;
 * writes are serialised. The blobs themselves live in the content store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './content';
import { internal } from '../../common/errors';

export interface StoredImage {
  /** Config digest. */
  id: string;
  manifestDigest: string;
  /** Sum of uncompressed layer sizes. */
  size: number;
  /** RFC 3339: when this engine got it. */
  addedAt: string;
  /** RFC 3339: when a tag last moved onto it. */
  lastTagTime?: string;
}

interface Db {
  version: 1;
  images: Record<string, StoredImage>;
  refs: Record<string, string>;
}

export class ImageMetadata {
  private db: Db;
  private readonly file: string;
  private chain: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, 'images.json');
    let text: string | undefined;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text === undefined) {
      this.db = { version: 1, images: {}, refs: {} };
    } else {
      // Never start over an unreadable index: start-up garbage collection would then delete every image.
      try {
        this.db = JSON.parse(text) as Db;
      } catch (err) {
        throw internal(`image index ${this.file} is unreadable (${(err as Error).message}); refusing to start`);
      }
      if (!this.db || typeof this.db.images !== 'object' || typeof this.db.refs !== 'object') {
        throw internal(`image index ${this.file} has an unexpected shape; refusing to start`);
      }
    }
  }

  images(): StoredImage[] {
    return Object.values(this.db.images);
  }

  image(id: string): StoredImage | undefined {
    return this.db.images[id];
  }

  ref(name: string): string | undefined {
    return this.db.refs[name];
  }

  /** References of an image, sorted. */
  refsOf(id: string): string[] {
    return Object.entries(this.db.refs)
      .filter(([, v]) => v === id)
      .map(([k]) => k)
      .sort();
  }

  allRefs(): Array<[string, string]> {
    return Object.entries(this.db.refs);
  }

  /** Applies a change in memory and persists it; changes are applied one at a time. */
  update<T>(fn: (db: { images: Record<string, StoredImage>; refs: Record<string, string> }) => T): Promise<T> {
    const run = this.chain.then(async () => {
      const result = fn(this.db);
      await writeFileAtomic(this.file, JSON.stringify(this.db));
      return result;
    });
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
