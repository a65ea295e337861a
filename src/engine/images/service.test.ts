/**
 * The image service without the API: load (docker-archive old and new layouts, OCI layout with nested
 * indexes and gzip layers), save round trips (also through skopeo, real OCI tooling), rejection of
 * inconsistent or hostile archives with nothing recorded, rmi semantics with containers, layer sharing and
 * collection, persistence across restarts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { ImageService, isSingleReference, type ImageUser } from './service';
import { LayerStore } from '../snapshot/layers';
import { busyboxImage, createBusyboxImage } from './busybox';
import { loadArchive } from './archive-load';
import { saveArchive } from './archive-save';
import { importRootfs } from './import';
import { tarArchive } from './tar-writer';
import { sha256 } from './digest';
import { MediaType } from './oci';

let tmp: string;
let n = 0;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-images-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function service(users: Map<string, ImageUser[]> = new Map(), dir = path.join(tmp, `d${n++}`)): ImageService {
  return new ImageService({ dataDir: dir, layers: new LayerStore(path.join(dir, 'snapshots')), usersOf: (id) => users.get(id) ?? [] });
}

async function save(images: ImageService, names: string[]): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await saveArchive.write(images, await saveArchive.plan(images, names), out);
  out.end();
  return Buffer.concat(chunks);
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const smallLayer = (name: string, data: string) => tarArchive([{ header: { path: name, mode: 0o644 }, data: Buffer.from(data) }]);
function configFor(layers: Buffer[], extra: Record<string, unknown> = {}) {
  return json({
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) },
    ...extra,
  });
}

test('legacy docker-archive (<id>/layer.tar, symlinked duplicate layers) loads', async () => {
  const images = service();
  const l1 = smallLayer('a', '1');
  const l2 = smallLayer('b', '2');
  const cfg = configFor([l1, l2, l1]);
  const cfgHex = sha256(cfg).slice(7);
  const archive = tarArchive([
    { header: { path: 'aaa/', type: 'dir' } },
    { header: { path: 'aaa/layer.tar' }, data: l1 },
    { header: { path: 'bbb/layer.tar' }, data: l2 },
    { header: { path: 'ccc/layer.tar', type: 'symlink', linkpath: '../aaa/layer.tar' } },
    { header: { path: `${cfgHex}.json` }, data: cfg },
    { header: { path: 'manifest.json' }, data: json([{ Config: `${cfgHex}.json`, RepoTags: ['old:style'], Layers: ['aaa/layer.tar', 'bbb/layer.tar', 'ccc/layer.tar'] }]) },
    { header: { path: 'repositories' }, data: json({ old: { style: 'aaa' } }) },
  ]);
  const loaded = await loadArchive(images, [archive]);
  assert.deepEqual(loaded, [{ id: `sha256:${cfgHex}`, tag: 'old:style' }]);
  const rec = await images.resolve('old:style');
  assert.equal(rec.diffIds.length, 3);
  assert.equal((await images.layersOf(rec.id)).length, 3);
});

test('OCI layout with a nested platform index and gzip layers loads; blob paths must match content', async () => {
  const images = service();
  const layer = smallLayer('hello', 'world');
  const gz = zlib.gzipSync(layer);
  const cfg = configFor([layer]);
  const manifest = json({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha256(cfg), size: cfg.length },
    layers: [{ mediaType: MediaType.ociLayerGzip, digest: sha256(gz), size: gz.length }],
  });
  const other = json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { digest: sha256('nope'), size: 4 }, layers: [] });
  const idx = json({
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [
      { mediaType: MediaType.ociManifest, digest: sha256(other), size: other.length, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: MediaType.ociManifest, digest: sha256(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
    ],
  });
  const blob = (b: Buffer) => ({ header: { path: `blobs/sha256/${sha256(b).slice(7)}` }, data: b });
  const top = { mediaType: MediaType.ociIndex, digest: sha256(idx), size: idx.length, annotations: { 'io.containerd.image.name': 'registry.example:5000/team/app:2.0' } };
  const archive = tarArchive([
    { header: { path: 'oci-layout' }, data: json({ imageLayoutVersion: '1.0.0' }) },
    { header: { path: 'index.json' }, data: json({ schemaVersion: 2, manifests: [top] }) },
    blob(gz), blob(cfg), blob(manifest), blob(idx), blob(other),
  ]);
  const loaded = await loadArchive(images, [archive]);
  assert.deepEqual(loaded, [{ id: sha256(cfg), tag: 'registry.example:5000/team/app:2.0' }]);
  const [info] = await images.layersOf(sha256(cfg));
  assert.equal(fs.readFileSync(path.join(info.dir, 'hello'), 'utf8'), 'world');
  // The original manifest is kept (its digest is the image's manifest digest).
  assert.equal(images.lookup('registry.example:5000/team/app:2.0').manifestDigest, sha256(manifest));

  // The same layout with a blob stored under the wrong digest is refused, and nothing is recorded.
  const images2 = service();
  const lying = tarArchive([
    { header: { path: 'oci-layout' }, data: json({ imageLayoutVersion: '1.0.0' }) },
    { header: { path: 'index.json' }, data: json({ schemaVersion: 2, manifests: [{ ...top, digest: sha256(manifest), mediaType: MediaType.ociManifest }] }) },
    { header: { path: `blobs/sha256/${sha256(gz).slice(7)}` }, data: zlib.gzipSync(smallLayer('hello', 'evil')) },
    blob(cfg), blob(manifest),
  ]);
  await assert.rejects(loadArchive(images2, [lying]), /does not match its content/);
  assert.equal(images2.count(), 0);
});

test('a layer that does not match the config diff ids is refused; nothing recorded, no blobs kept', async () => {
  const images = service();
  const real = smallLayer('a', 'real');
  const claimed = smallLayer('a', 'claimed');
  const cfg = configFor([claimed]);
  const archive = tarArchive([
    { header: { path: 'blobs/sha256/l' }, data: real },
    { header: { path: 'blobs/sha256/c' }, data: cfg },
    { header: { path: 'manifest.json' }, data: json([{ Config: 'blobs/sha256/c', RepoTags: ['liar:1'], Layers: ['blobs/sha256/l'] }]) },
  ]);
  await assert.rejects(loadArchive(images, [archive]), /does not match its diff id/);
  assert.equal(images.count(), 0);
  const blobs: string[] = [];
  await images.content.walk((b) => void blobs.push(b.digest));
  assert.deepEqual(blobs, []);
  assert.deepEqual(await images.layers.list(), []);
});

test('hostile names in the outer archive and hostile layers inside it write nothing outside', async () => {
  const images = service();
  const outside = fs.mkdtempSync(path.join(tmp, 'outside-'));
  const sentinel = path.join(outside, 'sentinel');
  const evilLayer = tarArchive([{ header: { path: `${'../'.repeat(30)}${sentinel.slice(1)}` }, data: Buffer.from('pwned') }]);
  const cfg = configFor([evilLayer]);
  const archive = tarArchive([
    { header: { path: `${'../'.repeat(30)}${sentinel.slice(1)}` }, data: Buffer.from('outer pwned') },
    { header: { path: '/blobs/sha256/l' }, data: evilLayer },
    { header: { path: 'c.json' }, data: cfg },
    { header: { path: 'manifest.json' }, data: json([{ Config: 'c.json', RepoTags: ['evil:1'], Layers: ['blobs/sha256/l'] }]) },
  ]);
  await assert.rejects(loadArchive(images, [archive]), /escapes the layer root/);
  assert.deepEqual(fs.readdirSync(outside), []);
  assert.equal(images.count(), 0);
  // Import of the same hostile rootfs.
  await assert.rejects(importRootfs(images, [evilLayer], { tag: 'evil:2' }), /escapes the layer root/);
  assert.deepEqual(fs.readdirSync(outside), []);
  assert.equal(images.count(), 0);
});

test('save -> load into a fresh engine: same id, tags; the OCI half alone loads too; skopeo reads it', async () => {
  const a = service();
  const id = await createBusyboxImage(a, 'busybox:latest');
  await a.tag('busybox', 'me/bb:v2');
  const tarball = await save(a, ['busybox', 'me/bb:v2']);
  const b = service();
  const loaded = await loadArchive(b, [tarball]);
  assert.deepEqual(loaded.map((l) => l.tag).sort(), ['busybox:latest', 'me/bb:v2']);
  assert.equal((await b.resolve('me/bb:v2')).id, id);

  // Only the OCI layout part (drop manifest.json).
  const dir = fs.mkdtempSync(path.join(tmp, 'oci-'));
  fs.writeFileSync(path.join(dir, 'saved.tar'), tarball);
  execFileSync('tar', ['-xf', 'saved.tar', '--exclude', 'manifest.json', '--exclude', 'repositories'], { cwd: dir });
  fs.rmSync(path.join(dir, 'saved.tar'));
  const ociOnly = execFileSync('tar', ['-cf', '-', '-C', dir, '.'], { maxBuffer: 64 << 20 });
  const c = service();
  const loadedC = await loadArchive(c, [ociOnly]);
  assert.ok(loadedC.some((l) => l.id === id && l.tag === 'busybox:latest'));

  // umoci (real OCI tooling) unpacks the OCI layout we wrote.
  const bundle = path.join(tmp, `umoci-bundle-${n++}`);
  fs.mkdirSync(path.join(dir, 'full'));
  execFileSync('tar', ['-xf', '-', '-C', path.join(dir, 'full')], { input: tarball, maxBuffer: 64 << 20 });
  execFileSync('umoci', ['unpack', '--image', `${path.join(dir, 'full')}:latest`, bundle], { stdio: 'pipe' });
  assert.ok(fs.statSync(path.join(bundle, 'rootfs', 'bin', 'busybox')).size > 1_000_000);
  assert.equal(fs.readlinkSync(path.join(bundle, 'rootfs', 'bin', 'sh')), '/bin/busybox');

  // skopeo (real OCI tooling) converts our docker-archive to an OCI archive with gzip layers; we load it.
  const skopeoOut = path.join(dir, 'skopeo-oci.tar');
  fs.writeFileSync(path.join(dir, 'in.tar'), await save(a, ['busybox:latest']));
  execFileSync('skopeo', ['copy', '--quiet', `docker-archive:${path.join(dir, 'in.tar')}`, `oci-archive:${skopeoOut}:busybox:latest`]);
  const d = service();
  const loadedD = await loadArchive(d, [fs.readFileSync(skopeoOut)]);
  // skopeo re-serialises the config for OCI (a new id); the content is the same.
  const fromSkopeo = await d.resolve(loadedD[0].id);
  assert.deepEqual(fromSkopeo.diffIds, (await a.resolve(id)).diffIds);
  assert.deepEqual(fromSkopeo.config.Cmd, ['sh']);
  assert.equal(loadedD[0].tag, 'busybox:latest');
});

test('rmi: untag vs delete, conflicts with containers, force, multiple repositories', async () => {
  const users = new Map<string, ImageUser[]>();
  const images = service(users);
  const id = await createBusyboxImage(images, 'busybox:latest');
  const short = id.slice(7, 19);
  await images.tag('busybox', 'other/repo:1');

  // Two repositories: deleting by id needs force.
  await assert.rejects(images.remove(short), /unable to delete [a-f0-9]{12} \(must be forced\) - image is referenced in multiple repositories/);
  assert.deepEqual(await images.remove('other/repo:1'), [{ Untagged: 'other/repo:1' }]);

  users.set(id, [{ id: 'c'.repeat(64), running: false }]);
  await assert.rejects(images.remove(short), /conflict: unable to delete [a-f0-9]{12} \(must be forced\) - image is being used by stopped container cccccccccccc/);
  await assert.rejects(images.remove('busybox'), /unable to remove repository reference "busybox" \(must force\) - container cccccccccccc is using its referenced image/);
  users.set(id, [{ id: 'r'.repeat(64), running: true }]);
  await assert.rejects(images.remove(short, { force: true }), /\(cannot be forced\) - image is being used by running container rrrrrrrrrrrr/);
  // Force by name with a running user: untags, the image stays (dangling) for the container.
  assert.deepEqual(await images.remove('busybox', { force: true }), [{ Untagged: 'busybox:latest' }]);
  assert.equal((await images.resolve(id)).repoTags.length, 0);
  users.set(id, [{ id: 's'.repeat(64), running: false }]);
  const del = await images.remove(short, { force: true });
  assert.deepEqual(del[0], { Deleted: id });
  assert.equal(images.count(), 0);
  // Two tags, even in one repository, are "multiple repositories" to rmi by id (Docker's isSingleReference);
  // forced, every name goes and the image is deleted.
  users.clear();
  const id3 = await createBusyboxImage(images, 'bb:1');
  await images.tag('bb:1', 'bb:2');
  await assert.rejects(images.remove(id3.slice(7, 19)), /referenced in multiple repositories/);
  const forced = await images.remove(id3.slice(7, 19), { force: true });
  assert.deepEqual(forced.slice(0, 3), [{ Untagged: 'bb:1' }, { Untagged: 'bb:2' }, { Deleted: id3 }]);
  assert.ok(isSingleReference(['docker.io/library/bb:1', `docker.io/library/bb@sha256:${'a'.repeat(64)}`]));
  assert.ok(!isSingleReference(['docker.io/library/bb:1', `docker.io/library/other@sha256:${'a'.repeat(64)}`]));
  // Forced by name with only a stopped user: untagged and deleted.
  const id2 = await createBusyboxImage(images, 'again:1');
  users.set(id2, [{ id: 's'.repeat(64), running: false }]);
  const del2 = await images.remove('again:1', { force: true });
  assert.deepEqual(del2.slice(0, 2), [{ Untagged: 'again:1' }, { Deleted: id2 }]);
});

test('layers are shared, kept while used, collected when the last image goes; metadata survives a restart', async () => {
  const dir = path.join(tmp, 'shared');
  const images = service(new Map(), dir);
  const id = await createBusyboxImage(images, 'busybox:latest');
  const { layer } = busyboxImage();
  const imp = await importRootfs(images, [layer], { tag: 'imp:1', changes: ['CMD ["true"]'] });
  assert.notEqual(imp, id);
  assert.deepEqual((await images.layers.list()).length, 1, 'one layer dir for both images');
  await images.remove('busybox');
  assert.equal((await images.layers.list()).length, 1);

  // A restart: a new service over the same data dir.
  const again = service(new Map(), dir);
  assert.deepEqual((await again.resolve('imp:1')).config.Cmd, ['true']);
  assert.throws(() => again.lookup('busybox'), /No such image: busybox:latest/);
  await again.remove('imp:1');
  assert.equal((await again.layers.list()).length, 0);
  const blobs: string[] = [];
  await again.content.walk((b) => void blobs.push(b.digest));
  assert.deepEqual(blobs, []);
});

test('lookup: ids, short ids, digests, normalised names, errors', async () => {
  const images = service();
  const id = await createBusyboxImage(images, 'docker.io/library/busybox:1');
  for (const ref of [id, id.slice(7), id.slice(7, 19), id.slice(7, 10), 'busybox:1', 'docker.io/library/busybox:1', 'index.docker.io/library/busybox:1']) {
    assert.equal(images.lookup(ref).id, id, ref);
  }
  assert.throws(() => images.lookup('busybox'), /No such image: busybox:latest/);
  assert.throws(() => images.lookup('sha256:' + 'f'.repeat(64)), /No such image/);
  assert.throws(() => images.lookup(''), /No such image/);
  const img = images.lookup(id);
  assert.equal(images.lookup(`busybox@${img.manifestDigest}`).id, id);
});

test('import of a gzip rootfs, and of an empty body', async () => {
  const images = service();
  const layer = tarArchive([{ header: { path: 'bin/', type: 'dir' } }, { header: { path: 'bin/tool', mode: 0o755 }, data: Buffer.from('x') }]);
  const id = await importRootfs(images, [zlib.gzipSync(layer)], { tag: 'tool:1', changes: ['ENV A=1 B="two words"', 'EXPOSE 80 53/udp', 'WORKDIR /srv', 'USER nobody', 'LABEL a=b'] });
  const rec = await images.resolve('tool:1');
  assert.equal(rec.id, id);
  assert.deepEqual(rec.diffIds, [sha256(layer)]);
  assert.deepEqual(rec.config.Env, ['A=1', 'B=two words']);
  assert.deepEqual(rec.config.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.equal(rec.config.WorkingDir, '/srv');
  assert.deepEqual(rec.config.Labels, { a: 'b' });
  await assert.rejects(importRootfs(images, [], { tag: 'empty:1' }), /empty/);
  await assert.rejects(importRootfs(images, [layer], { changes: ['RUN rm -rf /'] }), /not a valid change command/);
});

test('start-up garbage collection drops orphan blobs and layers, keeps images and layers in use', async () => {
  const dir = path.join(tmp, 'gc');
  const images = service(new Map(), dir);
  const id = await createBusyboxImage(images, 'busybox:latest');
  const orphan = await images.content.writeBlob(Buffer.from('orphan'));
  const orphanLayer = smallLayer('x', 'y');
  await images.layers.ensure(sha256(orphanLayer), sha256(orphanLayer), () => [orphanLayer]);
  const usedLayer = smallLayer('u', 'v');
  await images.layers.ensure(sha256(usedLayer), sha256(usedLayer), () => [usedLayer]);
  const again = new ImageService({
    dataDir: dir,
    layers: new LayerStore(path.join(dir, 'snapshots')),
    layersInUse: async () => new Set([sha256(usedLayer)]),
  });
  assert.deepEqual(await again.collectGarbage(), { blobs: 1, layers: 1 });
  assert.equal(await again.content.has(orphan.digest), false);
  assert.equal((await again.layersOf(id)).length, 1);
  assert.ok(await again.layers.get(sha256(usedLayer)));
  assert.equal(await again.layers.get(sha256(orphanLayer)), undefined);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'snapshots', 'l')).length, 2);
});

test('image events: tag, untag, delete, import, load, save', async () => {
  const events: string[] = [];
  const dir = path.join(tmp, 'events');
  const images = new ImageService({
    dataDir: dir,
    layers: new LayerStore(path.join(dir, 'snapshots')),
    onEvent: (action, _id, attrs) => void events.push(`${action} ${attrs.name ?? ''}`.trim()),
  });
  const { layer } = busyboxImage();
  await importRootfs(images, [layer], { tag: 'a:1' });
  await images.tag('a:1', 'b:1');
  const tarball = await save(images, ['b:1']);
  await images.remove('a:1');
  await images.remove('b:1');
  await loadArchive(images, [tarball]);
  assert.deepEqual(events, ['import a:1', 'tag b:1', 'save b:1', 'untag a:1', 'untag b:1', 'delete', 'load b:1']);
});

test('concurrent rmi and import of the same layer never leave a broken image', async () => {
  const images = service();
  const { layer } = busyboxImage();
  for (let i = 0; i < 5; i++) {
    await createBusyboxImage(images, 'busybox:latest');
    const [, imported] = await Promise.all([images.remove('busybox'), importRootfs(images, [layer], { tag: `race:${i}` })]);
    const layers = await images.layersOf(imported);
    assert.ok(fs.existsSync(path.join(layers[0].dir, 'bin', 'busybox')));
    assert.ok(await images.content.has(sha256(layer)));
    await images.remove(`race:${i}`);
  }
  assert.equal(images.count(), 0);
  assert.deepEqual(await images.layers.list(), []);
});

test('commit with an original manifest and repo digests (the registry seam)', async () => {
  const images = service();
  const layer = smallLayer('f', 'x');
  const blob = await images.content.writeBlob(layer);
  const cfg = configFor([layer]);
  const desc = { mediaType: MediaType.ociLayer, ...blob };
  const manifest = json({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config: { mediaType: MediaType.dockerConfig, digest: sha256(cfg), size: cfg.length }, layers: [desc] });
  const id = await images.commit(cfg, [desc], ['localhost:5000/app:1'], { manifest, repoDigests: [`localhost:5000/app@${sha256(manifest)}`] });
  const rec = await images.resolve(`localhost:5000/app@${sha256(manifest)}`);
  assert.equal(rec.id, id);
  assert.deepEqual(rec.repoDigests, [`localhost:5000/app@${sha256(manifest)}`]);
  const wrong = json({ schemaVersion: 2, config: { digest: sha256('other'), size: 5 }, layers: [desc] });
  await assert.rejects(images.commit(cfg, [desc], [], { manifest: wrong }), /does not describe/);
  await assert.rejects(images.commit(cfg, [desc], [], { repoDigests: ['app:1'] }), /not a name@digest/);
});

test('truncated archives are rejected, never hang, and leave no temp files', async () => {
  const images = service();
  const { busyboxArchive } = await import('./busybox');
  const full = busyboxArchive();
  for (const cut of [100_000, 1_500_000, full.length - 1500]) {
    await assert.rejects(loadArchive(images, [full.subarray(0, cut)]), /invalid archive/);
  }
  assert.equal(images.count(), 0);
  assert.deepEqual(fs.readdirSync(path.join(images.content.root, 'ingest')), []);
  await assert.rejects(importRootfs(images, [busyboxImage().layer.subarray(0, 300_000)]), /Truncated input/);
  assert.equal(images.count(), 0);
});

test('an unreadable image index stops start-up instead of losing every image', async () => {
  const dir = path.join(tmp, 'badindex');
  const images = service(new Map(), dir);
  await createBusyboxImage(images, 'busybox:latest');
  fs.writeFileSync(path.join(dir, 'images', 'images.json'), '{"version":1,"ima');
  assert.throws(() => service(new Map(), dir), /unreadable.*refusing to start/);
  const blobs: string[] = [];
  await images.content.walk((b) => void blobs.push(b.digest));
  assert.equal(blobs.length, 3);
});

test('an OCI layout made by umoci (gzip layers, a whiteout, a tag-only ref.name) loads', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'umoci-'));
  const layout = path.join(dir, 'img');
  const bundle = path.join(dir, 'bundle');
  const run = (...args: string[]) => execFileSync('umoci', args, { stdio: 'pipe' });
  run('init', '--layout', layout);
  run('new', '--image', `${layout}:latest`);
  run('unpack', '--image', `${layout}:latest`, bundle);
  fs.mkdirSync(path.join(bundle, 'rootfs', 'etc'));
  fs.writeFileSync(path.join(bundle, 'rootfs', 'etc', 'gone'), 'x');
  fs.writeFileSync(path.join(bundle, 'rootfs', 'hello'), 'hi');
  run('repack', '--image', `${layout}:latest`, bundle);
  fs.rmSync(bundle, { recursive: true, force: true });
  run('unpack', '--image', `${layout}:latest`, bundle);
  fs.rmSync(path.join(bundle, 'rootfs', 'etc', 'gone'));
  run('repack', '--image', `${layout}:latest`, bundle);
  const images = service();
  const loaded = await loadArchive(images, [execFileSync('tar', ['-cf', '-', '-C', layout, '.'], { maxBuffer: 64 << 20 })]);
  assert.equal(loaded.length, 1);
  assert.equal(loaded[0].tag, undefined, 'ref.name "latest" alone names nothing');
  const layers = await images.layersOf(loaded[0].id);
  assert.equal(layers.length, 2);
  assert.equal(fs.readFileSync(path.join(layers[0].dir, 'hello'), 'utf8'), 'hi');
  const wh = fs.lstatSync(path.join(layers[1].dir, 'etc', 'gone'));
  assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'the whiteout is in overlay form');
});
