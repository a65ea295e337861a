/**
 * End to end with the real docker CLI against a `skiff engine` child process: images, image inspect,
 * history, tag, rmi, import, save | load, unknown images, and rmi against a container using the image.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { startEngine, type EngineHandle } from '../../../test/engine';
import { busyboxImage } from './busybox';
import { tarArchive } from './tar-writer';
import { sha256 } from './digest';

let engine: EngineHandle;
let busyboxId: string;

before(async () => {
  engine = await startEngine({ busybox: true });
  const r = await engine.docker('image', 'inspect', '--format', '{{.Id}}', 'busybox');
  assert.equal(r.code, 0, r.stderr);
  busyboxId = r.stdout.trim();
});

after(async () => {
  await engine?.stop();
});

function ok(r: { code: number; stdout: string; stderr: string }): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

test('docker images lists the base image with Docker columns', async () => {
  const out = ok(await engine.docker('images', '--format', '{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}'));
  assert.match(out, new RegExp(`^busybox latest ${busyboxId.slice(7, 19)} 1\\.98MB$`, 'm'));
  const q = ok(await engine.docker('images', '-q', '--no-trunc'));
  assert.equal(q.trim(), busyboxId);
  // docker.io/library/busybox:latest is the same image.
  const full = ok(await engine.docker('image', 'inspect', '--format', '{{.Id}}', 'docker.io/library/busybox:latest'));
  assert.equal(full.trim(), busyboxId);
});

test('docker image inspect has Docker shape', async () => {
  const [img] = JSON.parse(ok(await engine.docker('image', 'inspect', 'busybox')));
  assert.equal(img.Id, busyboxId);
  assert.deepEqual(img.RepoTags, ['busybox:latest']);
  assert.equal(img.RootFS.Type, 'layers');
  assert.equal(img.RootFS.Layers.length, 1);
  assert.equal(img.GraphDriver.Name, 'overlay2');
  assert.ok(fs.existsSync(path.join(img.GraphDriver.Data.UpperDir, 'bin', 'busybox')));
  assert.deepEqual(img.Config.Cmd, ['sh']);
  assert.equal(img.Os, 'linux');
  assert.ok(img.Size > 1_000_000);
  // docker inspect (any object) finds images too.
  assert.equal(ok(await engine.docker('inspect', '--format', '{{.Id}}', 'busybox')).trim(), busyboxId);
});

test('docker history shows the config history, newest first', async () => {
  const out = ok(await engine.docker('history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}', 'busybox'));
  const rows = out.trim().split('\n');
  assert.equal(rows.length, 2);
  assert.equal(rows[0], `${busyboxId}|CMD ["sh"]|0B`);
  assert.match(rows[1], /^<missing>\|skiff: busybox-static/);
});

test('tag, then rmi of one tag untags; unknown image is a 404 in Docker words', async () => {
  ok(await engine.docker('tag', 'busybox', 'example.com/team/bb:v1'));
  ok(await engine.docker('tag', busyboxId.slice(7, 19), 'bb2'));
  const repos = ok(await engine.docker('images', '--format', '{{.Repository}}:{{.Tag}}')).trim().split('\n').sort();
  assert.deepEqual(repos, ['bb2:latest', 'busybox:latest', 'example.com/team/bb:v1']);
  const filtered = ok(await engine.docker('images', '--filter', 'reference=example.com/*/*', '--format', '{{.Repository}}'));
  assert.equal(filtered.trim(), 'example.com/team/bb');
  assert.equal(ok(await engine.docker('rmi', 'example.com/team/bb:v1')).trim(), 'Untagged: example.com/team/bb:v1');
  assert.equal(ok(await engine.docker('rmi', 'bb2')).trim(), 'Untagged: bb2:latest');
  const miss = await engine.docker('rmi', 'nosuchimage');
  assert.notEqual(miss.code, 0);
  assert.match(miss.stderr, /No such image: nosuchimage:latest/);
  const bad = await engine.docker('tag', 'busybox', 'Bad:Name');
  assert.notEqual(bad.code, 0);
  // Still there.
  assert.equal(ok(await engine.docker('images', '-q')).trim(), busyboxId.slice(7, 19));
});

test('docker import of a gzip rootfs with --change, then rmi deletes it', async () => {
  const { layer } = busyboxImage();
  const r = await engine.dockerInput(
    zlib.gzipSync(layer),
    'import', '--change', 'CMD ["echo","imported"]', '--change', 'ENV A=1', '--message', 'from test', '-', 'imp:v1',
  );
  const id = ok(r).trim();
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  const [img] = JSON.parse(ok(await engine.docker('image', 'inspect', 'imp:v1')));
  assert.equal(img.Id, id);
  assert.deepEqual(img.Config.Cmd, ['echo', 'imported']);
  assert.deepEqual(img.Config.Env, ['A=1']);
  // The same layer as busybox: one diff id, shared layer dir.
  const [bb] = JSON.parse(ok(await engine.docker('image', 'inspect', 'busybox')));
  assert.deepEqual(img.RootFS.Layers, bb.RootFS.Layers);
  const hist = ok(await engine.docker('history', '--format', '{{.Comment}}', 'imp:v1'));
  assert.equal(hist.trim(), 'from test');
  const out = ok(await engine.docker('rmi', 'imp:v1'));
  assert.match(out, /Untagged: imp:v1/);
  assert.match(out, new RegExp(`Deleted: ${id}`));
  // The busybox layer is still used by busybox: still on disk.
  assert.ok(fs.existsSync(path.join(bb.GraphDriver.Data.UpperDir, 'bin', 'busybox')));
});

test('docker import rejects a hostile tarball and writes nothing outside', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-sentinel-'));
  try {
    const sentinel = path.join(dir, 'sentinel');
    const depth = '../'.repeat(30);
    const evil = tarArchive([
      { header: { path: 'ok.txt' }, data: Buffer.from('fine') },
      { header: { path: `${depth}${sentinel.slice(1)}` }, data: Buffer.from('pwned') },
    ]);
    const r = await engine.dockerInput(evil, 'import', '-', 'evil:v1');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /escapes the layer root/);
    assert.equal(fs.existsSync(sentinel), false);
    const images = ok(await engine.docker('images', '--format', '{{.Repository}}'));
    assert.doesNotMatch(images, /evil/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('docker load rejects a hostile archive; nothing outside is written', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-sentinel-'));
  try {
    const layer = tarArchive([
      { header: { path: 'link', type: 'symlink', linkpath: dir } },
      { header: { path: 'link/sentinel' }, data: Buffer.from('pwned') },
    ]);
    const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
    const archive = tarArchive([
      { header: { path: 'layer.tar' }, data: layer },
      { header: { path: 'config.json' }, data: cfg },
      { header: { path: 'manifest.json' }, data: Buffer.from(JSON.stringify([{ Config: 'config.json', RepoTags: ['evil:load'], Layers: ['layer.tar'] }])) },
    ]);
    const r = await engine.dockerInput(archive, 'load');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /through the symlink "link"/);
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.doesNotMatch(ok(await engine.docker('images', '--format', '{{.Repository}}')), /evil/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a moved tag leaves a dangling image; dangling filter and image prune', async () => {
  const { layer } = busyboxImage();
  const first = ok(await engine.dockerInput(layer, 'import', '--change', 'CMD ["one"]', '-', 'moving:1')).trim();
  const second = ok(await engine.dockerInput(layer, 'import', '--change', 'CMD ["two"]', '-', 'moving:1')).trim();
  assert.notEqual(first, second);
  const dangling = ok(await engine.docker('images', '--filter', 'dangling=true', '-q', '--no-trunc')).trim();
  assert.equal(dangling, first);
  const listed = ok(await engine.docker('images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'));
  assert.match(listed, new RegExp(`<none>:<none> ${first.slice(7, 19)}`));
  const pruned = ok(await engine.docker('image', 'prune', '-f'));
  assert.match(pruned, new RegExp(`deleted: ${first}`));
  assert.match(pruned, /Total reclaimed space/);
  assert.equal(ok(await engine.docker('images', '--filter', 'dangling=true', '-q')).trim(), '');
  ok(await engine.docker('rmi', 'moving:1'));
});

test('docker save | docker load round-trips with the same id', async () => {
  ok(await engine.docker('tag', 'busybox', 'rt:one'));
  const file = path.join(engine.dataDir, '..', 'saved.tar');
  ok(await engine.docker('save', '-o', file, 'rt:one', 'busybox'));
  const names = ok(await engine.sh(`tar tf ${file}`)).split('\n');
  assert.ok(names.includes('manifest.json') && names.includes('index.json') && names.includes('oci-layout'));
  ok(await engine.docker('rmi', 'rt:one'));
  ok(await engine.docker('rmi', 'busybox'));
  assert.equal(ok(await engine.docker('images', '-q')).trim(), '');
  const loaded = ok(await engine.docker('load', '-i', file));
  assert.match(loaded, /Loaded image: rt:one/);
  assert.match(loaded, /Loaded image: busybox:latest/);
  assert.equal(ok(await engine.docker('image', 'inspect', '--format', '{{.Id}}', 'rt:one')).trim(), busyboxId);
  // Through a pipe as well.
  const piped = ok(await engine.sh('docker save busybox | docker load'));
  assert.match(piped, /Loaded image: busybox:latest/);
  assert.equal(ok(await engine.docker('image', 'inspect', '--format', '{{.Id}}', 'busybox')).trim(), busyboxId);
  ok(await engine.docker('rmi', 'rt:one'));
});

test('a client that leaves in the middle of a save does not wedge the engine', async () => {
  const http = await import('node:http');
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ socketPath: engine.socket, path: '/v1.50/images/get?names=busybox' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
      req.end();
    });
  }
  const r = await engine.sh('docker save busybox | tar t | grep -c "blobs/sha256/[0-9a-f]"');
  assert.equal(r.stdout.trim(), '3');
});

test('an unknown image fails cleanly: pull access denied', async () => {
  const r = await engine.docker('pull', 'nosuch/thing:1');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /pull access denied for nosuch\/thing, repository does not exist/);
  // An image that is here is "up to date" (no registry needed).
  const here = await engine.docker('pull', 'busybox');
  assert.equal(here.code, 0, here.stderr);
  assert.match(here.stdout, /Status: Image is up to date for busybox:latest/);
  const run = await engine.docker('run', '--rm', 'nosuch-image', 'true');
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /pull access denied for nosuch-image/);
});

test('rmi refuses an image a container uses unless forced; run works over the shared layers', async (t) => {
  if ((await engine.docker('ps', '-a')).code !== 0) return t.skip('this engine has no container manager yet');
  const run = await engine.docker('run', '--name', 'user1', 'busybox', 'echo', 'hi');
  assert.equal(run.code, 0, run.stderr + engine.log());
  assert.equal(run.stdout, 'hi\n');
  const byId = await engine.docker('rmi', busyboxId.slice(7, 19));
  assert.notEqual(byId.code, 0);
  assert.match(byId.stderr, new RegExp(`conflict: unable to delete ${busyboxId.slice(7, 19)} \\(must be forced\\) - image is being used by stopped container [a-f0-9]{12}`));
  const byName = await engine.docker('rmi', 'busybox');
  assert.notEqual(byName.code, 0);
  assert.match(byName.stderr, /conflict: unable to remove repository reference "busybox" \(must force\) - container [a-f0-9]{12} is using its referenced image/);
  const n = ok(await engine.docker('images', '--format', '{{.Containers}}'));
  void n;
  ok(await engine.docker('rm', 'user1'));
  assert.equal(ok(await engine.docker('images', '-q')).trim(), busyboxId.slice(7, 19));
});
