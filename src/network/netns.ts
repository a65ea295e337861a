/**
 * Persistent network namespaces, each a bind mount of an nsfs inode on a file under skiff's own run dir
 * (never /run/netns, so `ip netns` users see nothing of ours). util-linux `unshare --net=FILE` creates and
 * pins the namespace in one step; deleting is unmount + unlink. A namespace whose last mount and process go
 * away is destroyed by the kernel together with the container end of every veth in it.
 */
import { promises as fs } from 'node:fs';
import * as fsSync from 'node:fs';
import * as path from 'node:path';
import { runVia, type Runner } from './exec';

export class NetnsDir {
  constructor(
    readonly dir: string,
    private readonly runner?: Runner,
  ) {}

  pathOf(id: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id)) throw new Error(`bad netns id ${JSON.stringify(id)}`);
    return path.join(this.dir, id);
  }

  /** Creates the namespace for id (idempotent: an existing mounted one is kept) and returns its path. */
  async create(id: string): Promise<string> {
    const p = this.pathOf(id);
    await fs.mkdir(this.dir, { recursive: true, mode: 0o755 });
    if (await isNsMount(p)) return p;
    await fs.writeFile(p, '', { mode: 0o444 });
    try {
      // One exec: unshare pins the new namespace on p and runs `ip` inside it to bring loopback up (so even a
      // sandbox without endpoints answers on 127.0.0.1; cheaper than CNI's loopback plugin).
      await runVia(this.runner, 'unshare', [`--net=${p}`, 'ip', 'link', 'set', 'lo', 'up']);
    } catch (err) {
      await this.remove(id).catch(() => undefined);
      throw err;
    }
    return p;
  }

  /** Unmounts and unlinks; safe for a missing or half-made namespace. */
  async remove(id: string): Promise<void> {
    const p = this.pathOf(id);
    // A file can carry stacked mounts if create raced with itself; unmount until none is left.
    for (let i = 0; i < 8 && (await isNsMount(p)); i++) {
      await runVia(this.runner, 'umount', ['-l', p], { allowFail: true });
    }
    await fs.rm(p, { force: true });
  }

  async exists(id: string): Promise<boolean> {
    return isNsMount(this.pathOf(id));
  }

  /** Ids of every namespace file (mounted or not) in the dir. */
  async list(): Promise<string[]> {
    try {
      return (await fs.readdir(this.dir)).filter((n) => !n.startsWith('.'));
    } catch {
      return [];
    }
  }
}

/** statfs(2) f_type of nsfs: what a path resolves to when a namespace is bind-mounted on it. */
const NSFS_MAGIC = 0x6e736673;

/**
 * Whether a namespace is mounted on p. One statfs of the path (a regular file only resolves to nsfs while a
 * namespace is mounted on it; stacked mounts answer true until the last is gone) instead of reading
 * /proc/self/mountinfo, which the kernel renders anew, every mount of the host, on each read.
 */
export async function isNsMount(p: string): Promise<boolean> {
  try {
    return fsSync.statfsSync(p).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}
