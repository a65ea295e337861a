/**
 * Container logs as conmon writes them (k8s-file): one line per chunk,
 * `<RFC3339Nano timestamp> <stdout|stderr> <P|F> <content>` where P marks a partial line (no newline was
 * written after it) and F a full one. Read back losslessly as the bytes the process wrote, per stream.
 *
 * Rotation (by the engine, not conmon: conmon 2.1.6 can only truncate): `log` is renamed to `log.1`
 * (older ones shift up to `log.N`) and conmon is asked to reopen. Readers walk log.N..log.1, log.
 */
import fs from 'node:fs';
import path from 'node:path';
import fsp from 'node:fs/promises';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** Unix time in nanoseconds (as a bigint-safe string split: ms for comparisons, text for display). */
  timeMs: number;
  /** RFC3339Nano in UTC, as Docker prints with --timestamps. */
  time: string;
  data: Buffer;
}

/** Parses one k8s-file line (without its newline). */
export function parseLine(line: Buffer): LogEntry | undefined {
  const s1 = line.indexOf(0x20);
  if (s1 < 0) return undefined;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const s3 = line.indexOf(0x20, s2 + 1);
  const tag = s3 < 0 ? line.subarray(s2 + 1).toString() : line.subarray(s2 + 1, s3).toString();
  const stream = line.subarray(s1 + 1, s2).toString();
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const content = s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1);
  const ts = line.subarray(0, s1).toString();
  const { ms, utc } = parseTimestamp(ts);
  const full = tag.split(':').includes('F');
  return { stream, timeMs: ms, time: utc, data: full ? Buffer.concat([content, Buffer.from('\n')]) : Buffer.from(content) };
}

/** "2026-11-21T01:54:14.618130504+00:00" -> ms since epoch and "2026-11-21T01:54:14.618130504Z". */
export function parseTimestamp(ts: string): { ms: number; utc: string } {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(ts);
  if (!m) return { ms: 0, utc: ts };
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  const base = Date.parse(`${m[1]}${m[3]}`);
  const ms = base + Number(frac.slice(0, 3));
  const utc = new Date(base).toISOString().slice(0, 19) + '.' + frac + 'Z';
  return { ms, utc };
}

/** Log files oldest first: path.N ... path.1, path. */
export function logFiles(logPath: string, maxFiles = 20): string[] {
  // One directory listing instead of a stat per possible rotation (attach reads the log on every `docker run`).
  const base = path.basename(logPath);
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(logPath));
  } catch {
    names = [];
  }
  const rotated = names
    .map((n) => (n.startsWith(`${base}.`) && /^\d+$/.test(n.slice(base.length + 1)) ? Number(n.slice(base.length + 1)) : 0))
    .filter((i) => i >= 1 && i <= maxFiles)
    .sort((a, b) => b - a);
  return [...rotated.map((i) => `${logPath}.${i}`), logPath];
}

export interface ReadOptions {
  stdout: boolean;
  stderr: boolean;
  /** ms since epoch; entries strictly before are skipped. */
  sinceMs?: number;
  /** ms since epoch; entries after are skipped. */
  untilMs?: number;
  /** Last N lines (counting full lines), or undefined for all. */
  tail?: number;
}

/** Reads every entry of the existing log files that passes the filters. Returns them and the end offset of `logPath`. */
export async function readLog(logPath: string, opts: ReadOptions): Promise<{ entries: LogEntry[]; offset: number; ino: number }> {
  let entries: LogEntry[] = [];
  let offset = 0;
  let ino = 0;
  for (const file of logFiles(logPath)) {
    let buf: Buffer;
    try {
      buf = await fsp.readFile(file);
    } catch {
      continue;
    }
    if (file === logPath) {
      // Only complete lines count; a half-written last line is read by the follower.
      const end = buf.lastIndexOf(0x0a) + 1;
      offset = end;
      buf = buf.subarray(0, end);
      try {
        ino = fs.statSync(file).ino;
      } catch {
        ino = 0;
      }
    }
    for (const e of splitEntries(buf)) if (passes(e, opts)) entries.push(e);
  }
  if (opts.tail !== undefined && opts.tail >= 0) entries = tailEntries(entries, opts.tail);
  return { entries, offset, ino };
}

export function passes(e: LogEntry, opts: ReadOptions): boolean {
  if (e.stream === 'stdout' && !opts.stdout) return false;
  if (e.stream === 'stderr' && !opts.stderr) return false;
  if (opts.sinceMs !== undefined && e.timeMs < opts.sinceMs) return false;
  if (opts.untilMs !== undefined && e.timeMs > opts.untilMs) return false;
  return true;
}

function* splitEntries(buf: Buffer): Generator<LogEntry> {
  let start = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    const e = parseLine(buf.subarray(start, nl));
    if (e) yield e;
    start = nl + 1;
  }
}

/** The entries that make up the last n lines (a line may span several partial entries). */
function tailEntries(entries: LogEntry[], n: number): LogEntry[] {
  if (n === 0) return [];
  let lines = 0;
  for (let i = entries.length - 1; i >= 0; i--) {
    const endsLine = entries[i].data.length > 0 && entries[i].data[entries[i].data.length - 1] === 0x0a;
    if (endsLine) {
      lines++;
      if (lines > n) return entries.slice(i + 1);
    }
  }
  return entries;
}

/**
 * Follows `logPath` from `offset` (of the file with inode `ino`), calling `onEntry` for each new entry,
 * across truncation and rotation, until `stop()`; `drain()` reads whatever is left and resolves.
 */
export class LogFollower {
  private fd?: number;
  private ino: number;
  private offset: number;
  private pending = Buffer.alloc(0);
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;
  private reading = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly logPath: string,
    start: { offset: number; ino: number },
    private readonly onEntry: (e: LogEntry) => void,
    /** True while the consumer cannot take more (its socket buffer is full): reading waits. */
    private readonly blocked: () => boolean = () => false,
  ) {
    this.offset = start.offset;
    this.ino = start.ino;
  }

  start(): void {
    this.openCurrent(true);
    try {
      this.watcher = fs.watch(this.logPath, () => this.kick());
      this.watcher.on('error', () => undefined);
    } catch {
      // The file may not exist yet: the poll below picks it up.
    }
    this.timer = setInterval(() => this.kick(), 250);
    this.kick();
  }

  /** Reads what is left (after the writer finished) and stops. */
  async drain(): Promise<void> {
    while (this.reading) await new Promise((r) => setTimeout(r, 5));
    this.reading = true; // the watcher and timer stay out while we finish
    try {
      while (!this.stopped && this.readAvailable(SLICE)) {
        // Yield between slices; wait while the consumer is full (it stops us if it goes away).
        do await new Promise((r) => setTimeout(r, this.blocked() ? 20 : 0));
        while (this.blocked() && !this.stopped);
      }
    } finally {
      this.reading = false;
    }
    this.stop();
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private openCurrent(keepOffset: boolean): void {
    try {
      const fd = fs.openSync(this.logPath, 'r');
      const st = fs.fstatSync(fd);
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = fd;
      if (!keepOffset || (this.ino !== 0 && st.ino !== this.ino)) this.offset = 0;
      this.ino = st.ino;
      if (!this.watcher) {
        try {
          this.watcher = fs.watch(this.logPath, () => this.kick());
          this.watcher.on('error', () => undefined);
        } catch {
          /* ignore */
        }
      }
    } catch {
      // not there yet
    }
  }

  /**
   * Reads at most one slice, then yields to the event loop: a container that floods its log must never
   * keep the engine busy in one long loop, and a slow or gone reader must not make us buffer without bound.
   */
  private kick(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    if (this.blocked()) return; // the poll timer (or the consumer's drain) kicks again
    this.reading = true;
    let more = false;
    try {
      this.again = false;
      more = this.readAvailable(SLICE);
    } finally {
      this.reading = false;
    }
    if ((more || this.again) && !this.stopped) setImmediate(() => this.kick());
  }

  /** Resumes reading (the consumer drained). */
  resume(): void {
    this.kick();
  }

  /** Reads up to `limit` bytes; returns true when more is (probably) waiting. */
  private readAvailable(limit = Infinity): boolean {
    if (this.fd === undefined) this.openCurrent(true);
    if (this.fd === undefined) return false;
    let st = fs.fstatSync(this.fd);
    if (st.size < this.offset) {
      // Truncated in place.
      this.offset = 0;
      this.pending = Buffer.alloc(0);
    }
    if (this.readFd(limit)) return true;
    // Rotated: the path now names a new file. Finish the old one (done above), then switch.
    try {
      const cur = fs.statSync(this.logPath);
      if (cur.ino !== st.ino) {
        this.pending = Buffer.alloc(0);
        this.openCurrent(false);
        st = cur;
        return true;
      }
    } catch {
      /* removed */
    }
    return false;
  }

  /** Reads from the current offset up to `limit` bytes; true if it stopped because of the limit. */
  private readFd(limit = Infinity): boolean {
    if (this.fd === undefined) return false;
    const chunk = Buffer.alloc(64 * 1024);
    let total = 0;
    for (;;) {
      if (total >= limit) return true;
      const n = fs.readSync(this.fd, chunk, 0, chunk.length, this.offset);
      if (n <= 0) break;
      total += n;
      this.offset += n;
      this.pending = Buffer.concat([this.pending, chunk.subarray(0, n)]);
      let start = 0;
      for (;;) {
        const nl = this.pending.indexOf(0x0a, start);
        if (nl < 0) break;
        const e = parseLine(this.pending.subarray(start, nl));
        start = nl + 1;
        if (e) this.onEntry(e);
      }
      this.pending = this.pending.subarray(start);
      if (this.blocked()) return true;
    }
    return false;
  }
}

/** Bytes read per event-loop turn when following a log. */
const SLICE = 1024 * 1024;
