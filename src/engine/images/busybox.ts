/**
 * A minimal base image from the host's busybox-static, so tests and demos run without any registry:
 * /bin/busybox, a symlink per applet (at the path `busybox --list-full` gives), /etc/passwd, /etc/group,
 * /tmp (1777) and the usual empty directories. Timestamps come from the busybox binary, so the image id is
 * the same every time on a given host.
 */
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { sha256 } from './digest';
import { hostArch, MediaType, type ImageConfigBlob } from './oci';
import { tarArchive, type TarHeader } from './tar-writer';
import type { ImageService } from './service';

export const BUSYBOX_PATH = '/bin/busybox';

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`;

const GROUP = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
`;

export interface BaseImage {
  layer: Buffer;
  config: ImageConfigBlob;
}

/** The layer tarball and config of the busybox image (pure given the host's busybox). */
export function busyboxImage(busybox = BUSYBOX_PATH): BaseImage {
  const binary = fs.readFileSync(busybox);
  const mtime = Math.floor(fs.statSync(busybox).mtimeMs / 1000);
  const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' })
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s && s !== 'bin/busybox' && !s.includes('..'));

  const dirs = new Set<string>(['bin', 'dev', 'etc', 'home', 'proc', 'root', 'sys', 'tmp', 'usr', 'usr/bin', 'usr/sbin', 'sbin', 'var', 'var/spool', 'var/spool/mail', 'var/www']);
  for (const a of applets) {
    const parts = a.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const entries: Array<{ header: TarHeader; data?: Buffer }> = [];
  for (const d of [...dirs].sort()) {
    const mode = d === 'tmp' ? 0o1777 : d === 'root' ? 0o700 : 0o755;
    entries.push({ header: { path: `${d}/`, type: 'dir', mode, mtime } });
  }
  entries.push({ header: { path: 'bin/busybox', mode: 0o755, mtime }, data: binary });
  for (const a of applets.sort()) entries.push({ header: { path: a, type: 'symlink', linkpath: '/bin/busybox', mode: 0o777, mtime } });
  entries.push({ header: { path: 'etc/passwd', mode: 0o644, mtime }, data: Buffer.from(PASSWD) });
  entries.push({ header: { path: 'etc/group', mode: 0o644, mtime }, data: Buffer.from(GROUP) });
  entries.push({ header: { path: 'etc/shadow', mode: 0o640, mtime }, data: Buffer.from('root:*:10933:0:99999:7:::\n') });
  const layer = tarArchive(entries);
  const created = new Date(mtime * 1000).toISOString();
  const config: ImageConfigBlob = {
    created,
    architecture: hostArch(),
    os: 'linux',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sh'],
    },
    rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
    history: [
      { created, created_by: `skiff: busybox-static from the host (${busybox})` },
      { created, created_by: 'CMD ["sh"]', empty_layer: true },
    ],
  };
  return { layer, config };
}

/** Builds the busybox image into the service and tags it (default `busybox:latest`). Returns the image id. */
export async function createBusyboxImage(service: ImageService, tag = 'busybox:latest', busybox = BUSYBOX_PATH): Promise<string> {
  const { layer, config } = busyboxImage(busybox);
  const blob = await service.content.writeBlob(layer);
  return service.commit(config, [{ mediaType: MediaType.ociLayer, ...blob }], [tag]);
}

/**
 * The busybox image as a docker-archive tarball (what `docker save` writes), for `docker load` into any
 * engine — skiff or Docker: scripts/make-base-image.sh pipes it there.
 */
export function busyboxArchive(tag = 'busybox:latest', busybox = BUSYBOX_PATH): Buffer {
  const { layer, config } = busyboxImage(busybox);
  const configBytes = Buffer.from(JSON.stringify(config));
  const layerHex = sha256(layer).slice(7);
  const configHex = sha256(configBytes).slice(7);
  const manifest = [{ Config: `blobs/sha256/${configHex}`, RepoTags: [tag], Layers: [`blobs/sha256/${layerHex}`] }];
  return tarArchive([
    { header: { path: 'blobs/', type: 'dir' } },
    { header: { path: 'blobs/sha256/', type: 'dir' } },
    { header: { path: `blobs/sha256/${layerHex}`, mode: 0o444 }, data: layer },
    { header: { path: `blobs/sha256/${configHex}`, mode: 0o444 }, data: configBytes },
    { header: { path: 'manifest.json', mode: 0o644 }, data: Buffer.from(JSON.stringify(manifest)) },
  ]);
}
