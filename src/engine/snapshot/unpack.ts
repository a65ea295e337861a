/**
 * Applies one layer tarball (plain or gzip) to an empty directory, safely, converting OCI whiteouts to
 * overlayfs form. This is where hostile archives are stopped; the rules:
 *
 * - Paths are cleaned lexically; a leading "/" is stripped (contained, as Docker does); a path that climbs
 *   above the root with ".." rejects the whole layer.
 * - Nothing is ever followed: every parent component is lstat'ed from the root and must be a real directory
 *   (a symlink or file as a parent rejects the layer); the final component is removed if present and created
 *   with O_EXCL|O_NOFOLLOW, symlink() or link() — none of which follow a link. Symlink targets are data.
 * - Hardlink targets are cleaned like paths and must already exist inside the layer (and not be directories).
 * - Char/block devices are rejected, except char 0/0 (an overlayfs whiteout already in overlay form).
 *   FIFOs are allowed. setuid/setgid bits are data and kept.
 * - `.wh.<name>` becomes a char 0/0 device at <name>; `.wh..wh..opq` sets trusted.overlay.opaque=y on its
 *   directory; a whiteout whose target is "", "." or ".." rejects the layer.
 *
 * Node has no mknod/setxattr, so device nodes, FIFOs and xattrs are created at the end by GNU tar (always
 * present on Debian) from an archive we write ourselves, after re-checking each path's parents.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { SkiffError, invalid } from '../../common/errors';
import { tarArchive, type TarHeader } from '../images/tar-writer';

export interface ApplyResult {
  /** sha256 of the uncompressed tar stream. */
  diffId: string;
  /** Sum of regular file sizes, bytes. */
  size: number;
}

const WHITEOUT_PREFIX = '.wh.';
const WHITEOUT_META_PREFIX = '.wh..wh.';
const WHITEOUT_OPAQUE = '.wh..wh..opq';

function hostile(message: string): SkiffError {
  return invalid(`invalid layer: ${message}`);
}

/**
 * Cleans a tar path to a relative path inside the root ("" for the root itself). Leading "/" is stripped;
 * ".." that would leave the root throws.
 */
export function cleanPath(p: string): string {
  if (p.includes('\0')) throw hostile(`path contains a NUL byte`);
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw hostile(`path "${p}" escapes the layer root`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}

/** Gunzips when the stream starts with the gzip magic; passes plain tar through. */
export type ByteSource = AsyncIterable<Buffer> | Iterable<Buffer>;

export async function* maybeDecompress(source: ByteSource): AsyncGenerator<Buffer> {
  const it =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
      : (async function* () {
          yield* source as Iterable<Buffer>;
        })();
  let first = await it.next();
  while (!first.done && first.value.length < 2) {
    const more = await it.next();
    if (more.done) break;
    first = { done: false, value: Buffer.concat([first.value, more.value]) };
  }
  if (first.done) return;
  const head = first.value;
  const rest = (async function* () {
    yield head;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value as Buffer;
    }
  })();
  if (head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd) throw invalid('zstd-compressed layers are not supported yet');
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
    throw invalid('xz-compressed tarballs are not supported (use gzip or plain tar)');
  }
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') {
    throw invalid('bzip2-compressed tarballs are not supported (use gzip or plain tar)');
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    yield* Readable.from(rest).pipe(zlib.createGunzip()) as AsyncIterable<Buffer>;
  } else {
    yield* rest;
  }
}

interface Special {
  header: TarHeader;
}

class LayerWriter {
  size = 0;
  failure: unknown;
  private readonly specials = new Map<string, Special>();
  private readonly opaque = new Set<string>();
  private readonly dirTimes = new Map<string, number>();
  /**
   * Directories this extraction has created or verified (lstat'ed as real directories). Only our own
   * clearTarget() can remove or replace anything in the tree, and it drops the entries it invalidates, so a
   * hit here is as good as a fresh lstat — and saves one per path component per entry.
   */
  private readonly knownDirs = new Set<string>();
  /** Files being written; closed by closeAll() when the layer is abandoned midway. */
  readonly openFds = new Set<number>();

  constructor(private readonly root: string) {}

  private abs(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, rel);
  }

  /** Creates missing parents as directories; any existing non-directory parent rejects the layer. */
  private ensureParents(rel: string): void {
    const parts = rel.split('/');
    let cur = this.root;
    let prefix = '';
    for (let i = 0; i < parts.length - 1; i++) {
      cur = path.join(cur, parts[i]);
      prefix = prefix === '' ? parts[i] : `${prefix}/${parts[i]}`;
      if (this.knownDirs.has(prefix)) continue;
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(cur);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (!st) {
        fs.mkdirSync(cur, { mode: 0o755 });
        this.knownDirs.add(prefix);
        this.supersedeWhiteout(prefix);
        continue;
      }
      if (st.isSymbolicLink()) {
        throw hostile(`"${rel}" would be written through the symlink "${parts.slice(0, i + 1).join('/')}"`);
      }
      if (!st.isDirectory()) throw hostile(`parent "${parts.slice(0, i + 1).join('/')}" of "${rel}" is not a directory`);
      this.knownDirs.add(prefix);
    }
  }

  /**
   * A directory made where this layer whited out the same path (".wh.d" then "d/x"): the lower "d" must
   * stay hidden, so the pending whiteout becomes an opaque directory.
   */
  private supersedeWhiteout(rel: string): void {
    const s = this.specials.get(rel);
    if (s && s.header.type === 'char') {
      this.specials.delete(rel);
      this.opaque.add(rel);
    }
  }

  /** True when every parent of rel is a real directory (no links), re-checked before deferred work. */
  private parentsAreDirs(rel: string): boolean {
    const parts = rel.split('/');
    let cur = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      cur = path.join(cur, parts[i]);
      try {
        const st = fs.lstatSync(cur);
        if (!st.isDirectory() || st.isSymbolicLink()) return false;
      } catch {
        return false;
      }
    }
    return true;
  }

  /** Removes whatever is at rel (never following it) unless both it and the new entry are directories. */
  private clearTarget(rel: string, keepDir: boolean): void {
    const abs = this.abs(rel);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(abs);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      if (keepDir) return;
      fs.rmSync(abs, { recursive: true, force: true });
      this.knownDirs.delete(rel);
      const under = `${rel}/`;
      for (const d of this.knownDirs) if (d.startsWith(under)) this.knownDirs.delete(d);
    } else fs.unlinkSync(abs);
  }

  entry(e: ReadEntry): void {
    const rel = cleanPath(e.path);
    const base = path.posix.basename(rel);
    const dir = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);

    // Whiteouts (OCI form) become overlayfs form.
    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (base === WHITEOUT_OPAQUE) {
        if (dir === '') return; // the layer root cannot hide anything from its own lower layers' root
        this.ensureParents(rel);
        const st = fs.lstatSync(this.abs(dir));
        if (!st.isDirectory()) throw hostile(`opaque marker "${rel}" is not inside a directory`);
        this.opaque.add(dir);
        return;
      }
      if (base.startsWith(WHITEOUT_META_PREFIX)) return; // aufs metadata: meaningless here
      const name = base.slice(WHITEOUT_PREFIX.length);
      if (name === '' || name === '.' || name === '..') throw hostile(`whiteout "${e.path}" targets outside its directory`);
      const target = dir === '' ? name : `${dir}/${name}`;
      this.ensureParents(target);
      this.clearTarget(target, false);
      this.specials.set(target, { header: { path: target, type: 'char', devmajor: 0, devminor: 0, mode: 0 } });
      return;
    }
    if (rel === '') return; // the root itself: ours, not the layer's

    const mode = (e.mode ?? 0o644) & 0o7777;
    const uid = e.uid ?? 0;
    const gid = e.gid ?? 0;
    const mtime = e.mtime ? e.mtime.getTime() / 1000 : 0;
    this.ensureParents(rel);
    if (e.type === 'Directory') this.supersedeWhiteout(rel);
    this.specials.delete(rel);
    const abs = this.abs(rel);

    switch (e.type) {
      case 'Directory': {
        this.clearTarget(rel, true);
        if (!fs.existsSync(abs)) fs.mkdirSync(abs, { mode: 0o700 });
        this.knownDirs.add(rel);
        fs.lchownSync(abs, uid, gid);
        fs.chmodSync(abs, mode); // after chown: chown clears setuid/setgid
        this.dirTimes.set(rel, mtime);
        return;
      }
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        this.clearTarget(rel, false);
        const fd = fs.openSync(
          abs,
          fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
          0o600,
        );
        let open = true;
        this.openFds.add(fd);
        const close = () => {
          if (!open) return;
          open = false;
          this.openFds.delete(fd);
          fs.fchownSync(fd, uid, gid);
          fs.fchmodSync(fd, mode);
          fs.futimesSync(fd, mtime, mtime);
          fs.closeSync(fd);
        };
        e.on('data', (chunk: Buffer) => {
          if (this.failure) return;
          try {
            let off = 0;
            while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
            this.size += chunk.length;
          } catch (err) {
            this.failure ??= err;
          }
        });
        e.on('end', () => {
          try {
            close();
          } catch (err) {
            this.failure ??= err;
          }
        });
        return;
      }
      case 'SymbolicLink': {
        if (!e.linkpath) throw hostile(`symlink "${e.path}" has no target`);
        this.clearTarget(rel, false);
        fs.symlinkSync(e.linkpath, abs); // the target is data: never resolved here
        fs.lchownSync(abs, uid, gid);
        fs.lutimesSync(abs, mtime, mtime);
        return;
      }
      case 'Link': {
        if (!e.linkpath) throw hostile(`hardlink "${e.path}" has no target`);
        const target = cleanPath(e.linkpath);
        if (target === '' || !this.parentsAreDirs(target)) throw hostile(`hardlink "${e.path}" -> "${e.linkpath}": bad target`);
        let st: fs.Stats;
        try {
          st = fs.lstatSync(this.abs(target));
        } catch {
          throw hostile(`hardlink "${e.path}" -> "${e.linkpath}": target is not in the layer`);
        }
        if (st.isDirectory()) throw hostile(`hardlink "${e.path}" -> "${e.linkpath}": target is a directory`);
        if (target === rel) return;
        this.clearTarget(rel, false);
        fs.linkSync(this.abs(target), abs); // link(2) never follows a symlink target
        return;
      }
      case 'CharacterDevice': {
        if (e.header.devmaj === 0 && e.header.devmin === 0) {
          this.clearTarget(rel, false);
          this.specials.set(rel, { header: { path: rel, type: 'char', devmajor: 0, devminor: 0, mode, uid, gid, mtime } });
          return;
        }
        throw hostile(`device node "${e.path}" (char ${e.header.devmaj}:${e.header.devmin}) is not allowed`);
      }
      case 'BlockDevice':
        throw hostile(`device node "${e.path}" (block ${e.header.devmaj}:${e.header.devmin}) is not allowed`);
      case 'FIFO': {
        this.clearTarget(rel, false);
        this.specials.set(rel, { header: { path: rel, type: 'fifo', mode, uid, gid, mtime } });
        return;
      }
      default:
        throw hostile(`entry "${e.path}" has unsupported type ${e.type}`);
    }
  }

  closeAll(): void {
    for (const fd of this.openFds) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
    }
    this.openFds.clear();
  }

  /** Creates whiteouts, FIFOs and opaque markers (GNU tar), then directory times. */
  async finish(): Promise<void> {
    const entries: Array<{ header: TarHeader }> = [];
    for (const [rel, s] of this.specials) {
      if (!this.parentsAreDirs(rel)) throw hostile(`"${rel}" lies under a path replaced by a non-directory`);
      if (fs.existsSync(this.abs(rel)) || isLink(this.abs(rel))) this.clearTarget(rel, false);
      entries.push(s);
    }
    for (const rel of this.opaque) {
      if (!this.parentsAreDirs(rel) || isLink(this.abs(rel))) throw hostile(`opaque directory "${rel}" was replaced`);
      const st = fs.lstatSync(this.abs(rel));
      if (!st.isDirectory()) throw hostile(`opaque directory "${rel}" was replaced`);
      entries.push({
        header: {
          path: rel,
          type: 'dir',
          mode: st.mode & 0o7777,
          uid: st.uid,
          gid: st.gid,
          mtime: this.dirTimes.get(rel) ?? Math.floor(st.mtimeMs / 1000),
          xattrs: { 'trusted.overlay.opaque': 'y' },
        },
      });
    }
    if (entries.length > 0) await gnuTarExtract(this.root, tarArchive(entries));
    // Deepest first, so setting a child's time does not disturb its parent's afterwards.
    const dirs = [...this.dirTimes].sort((a, b) => b[0].length - a[0].length);
    for (const [rel, t] of dirs) {
      try {
        if (fs.lstatSync(this.abs(rel)).isDirectory()) fs.utimesSync(this.abs(rel), t, t);
      } catch {
        /* replaced later in the layer: nothing to time */
      }
    }
  }
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function gnuTarExtract(root: string, archive: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'tar',
      ['--xattrs', '--xattrs-include=trusted.overlay.*', '--numeric-owner', '--same-owner', '-xpf', '-', '-C', root],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new SkiffError('Internal', `tar could not create special files: ${stderr.trim()}`)),
    );
    child.stdin.end(archive);
  });
}

/**
 * Applies a layer to `root`, which must be an empty directory the caller owns (a temp dir inside the data
 * dir). On error the directory is left half-written: the caller removes it.
 */
export async function applyLayer(root: string, source: ByteSource): Promise<ApplyResult> {
  const writer = new LayerWriter(root);
  const hash = crypto.createHash('sha256');
  const parser = new Parser({
    strict: true,
    onwarn: (code: string, message: string | Error) => {
      writer.failure ??= hostile(`${code}: ${message instanceof Error ? message.message : message}`);
    },
  });
  parser.on('entry', (e: ReadEntry) => {
    if (writer.failure) return void e.resume();
    try {
      writer.entry(e);
    } catch (err) {
      writer.failure ??= err;
    }
    // Entries we did not attach a data listener to must still be drained.
    if (e.listenerCount('data') === 0) e.resume();
  });
  parser.on('error', (err: Error) => (writer.failure ??= hostile(err.message)));
  const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));
  let sawData = false;
  try {
    for await (const chunk of maybeDecompress(source)) {
      sawData = true;
      hash.update(chunk);
      if (!parser.write(chunk)) await new Promise<void>((r) => parser.once('drain', () => r()));
      if (writer.failure) break;
    }
    if (writer.failure) throw writer.failure;
    if (!sawData) throw hostile('empty layer stream');
    parser.end();
    await ended;
    if (writer.failure) throw writer.failure;
    await writer.finish();
  } finally {
    writer.closeAll();
  }
  return { diffId: 'sha256:' + hash.digest('hex'), size: writer.size };
}

/**
 * applyLayer in a worker thread (same rules, same result): the engine stays responsive while a large layer
 * is unpacked. Chunks are handed over one at a time (acknowledged), so memory stays bounded.
 */
export async function applyLayerInWorker(root: string, source: ByteSource): Promise<ApplyResult> {
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(path.join(__dirname, 'unpack-worker.js'), { workerData: { root } });
  let settled: { result?: ApplyResult; error?: { code: string; message: string } } | undefined;
  let onAck: (() => void) | undefined;
  let onDone: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (onDone = resolve));
  worker.on('message', (m: { ack?: boolean; result?: ApplyResult; error?: { code: string; message: string } }) => {
    if (m.ack) return void onAck?.();
    settled = m;
    onAck?.();
    onDone?.();
  });
  worker.on('error', (err) => {
    settled ??= { error: { code: 'Internal', message: `layer unpack worker failed: ${err.message}` } };
    onAck?.();
    onDone?.();
  });
  worker.on('exit', () => {
    settled ??= { error: { code: 'Internal', message: 'layer unpack worker exited' } };
    onAck?.();
    onDone?.();
  });
  try {
    const it = Symbol.asyncIterator in source ? (source as AsyncIterable<Buffer>) : (source as Iterable<Buffer>);
    for await (const chunk of it as AsyncIterable<Buffer>) {
      if (settled) break;
      const copy = new Uint8Array(chunk.length);
      copy.set(chunk);
      const acked = new Promise<void>((r) => (onAck = r));
      worker.postMessage({ chunk: copy.buffer }, [copy.buffer]);
      await acked;
    }
    if (!settled) worker.postMessage({ end: true });
    await done;
  } finally {
    await worker.terminate();
  }
  if (settled?.error) {
    throw new SkiffError(settled.error.code as SkiffError['code'], settled.error.message);
  }
  return settled!.result!;
}
