/**
 * Container exits as conmon reports them: a file `<exit-dir>/<id>` holding the exit code, written
 * atomically (write + rename) after the container's output is drained. One inotify watch on the directory
 * serves every container; a slow poll backs it up (inotify can overflow), and `check` reads a file on demand
 * (at adoption after an engine restart).
 */
import fs from 'node:fs';
import path from 'node:path';

export class ExitWatcher {
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;
  private readonly waiting = new Map<string, (code: number) => void>();

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  start(): void {
    this.watcher = fs.watch(this.dir, (_event, name) => {
      if (name && this.waiting.has(String(name))) void this.check(String(name));
    });
    this.watcher.on('error', () => undefined);
    this.timer = setInterval(() => {
      for (const id of this.waiting.keys()) void this.check(id);
    }, 2000);
    this.timer.unref();
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
  }

  /** Calls `onExit` once when `<dir>/<id>` appears (at once if it is already there). */
  watch(id: string, onExit: (code: number) => void): void {
    this.waiting.set(id, onExit);
    void this.check(id);
  }

  unwatch(id: string): void {
    this.waiting.delete(id);
  }

  /** Reads the exit code if the file exists (a few bytes on tmpfs: read synchronously, no thread-pool hop). */
  async read(id: string): Promise<number | undefined> {
    try {
      const text = fs.readFileSync(path.join(this.dir, id), 'utf8').trim();
      if (text === '') return undefined;
      const n = Number(text);
      return Number.isFinite(n) ? n : undefined;
    } catch {
      return undefined;
    }
  }

  async clear(id: string): Promise<void> {
    // One unlink, synchronously (fs.rm lstats first; each thread-pool hop costs more than the syscall).
    try {
      fs.unlinkSync(path.join(this.dir, id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  private async check(id: string): Promise<void> {
    const code = await this.read(id);
    if (code === undefined) return;
    const cb = this.waiting.get(id);
    if (!cb) return;
    this.waiting.delete(id);
    cb(code);
  }
}
