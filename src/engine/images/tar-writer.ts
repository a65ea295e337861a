/**
 * Writes tar archives byte by byte (ustar headers, with a pax extended header when a field does not fit or
 * xattrs are set). It writes exactly what it is given — no path cleaning — so tests can craft hostile
 * archives with it, and the engine uses it to produce layers, saved images and special entries.
 */

export type TarType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

const TYPEFLAG: Record<TarType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

export interface TarHeader {
  path: string;
  type?: TarType;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  /** Seconds since the epoch. */
  mtime?: number;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  uname?: string;
  gname?: string;
  /** Extended attributes, written as pax SCHILY.xattr.<name> records. */
  xattrs?: Record<string, string>;
}

function writeString(block: Buffer, offset: number, length: number, value: string): boolean {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) return false;
  bytes.copy(block, offset);
  return true;
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): boolean {
  const s = Math.floor(value).toString(8);
  if (s.length > length - 1) return false;
  block.write(s.padStart(length - 1, '0') + '\0', offset, 'ascii');
  return true;
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`, 'utf8');
}

function rawHeader(h: TarHeader, typeflag: string, name: string, linkname: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 8, (h.mode ?? (h.type === 'dir' ? 0o755 : 0o644)) & 0o7777);
  writeOctal(block, 108, 8, h.uid ?? 0);
  writeOctal(block, 116, 8, h.gid ?? 0);
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, h.mtime ?? 0);
  block.write('        ', 148, 'ascii');
  block.write(typeflag, 156, 'ascii');
  writeString(block, 157, 100, linkname);
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  writeString(block, 265, 32, h.uname ?? '');
  writeString(block, 297, 32, h.gname ?? '');
  writeOctal(block, 329, 8, h.devmajor ?? 0);
  writeOctal(block, 337, 8, h.devminor ?? 0);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return block;
}

/**
 * A raw extension entry for crafting archives: a pax extended header ('x', records like {path: "..."}) or a
 * GNU long name/link ('L'/'K', the name as data) that applies to the entry written after it.
 */
export function extensionEntry(kind: 'x' | 'L' | 'K', payload: Record<string, string> | string): Buffer {
  const data =
    typeof payload === 'string'
      ? Buffer.from(payload + '\0')
      : Buffer.concat(Object.entries(payload).map(([k, v]) => paxRecord(k, v)));
  const name = kind === 'x' ? 'PaxHeaders/entry' : '././@LongLink';
  return Buffer.concat([rawHeader({ path: '', mode: 0o644 }, kind, name, '', data.length), data, padding(data.length)]);
}

/** The header block(s) of one entry: a pax header first when needed. */
export function tarHeader(h: TarHeader): Buffer {
  const type = h.type ?? 'file';
  const size = type === 'file' ? h.size ?? 0 : 0;
  const records: Buffer[] = [];
  const name = h.path;
  const linkname = h.linkpath ?? '';
  const fitsName = Buffer.byteLength(name) <= 100;
  const fitsLink = Buffer.byteLength(linkname) <= 100;
  if (!fitsName) records.push(paxRecord('path', name));
  if (!fitsLink) records.push(paxRecord('linkpath', linkname));
  if (size > 0o77777777777) records.push(paxRecord('size', String(size)));
  for (const [k, v] of Object.entries(h.xattrs ?? {})) records.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const main = rawHeader(
    h,
    TYPEFLAG[type],
    fitsName ? name : name.slice(0, 99),
    // Long link targets go in the pax record; the ustar field keeps a truncated copy (as GNU tar does), since
    // some readers check it is non-empty before applying pax.
    fitsLink ? linkname : Buffer.from(linkname).subarray(0, 100).toString('latin1'),
    size > 0o77777777777 ? 0 : size,
  );
  if (records.length === 0) return main;
  const pax = Buffer.concat(records);
  const paxHeader = rawHeader({ path: '', mode: 0o644 }, 'x', `PaxHeaders/${name}`.slice(0, 99), '', pax.length);
  return Buffer.concat([paxHeader, pax, padding(pax.length), main]);
}

export function padding(size: number): Buffer {
  const rem = size % 512;
  return Buffer.alloc(rem === 0 ? 0 : 512 - rem);
}

/** One whole entry: header, data, padding. */
export function tarEntry(h: TarHeader, data?: Buffer): Buffer {
  const body = data ?? Buffer.alloc(0);
  return Buffer.concat([tarHeader({ ...h, size: body.length }), body, padding(body.length)]);
}

/** The end-of-archive marker: two zero blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(1024);
}

/** A whole archive in memory (small archives: tests, configs, the busybox layer). */
export function tarArchive(entries: Array<{ header: TarHeader; data?: Buffer }>): Buffer {
  return Buffer.concat([...entries.map((e) => tarEntry(e.header, e.data)), tarEnd()]);
}
