/**
 * The overlay snapshotter as root: real mounts over real unpacked layers — whiteouts and opaque
 * directories hide lower content, writes land in the container's upper dir only, the layer dirs are shared
 * and untouched, and a 100-layer image mounts (short relative lowerdirs keep the options under a page).
 * Every mount is undone in finally.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LayerStore } from './layers';
import { OverlaySnapshotter } from './overlay';
import { unmountAllUnder, isMountPoint } from './mount';
import { tarArchive, type TarHeader } from '../images/tar-writer';
import { chainIds, sha256 } from '../images/digest';

let tmp: string;
let layers: LayerStore;
let snap: OverlaySnapshotter;
const images = new Map<string, Buffer[]>();

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-overlay-'));
  const root = path.join(tmp, 'snapshots');
  layers = new LayerStore(root);
  snap = new OverlaySnapshotter({
    root,
    layersOf: async (imageId) => {
      const tars = images.get(imageId)!;
      const diffs = tars.map((t) => sha256(t));
      const chains = chainIds(diffs);
      return Promise.all(tars.map((t, i) => layers.ensure(chains[i], diffs[i], () => [t])));
    },
  });
});

after(async () => {
  await unmountAllUnder(tmp);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const file = (p: string, data: string, extra: Partial<TarHeader> = {}) => ({ header: { path: p, mode: 0o644, ...extra }, data: Buffer.from(data) });
const dir = (p: string) => ({ header: { path: p, type: 'dir' as const, mode: 0o755 } });

test('whiteouts and opaque dirs hide lower content; writes stay in the upper dir', async () => {
  const base = tarArchive([dir('etc/'), file('etc/passwd', 'root'), file('etc/keep', 'k'), dir('data/'), file('data/old1', '1'), file('data/old2', '2')]);
  const top = tarArchive([{ header: { path: 'etc/.wh.passwd' } }, { header: { path: 'data/.wh..wh..opq' } }, file('data/new', 'n')]);
  images.set('img1', [base, top]);
  const m = await snap.prepare('c1', 'img1');
  assert.equal(m.type, 'overlay');
  assert.match(m.options[0], /^lowerdir=.*:.*$/);
  const target = path.join(tmp, 'mnt1');
  try {
    await snap.mount('c1', target);
    assert.ok(isMountPoint(target));
    assert.equal(fs.existsSync(path.join(target, 'etc/passwd')), false);
    assert.equal(fs.readFileSync(path.join(target, 'etc/keep'), 'utf8'), 'k');
    assert.deepEqual(fs.readdirSync(path.join(target, 'data')).sort(), ['new']);
    fs.writeFileSync(path.join(target, 'etc/keep'), 'changed');
    fs.writeFileSync(path.join(target, 'created'), 'c');
    assert.equal(fs.readFileSync(path.join(m.upperDir!, 'created'), 'utf8'), 'c');
  } finally {
    await snap.unmount(target);
  }
  assert.equal(isMountPoint(target), false);
  // The shared layer was not modified.
  const [lower] = await Promise.all([layers.get(chainIds([sha256(base)])[0])]);
  assert.equal(fs.readFileSync(path.join(lower!.dir, 'etc/keep'), 'utf8'), 'k');
  // A second container over the same image sees the pristine image, sharing the same layer dirs.
  const m2 = await snap.prepare('c2', 'img1');
  assert.equal(m2.options[0], m.options[0]);
  const target2 = path.join(tmp, 'mnt2');
  try {
    await snap.mount('c2', target2);
    assert.equal(fs.readFileSync(path.join(target2, 'etc/keep'), 'utf8'), 'k');
    assert.equal(fs.existsSync(path.join(target2, 'created')), false);
  } finally {
    await snap.unmount(target2);
  }
  assert.deepEqual((await snap.list()).sort(), ['c1', 'c2']);
  assert.equal((await snap.layersInUse()).size, 2);
  await snap.remove('c1');
  await snap.remove('c2');
  await snap.remove('never-existed');
  assert.deepEqual(await snap.list(), []);
});

test('prepare is idempotent; unmount of a non-mount is a no-op; bad keys are refused', async () => {
  images.set('img2', [tarArchive([file('a', 'a')])]);
  const a = await snap.prepare('k1', 'img2');
  const b = await snap.prepare('k1', 'img2');
  assert.deepEqual(a, b);
  await assert.rejects(snap.prepare('k1', 'img1'), /exists for another image/);
  await snap.unmount(path.join(tmp, 'not-mounted'));
  await assert.rejects(snap.prepare('../escape', 'img2'), /invalid snapshot key/);
  await snap.remove('k1');
});

test('a 100-layer image mounts (lowerdir stays under one page)', async () => {
  const tars: Buffer[] = [];
  for (let i = 0; i < 100; i++) tars.push(tarArchive([file(`f${i}`, String(i)), file('top', String(i))]));
  images.set('img100', tars);
  const m = await snap.prepare('many', 'img100');
  assert.ok(m.options[0].length > 4096, 'absolute lowerdirs would not fit in a page');
  const target = path.join(tmp, 'mnt100');
  try {
    await snap.mount('many', target);
    assert.equal(fs.readFileSync(path.join(target, 'f0'), 'utf8'), '0');
    assert.equal(fs.readFileSync(path.join(target, 'f99'), 'utf8'), '99');
    assert.equal(fs.readFileSync(path.join(target, 'top'), 'utf8'), '99');
  } finally {
    await snap.unmount(target);
  }
  await snap.remove('many');
});

test('volatile mounts can be mounted again (restart of a --rm style container); remove is immediate', async () => {
  images.set('imgv', [tarArchive([file('a', 'a')])]);
  await snap.prepare('vol', 'imgv');
  const target = path.join(tmp, 'mntv');
  for (let i = 0; i < 3; i++) {
    try {
      await snap.mount('vol', target, { volatile: i !== 1 });
      fs.writeFileSync(path.join(target, `w${i}`), String(i));
      assert.deepEqual(fs.readdirSync(target).sort(), ['a', ...Array.from({ length: i + 1 }, (_, k) => `w${k}`)]);
    } finally {
      await snap.unmount(target);
    }
  }
  await snap.remove('vol');
  assert.deepEqual(await snap.list(), []);
  await snap.settle();
  assert.deepEqual(fs.readdirSync(path.join(tmp, 'snapshots', 'containers')), []);
});

test('a directory whited out and recreated in one layer hides the lower directory (becomes opaque)', async () => {
  const base = tarArchive([dir('d/'), file('d/old', 'o'), dir('e/'), file('e/old', 'o')]);
  const top = tarArchive([{ header: { path: '.wh.d' } }, file('d/new', 'n'), { header: { path: '.wh.e' } }, dir('e/')]);
  images.set('imgw', [base, top]);
  await snap.prepare('w1', 'imgw');
  const target = path.join(tmp, 'mntw');
  try {
    await snap.mount('w1', target);
    assert.deepEqual(fs.readdirSync(path.join(target, 'd')), ['new']);
    assert.deepEqual(fs.readdirSync(path.join(target, 'e')), []);
  } finally {
    await snap.unmount(target);
  }
  await snap.remove('w1');
});
