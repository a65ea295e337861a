/**
 * Hostile layer tarballs, each crafted byte by byte: every case is rejected or contained, and a sentinel
 * directory outside the layer root is never created, modified or linked to.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { applyLayer, cleanPath } from './unpack';
import { tarArchive, tarEntry, type TarHeader } from '../images/tar-writer';

let tmp: string;
let outside: string;
let sentinel: string;
let root: string;
let snapshot: string;

function state(): string {
  // Everything observable about the outside dir: names, types, sizes, link counts, contents.
  const rows: string[] = [];
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const st = fs.lstatSync(p);
      rows.push(`${p} ${st.mode} ${st.size} ${st.nlink} ${st.mtimeMs}`);
      if (st.isFile()) rows.push(crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
      if (st.isDirectory()) walk(p);
    }
  };
  walk(outside);
  return rows.join('\n');
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-unpack-'));
  outside = path.join(tmp, 'outside');
  fs.mkdirSync(outside);
  sentinel = path.join(outside, 'sentinel');
  fs.writeFileSync(sentinel, 'original');
  snapshot = state();
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
beforeEach(() => {
  root = path.join(tmp, `layer${n++}`, 'fs');
  fs.mkdirSync(root, { recursive: true });
});

async function apply(entries: Array<{ header: TarHeader; data?: Buffer }>, gzip = false) {
  root = path.join(tmp, `layer${n++}`, 'fs'); // a fresh, empty root per archive
  fs.mkdirSync(root, { recursive: true });
  const tar = tarArchive(entries);
  return applyLayer(root, [gzip ? zlib.gzipSync(tar) : tar]);
}

async function rejects(entries: Array<{ header: TarHeader; data?: Buffer }>, pattern: RegExp) {
  await assert.rejects(apply(entries), (err: Error) => {
    assert.match(err.message, pattern);
    return true;
  });
  assert.equal(state(), snapshot, 'the outside directory changed');
}

const up = (k: number) => '../'.repeat(k);
const rel = (p: string) => p.slice(1); // absolute -> relative to "/"

test('cleanPath: lexical cleaning, absolute contained, escape rejected', () => {
  assert.equal(cleanPath('/etc/passwd'), 'etc/passwd');
  assert.equal(cleanPath('./a//b/./c/'), 'a/b/c');
  assert.equal(cleanPath('a/../b'), 'b');
  assert.equal(cleanPath('/'), '');
  assert.throws(() => cleanPath('../x'), /escapes the layer root/);
  assert.throws(() => cleanPath('a/../../x'), /escapes the layer root/);
  assert.throws(() => cleanPath('/../x'), /escapes the layer root/);
});

test('a well-formed layer unpacks with modes, owners, links, setuid, fifo, gzip', async () => {
  const entries = [
    { header: { path: 'bin/', type: 'dir' as const, mode: 0o755 } },
    { header: { path: 'bin/su', mode: 0o4755, uid: 0 }, data: Buffer.from('#!/bin/sh\n') },
    { header: { path: 'bin/sh', type: 'symlink' as const, linkpath: '/bin/busybox' } },
    { header: { path: 'bin/su2', type: 'hardlink' as const, linkpath: 'bin/su' } },
    { header: { path: 'home/user/file', uid: 1000, gid: 1000, mode: 0o600 }, data: Buffer.from('x') },
    { header: { path: 'run/fifo', type: 'fifo' as const, mode: 0o600 } },
    { header: { path: '/abs/contained', mode: 0o644 }, data: Buffer.from('abs') },
  ];
  const tar = tarArchive(entries);
  const r = await apply(entries, true);
  assert.equal(r.diffId, 'sha256:' + crypto.createHash('sha256').update(tar).digest('hex'));
  assert.equal(r.size, 10 + 1 + 3);
  assert.equal(fs.statSync(path.join(root, 'bin/su')).mode & 0o7777, 0o4755);
  assert.equal(fs.readlinkSync(path.join(root, 'bin/sh')), '/bin/busybox');
  assert.equal(fs.statSync(path.join(root, 'bin/su2')).ino, fs.statSync(path.join(root, 'bin/su')).ino);
  const st = fs.statSync(path.join(root, 'home/user/file'));
  assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [1000, 1000, 0o600]);
  assert.ok(fs.lstatSync(path.join(root, 'run/fifo')).isFIFO());
  assert.equal(fs.readFileSync(path.join(root, 'abs/contained'), 'utf8'), 'abs');
});

test('".." paths are rejected', async () => {
  await rejects([{ header: { path: '../outside/sentinel' }, data: Buffer.from('pwned') }], /escapes the layer root/);
  await rejects([{ header: { path: `${up(40)}${rel(sentinel)}` }, data: Buffer.from('pwned') }], /escapes the layer root/);
  await rejects([{ header: { path: `ok/../../${up(10)}${rel(outside)}/new` }, data: Buffer.from('pwned') }], /escapes/);
  await rejects([{ header: { path: `${up(40)}${rel(outside)}/newdir/`, type: 'dir' } }], /escapes the layer root/);
});

test('absolute paths are contained inside the layer', async () => {
  await apply([{ header: { path: sentinel }, data: Buffer.from('pwned') }]);
  assert.equal(fs.readFileSync(path.join(root, rel(sentinel)), 'utf8'), 'pwned');
  assert.equal(state(), snapshot);
});

test('writing through an absolute symlink is rejected', async () => {
  await rejects(
    [
      { header: { path: 'link', type: 'symlink', linkpath: outside } },
      { header: { path: 'link/new' }, data: Buffer.from('pwned') },
    ],
    /through the symlink "link"/,
  );
  await rejects(
    [
      { header: { path: 'link', type: 'symlink', linkpath: outside } },
      { header: { path: 'link/sentinel' }, data: Buffer.from('pwned') },
    ],
    /through the symlink/,
  );
  await rejects(
    [
      { header: { path: 'link', type: 'symlink', linkpath: outside } },
      { header: { path: 'link/sub/', type: 'dir' } },
    ],
    /through the symlink/,
  );
});

test('writing through an escaping relative symlink is rejected', async () => {
  await rejects(
    [
      { header: { path: 'a/', type: 'dir' } },
      { header: { path: 'a/up', type: 'symlink', linkpath: `${up(40)}${rel(outside)}` } },
      { header: { path: 'a/up/sentinel' }, data: Buffer.from('pwned') },
    ],
    /through the symlink "a\/up"/,
  );
  // A chain: l1 -> l2 -> outside.
  await rejects(
    [
      { header: { path: 'l2', type: 'symlink', linkpath: outside } },
      { header: { path: 'l1', type: 'symlink', linkpath: 'l2' } },
      { header: { path: 'l1/x' }, data: Buffer.from('pwned') },
    ],
    /through the symlink "l1"/,
  );
});

test('a file entry over a symlink replaces the link, never writes its target', async () => {
  await apply([
    { header: { path: 'link', type: 'symlink', linkpath: sentinel } },
    { header: { path: 'link', mode: 0o644 }, data: Buffer.from('pwned') },
    { header: { path: 'dirlink', type: 'symlink', linkpath: outside } },
    { header: { path: 'dirlink/', type: 'dir' } },
  ]);
  assert.ok(fs.lstatSync(path.join(root, 'link')).isFile());
  assert.equal(fs.readFileSync(path.join(root, 'link'), 'utf8'), 'pwned');
  assert.ok(fs.lstatSync(path.join(root, 'dirlink')).isDirectory());
  assert.equal(state(), snapshot);
});

test('symlink targets are data: absolute and escaping targets are stored, not followed', async () => {
  await apply([
    { header: { path: 'abs', type: 'symlink', linkpath: sentinel } },
    { header: { path: 'esc', type: 'symlink', linkpath: `${up(40)}${rel(sentinel)}` } },
  ]);
  assert.equal(fs.readlinkSync(path.join(root, 'abs')), sentinel);
  assert.equal(state(), snapshot);
});

test('hardlinks that escape or point outside are rejected', async () => {
  // Absolute target: cleaned to a path inside the layer, which does not exist.
  await rejects([{ header: { path: 'hl', type: 'hardlink', linkpath: sentinel } }], /bad target|target is not in the layer/);
  await rejects([{ header: { path: 'hl', type: 'hardlink', linkpath: `${up(40)}${rel(sentinel)}` } }], /escapes the layer root/);
  await rejects([{ header: { path: 'hl', type: 'hardlink', linkpath: '../outside/sentinel' } }], /escapes the layer root/);
  // Through a symlinked parent.
  await rejects(
    [
      { header: { path: 'link', type: 'symlink', linkpath: outside } },
      { header: { path: 'hl', type: 'hardlink', linkpath: 'link/sentinel' } },
    ],
    /bad target/,
  );
  // To a directory.
  await rejects(
    [
      { header: { path: 'd/', type: 'dir' } },
      { header: { path: 'hl', type: 'hardlink', linkpath: 'd' } },
    ],
    /target is a directory/,
  );
  assert.equal(fs.statSync(sentinel).nlink, 1);
});

test('a hardlink to a symlink links the symlink itself, not its target', async () => {
  await apply([
    { header: { path: 'sl', type: 'symlink', linkpath: sentinel } },
    { header: { path: 'hl', type: 'hardlink', linkpath: 'sl' } },
  ]);
  assert.ok(fs.lstatSync(path.join(root, 'hl')).isSymbolicLink());
  assert.equal(fs.statSync(sentinel).nlink, 1);
  assert.equal(state(), snapshot);
});

test('device nodes are rejected, except char 0/0 (a whiteout)', async () => {
  await rejects([{ header: { path: 'null', type: 'char', devmajor: 1, devminor: 3 } }], /char 1:3\) is not allowed/);
  await rejects([{ header: { path: 'sda', type: 'block', devmajor: 8, devminor: 0 } }], /block 8:0\) is not allowed/);
  await rejects([{ header: { path: 'mem', type: 'char', devmajor: 1, devminor: 1, mode: 0o666 } }], /not allowed/);
  await apply([{ header: { path: 'gone', type: 'char', devmajor: 0, devminor: 0 } }]);
  const st = fs.lstatSync(path.join(root, 'gone'));
  assert.ok(st.isCharacterDevice());
  assert.equal(st.rdev, 0);
});

test('OCI whiteouts become overlay whiteouts; whiteouts aimed outside are rejected', async () => {
  await apply([
    { header: { path: 'etc/', type: 'dir' } },
    { header: { path: 'etc/.wh.passwd' } },
    { header: { path: 'var/.wh..wh..opq' } },
    { header: { path: '.wh..wh.plnk' } },
  ]);
  const wh = fs.lstatSync(path.join(root, 'etc/passwd'));
  assert.ok(wh.isCharacterDevice());
  assert.equal(wh.rdev, 0);
  assert.ok(fs.lstatSync(path.join(root, 'var')).isDirectory());
  assert.equal(fs.existsSync(path.join(root, 'etc/.wh.passwd')), false);
  assert.equal(fs.existsSync(path.join(root, '.wh..wh.plnk')), false);

  await rejects([{ header: { path: '.wh..' } }], /targets outside its directory/);
  await rejects([{ header: { path: 'a/.wh..' } }], /targets outside its directory/);
  await rejects([{ header: { path: `${up(3)}.wh.sentinel` } }], /escapes the layer root/);
  await rejects([{ header: { path: `${up(40)}${rel(outside)}/.wh.sentinel` } }], /escapes the layer root/);
  await rejects(
    [
      { header: { path: 'link', type: 'symlink', linkpath: outside } },
      { header: { path: 'link/.wh.sentinel' } },
    ],
    /through the symlink/,
  );
  await rejects(
    [
      { header: { path: 'link', type: 'symlink', linkpath: outside } },
      { header: { path: 'link/.wh..wh..opq' } },
    ],
    /through the symlink/,
  );
  assert.ok(fs.existsSync(sentinel));
});

test('a whiteout whose directory is later replaced by a symlink is rejected', async () => {
  await rejects(
    [
      { header: { path: 'd/', type: 'dir' } },
      { header: { path: 'd/.wh.sentinel' } },
      { header: { path: 'd', type: 'symlink', linkpath: outside } },
    ],
    /replaced by a non-directory/,
  );
  await rejects(
    [
      { header: { path: 'd/', type: 'dir' } },
      { header: { path: 'd/fifo', type: 'fifo' } },
      { header: { path: 'd', type: 'symlink', linkpath: outside } },
    ],
    /replaced by a non-directory/,
  );
  await rejects(
    [
      { header: { path: 'd/.wh..wh..opq' } },
      { header: { path: 'd', type: 'symlink', linkpath: outside } },
    ],
    /was replaced/,
  );
});

test('a file used as a parent is rejected', async () => {
  await rejects(
    [
      { header: { path: 'f' }, data: Buffer.from('x') },
      { header: { path: 'f/x' }, data: Buffer.from('y') },
    ],
    /is not a directory/,
  );
});

test('corrupt and empty streams are rejected', async () => {
  const good = tarEntry({ path: 'a' }, Buffer.from('hello'));
  const corrupt = Buffer.from(good);
  corrupt[10] ^= 0xff; // breaks the header checksum
  await assert.rejects(applyLayer(root, [Buffer.concat([corrupt, Buffer.alloc(1024)])]), /invalid layer/);
  await assert.rejects(applyLayer(root, []), /empty layer stream/);
  assert.equal(state(), snapshot);
});

test('long names (pax) unpack', async () => {
  const long = 'd/' + 'x'.repeat(150) + '/file';
  await apply([{ header: { path: long }, data: Buffer.from('deep') }]);
  assert.equal(fs.readFileSync(path.join(root, long), 'utf8'), 'deep');
});

test('the worker-thread variant gives the same result and the same rejections', async () => {
  const { applyLayerInWorker } = await import('./unpack');
  const good = tarArchive([{ header: { path: 'dir/f', mode: 0o644 }, data: Buffer.alloc(300_000, 7) }]);
  const r1 = await applyLayerInWorker(root, [zlib.gzipSync(good)]);
  assert.equal(r1.diffId, 'sha256:' + crypto.createHash('sha256').update(good).digest('hex'));
  assert.equal(fs.statSync(path.join(root, 'dir/f')).size, 300_000);
  const other = path.join(tmp, 'worker-root');
  fs.mkdirSync(other);
  await assert.rejects(
    applyLayerInWorker(other, [tarArchive([{ header: { path: 'l', type: 'symlink', linkpath: outside } }, { header: { path: 'l/x' }, data: Buffer.from('p') }])]),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'InvalidArgument');
      assert.match(err.message, /through the symlink/);
      return true;
    },
  );
  assert.equal(state(), snapshot);
});

test('a directory replaced by a symlink mid-layer is not trusted afterwards', async () => {
  await rejects(
    [
      { header: { path: 'a/', type: 'dir' } },
      { header: { path: 'a/b/', type: 'dir' } },
      { header: { path: 'a/b/first' }, data: Buffer.from('1') },
      { header: { path: 'a', type: 'symlink', linkpath: outside } },
      { header: { path: 'a/b/x' }, data: Buffer.from('pwned') },
    ],
    /through the symlink "a"/,
  );
  await rejects(
    [
      { header: { path: 'a/b/c/', type: 'dir' } },
      { header: { path: 'a/b', type: 'symlink', linkpath: outside } },
      { header: { path: 'a/b/sentinel' }, data: Buffer.from('pwned') },
    ],
    /through the symlink "a\/b"/,
  );
});

test('pax and GNU long-name overrides are checked like plain names', async () => {
  const { extensionEntry, tarEnd } = await import('../images/tar-writer');
  const craft = (...parts: Buffer[]) => Buffer.concat([...parts, tarEnd()]);
  const hostilePath = `${up(40)}${rel(sentinel)}`;
  const cases = [
    // A benign ustar name, overridden by a pax path that climbs out.
    craft(extensionEntry('x', { path: hostilePath }), tarEntry({ path: 'benign' }, Buffer.from('pwned'))),
    // The same with a GNU long name.
    craft(extensionEntry('L', hostilePath), tarEntry({ path: 'benign' }, Buffer.from('pwned'))),
    // A pax linkpath turning a harmless hardlink into one that escapes.
    craft(tarEntry({ path: 'f' }, Buffer.from('x')), extensionEntry('x', { linkpath: hostilePath }), tarEntry({ path: 'hl', type: 'hardlink', linkpath: 'f' })),
  ];
  for (const archive of cases) {
    root = path.join(tmp, `layer${n++}`, 'fs');
    fs.mkdirSync(root, { recursive: true });
    await assert.rejects(applyLayer(root, [archive]), /escapes the layer root/);
    assert.equal(state(), snapshot);
  }
});
