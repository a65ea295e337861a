/**
 * JSON-file persistence for networks and sandboxes under skiff's data dir. Writes are atomic (temp file +
 * rename) so a crash leaves either the old or the new record, never a torn one.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export class JsonDir<T> {
  constructor(readonly dir: string) {}

  private file(id: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id)) throw new Error(`bad record id ${JSON.stringify(id)}`);
    return path.join(this.dir, `${id}.json`);
  }

  async get(id: string): Promise<T | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.file(id), 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  async put(id: string, value: T): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file(id)}.${process.pid}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(value, null, 1), { mode: 0o600 });
    await fs.rename(tmp, this.file(id));
  }

  async delete(id: string): Promise<void> {
    await fs.rm(this.file(id), { force: true });
  }

  async list(): Promise<T[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    const out: T[] = [];
    for (const n of names.sort()) {
      if (!n.endsWith('.json')) continue;
      const v = await this.get(n.slice(0, -5));
      if (v !== undefined) out.push(v);
    }
    return out;
  }
}
