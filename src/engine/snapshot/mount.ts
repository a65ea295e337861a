/** mount/umount through util-linux (Node has no mount syscall) and a mountinfo reader. */
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { internal } from '../../common/errors';

function run(cmd: string, args: string[], cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd }, (err, _stdout, stderr) => {
      if (err) reject(internal(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`, err));
      else resolve();
    });
  });
}

/** Unescapes mountinfo's octal escapes (\040 for space...). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points (field 5 of /proc/self/mountinfo). */
export function mountPoints(): string[] {
  const text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => unescape(line.split(' ')[4]));
}

export function isMountPoint(target: string): boolean {
  return mountPoints().includes(target);
}

/**
 * Mounts an overlay. `cwd` lets lowerdir hold short relative paths (the kernel resolves them against the
 * mounting process's cwd), keeping the options under one page however many layers there are.
 */
export async function mountOverlay(target: string, options: string, cwd: string): Promise<void> {
  await run('mount', ['-t', 'overlay', 'overlay', '-o', options, target], cwd);
}

/** Unmounts target (all stacked mounts); nothing to do if it is not a mount point. */
export async function unmount(target: string): Promise<void> {
  while (isMountPoint(target)) {
    try {
      await run('umount', [target]);
    } catch (err) {
      // Busy (a process still has it open): detach it so the caller can proceed; the kernel frees it later.
      await run('umount', ['-l', target]).catch(() => {
        throw err;
      });
    }
  }
}

/** Unmounts every mount point at or below `dir`, deepest first (test and crash cleanup). */
export async function unmountAllUnder(dir: string): Promise<void> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const targets = mountPoints()
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const t of targets) await unmount(t);
}
