/**
 * Container records on disk: DATA_DIR/containers/<id>/config.v2.json, replaced atomically (write to a temp
 * file, rename). No fsync: a killed engine loses nothing the kernel already has; only a power cut could,
 * and then the runtime state under /run is gone too and recovery marks such containers exited.
 *
 * The first write (create) is a new file in a new directory. Later saves replace the file, and on ext4 a
 * rename over an existing file makes the kernel write the new data out at once (auto_da_alloc), so the rename, and an unlink that follows it, wait for the disk: 2–6 ms
 * each on this VM's disk. On the engine's event loop (which in `skiff server` also serves the API, the
 * controllers and the agent) that was ~10 ms per pod at churn, so replacing saves and the final unlink run on
 * the thread pool: one write in flight per container, newer records coalescing behind it, and forget()
 * ordered after them so a late write never brings a removed container back.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ContainerRecord } from './types';

interface Writer {
  /** The write in progress (resolves when it and every newer record queued behind it are on disk). */
  busy: Promise<void>;
  /** The newest record not yet being written (serialised when save() was called). */
  next?: string;
  forgotten?: boolean;
}

export class ContainerStore {
  private readonly writers = new Map<string, Writer>();

  constructor(readonly root: string) {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  dir(id: string): string {
    return path.join(this.root, id);
  }

  private tmpName(id: string): string {
    return path.join(this.dir(id), `.config.v2.json.${process.pid}.${Math.random().toString(36).slice(2)}`);
  }

  /**
   * The first record of a container (awaited, so the container exists on disk when create() answers). A new
   * file in a new directory needs no temp file and rename: a reader finds either no record (a half-created
   * container, removed by loadAll) or this one; a torn file is as likely as with a rename, without an fsync.
   * On the thread pool: on ext4 a busy journal made these synchronous calls wait 1+ ms per container.
   */
  async create(rec: ContainerRecord): Promise<void> {
    const dir = this.dir(rec.Id);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await fsp.writeFile(path.join(dir, 'config.v2.json'), JSON.stringify(rec));
  }

  /** Replaces the record (snapshotted now); resolves once it, or a newer one, is on disk. */
  save(rec: ContainerRecord): Promise<void> {
    const data = JSON.stringify(rec);
    const w = this.writers.get(rec.Id);
    if (w) {
      if (w.forgotten) return Promise.resolve();
      w.next = data;
      return w.busy;
    }
    const writer: Writer = { busy: Promise.resolve(), next: data };
    writer.busy = this.drain(rec.Id, writer);
    this.writers.set(rec.Id, writer);
    return writer.busy;
  }

  private async drain(id: string, w: Writer): Promise<void> {
    try {
      while (w.next !== undefined && !w.forgotten) {
        const data = w.next;
        w.next = undefined;
        const tmp = this.tmpName(id);
        try {
          await fsp.writeFile(tmp, data);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          await fsp.mkdir(this.dir(id), { recursive: true, mode: 0o700 });
          await fsp.writeFile(tmp, data);
        }
        if (w.forgotten) {
          await fsp.unlink(tmp).catch(() => undefined);
          break;
        }
        await fsp.rename(tmp, path.join(this.dir(id), 'config.v2.json'));
      }
    } finally {
      if (this.writers.get(id) === w && !w.forgotten) this.writers.delete(id);
    }
  }

  loadAll(): ContainerRecord[] {
    const out: ContainerRecord[] = [];
    for (const id of fs.readdirSync(this.root)) {
      try {
        out.push(JSON.parse(fs.readFileSync(path.join(this.root, id, 'config.v2.json'), 'utf8')) as ContainerRecord);
      } catch {
        // A directory without a record is a half-created container: nothing refers to it.
        fs.rmSync(path.join(this.root, id), { recursive: true, force: true });
      }
    }
    return out;
  }

  /**
   * Makes the container not exist any more, in one unlink of its record (after any write in flight, and
   * dropping queued ones): a directory without a record is removed by loadAll() after a crash, and by remove()
   * right after. Removing the whole directory first (a dozen file operations) cost 10–20 ms on the
   * `docker run --rm` exit path.
   */
  async forget(id: string): Promise<void> {
    const w = this.writers.get(id) ?? { busy: Promise.resolve() };
    w.forgotten = true;
    w.next = undefined;
    this.writers.set(id, w);
    try {
      await w.busy.catch(() => undefined);
      await fsp.unlink(path.join(this.dir(id), 'config.v2.json'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  async remove(id: string): Promise<void> {
    const w = this.writers.get(id);
    if (w) {
      w.forgotten = true;
      w.next = undefined;
      await w.busy.catch(() => undefined);
    }
    await fsp.rm(this.dir(id), { recursive: true, force: true });
    this.writers.delete(id);
  }
}
