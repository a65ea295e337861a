/**
 * End to end with the real docker CLI and the real registry (Debian's docker-registry on 127.0.0.1): push,
 * rmi, pull round-trips with a stable digest; `docker run` of a missing image pulls it; registry errors in
 * Docker's words; an image pushed by a foreign client (skopeo, gzip layers) and an OCI index pull; skiff's
 * own pull/push verbs; a blob tampered with in the registry is refused and leaves nothing behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { run, startEngine, type DockerResult, type EngineHandle } from '../../../test/engine';
import { freePort, startRegistry, type TestRegistry } from './testing/registry';

const root = process.getuid?.() === 0;
let reg: TestRegistry;
/** Has busybox; pushes. */
let a: EngineHandle;
/** Starts empty; pulls. */
let b: EngineHandle;
let pushedDigest = '';
let busyboxId = '';

before(async () => {
  if (!root) return;
  reg = await startRegistry();
  a = await startEngine({ busybox: true });
  b = await startEngine();
  busyboxId = ok(await a.docker('image', 'inspect', '--format', '{{.Id}}', 'busybox')).trim();
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await reg?.stop();
});

function ok(r: DockerResult): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}


/** Every blob file in an engine's content store. */
function blobs(e: EngineHandle): string[] {
  const dir = path.join(e.dataDir, 'content', 'blobs', 'sha256');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

test('docker push, rmi, pull: the digest is stable and RepoDigests name it', { skip: !root }, async () => {
  const ref = `${reg.host}/test/bb:1`;
  ok(await a.docker('tag', 'busybox', ref));
  const out = ok(await a.docker('push', ref));
  assert.match(out, new RegExp(`^The push refers to repository \\[${reg.host}/test/bb\\]$`, 'm'));
  assert.match(out, /^[a-f0-9]{12}: Pushed$/m);
  const m = /^1: digest: (sha256:[a-f0-9]{64}) size: (\d+)$/m.exec(out);
  assert.ok(m, out);
  pushedDigest = m[1];
  // The push recorded the digest (docker images --digests, RepoDigests).
  const digests = ok(await a.docker('image', 'inspect', '--format', '{{json .RepoDigests}}', ref));
  assert.deepEqual(JSON.parse(digests), [`${reg.host}/test/bb@${pushedDigest}`]);
  // Pushing again: every blob is already there.
  assert.match(ok(await a.docker('push', ref)), /: Layer already exists$/m);
  // Into another repository of the same registry: the layer is mounted, not uploaded again.
  ok(await a.docker('tag', 'busybox', `${reg.host}/mounted/bb:1`));
  assert.match(ok(await a.docker('push', `${reg.host}/mounted/bb:1`)), /^[a-f0-9]{12}: Mounted from test\/bb$/m);

  const pulled = ok(await b.docker('pull', ref));
  assert.match(pulled, /^1: Pulling from test\/bb$/m);
  assert.match(pulled, /: Pull complete$/m);
  assert.match(pulled, new RegExp(`^Digest: ${pushedDigest}$`, 'm'));
  assert.match(pulled, new RegExp(`^Status: Downloaded newer image for ${reg.host}/test/bb:1$`, 'm'));
  assert.equal(ok(await b.docker('image', 'inspect', '--format', '{{.Id}}', ref)).trim(), busyboxId);
  // Pulling again is a no-op.
  assert.match(ok(await b.docker('pull', ref)), new RegExp(`Status: Image is up to date for ${reg.host}/test/bb:1`));
  // rmi then pull: same digest, same id; by digest too.
  ok(await b.docker('rmi', ref));
  assert.deepEqual(blobs(b), []);
  assert.match(ok(await b.docker('pull', ref)), new RegExp(`^Digest: ${pushedDigest}$`, 'm'));
  assert.equal(ok(await b.docker('images', '--digests', '--format', '{{.Digest}}', `${reg.host}/test/bb`)).trim(), pushedDigest);
  const byDigest = ok(await b.docker('pull', `${reg.host}/test/bb@${pushedDigest}`));
  assert.match(byDigest, new RegExp(`^Digest: ${pushedDigest}$`, 'm'));
  ok(await b.docker('rmi', ref));
});

test('docker run of an image that is not here pulls it first', { skip: !root }, async () => {
  const ref = `${reg.host}/test/bb:1`;
  const r = await b.docker('run', '--rm', ref, 'echo', 'pulled-and-ran');
  assert.equal(r.code, 0, r.stderr + b.log());
  assert.equal(r.stdout, 'pulled-and-ran\n');
  assert.match(r.stderr, new RegExp(`Unable to find image '${reg.host}/test/bb:1' locally`));
  assert.match(r.stderr, /Pull complete|Already exists/);
  ok(await b.docker('rmi', ref));
});

test('missing tags and repositories, unreachable registries: Docker\'s errors, nothing stored', { skip: !root }, async () => {
  const before = blobs(b);
  const tag = await b.docker('pull', `${reg.host}/test/bb:nope`);
  assert.equal(tag.code, 1);
  assert.equal(tag.stderr, `Error response from daemon: manifest for ${reg.host}/test/bb:nope not found: manifest unknown: manifest unknown\n`);
  const repo = await b.docker('pull', `${reg.host}/no/such:1`);
  assert.equal(repo.code, 1);
  assert.match(repo.stderr, /^Error response from daemon: (manifest for .* not found: manifest unknown|repository .* not found: name unknown)/);
  const runMissing = await b.docker('run', '--rm', `${reg.host}/test/bb:nope`, 'true');
  assert.equal(runMissing.code, 125);
  assert.match(runMissing.stderr, /manifest for .*test\/bb:nope not found: manifest unknown: manifest unknown/);
  const arm = await b.docker('pull', '--platform', 'linux/arm64', `${reg.host}/test/bb:1`);
  assert.equal(arm.code, 1);
  assert.match(arm.stderr, new RegExp(`image with reference ${reg.host}/test/bb:1 was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64`));
  const closed = await freePort();
  const refused = await b.docker('pull', `127.0.0.1:${closed}/x/y:1`);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, `Error response from daemon: Get "http://127.0.0.1:${closed}/v2/": dial tcp 127.0.0.1:${closed}: connect: connection refused\n`);
  // Registries off loopback are not contacted unless allowed: a missing image is denied as before.
  const offline = await b.docker('pull', 'nosuch/thing:1');
  assert.match(offline.stderr, /pull access denied for nosuch\/thing, repository does not exist/);
  assert.deepEqual(blobs(b), before);
  // Push of something that is not here.
  const nopush = await a.docker('push', `${reg.host}/test/none:1`);
  assert.equal(nopush.code, 1);
  assert.equal(nopush.stdout, `The push refers to repository [${reg.host}/test/none]\n`);
  assert.equal(nopush.stderr, `An image does not exist locally with the tag: ${reg.host}/test/none\n`);
  const notag = await a.docker('push', `${reg.host}/test/bb:nope`);
  assert.equal(notag.code, 1);
  assert.equal(notag.stderr, `tag does not exist: ${reg.host}/test/bb:nope\n`);
});

test('an image pushed by skopeo (gzip layers) and an OCI index pull and run', { skip: !root }, async () => {
  // busybox as an OCI layout directory (docker save writes both formats), copied by skopeo.
  const dir = path.join(a.dataDir, '..', 'oci');
  fs.mkdirSync(dir);
  ok(await a.sh(`docker save busybox | tar -x -C ${dir}`));
  const cp = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${dir}:latest`, `docker://${reg.host}/foreign/bb:1`]);
  assert.equal(cp.code, 0, cp.stderr);
  const manifestRes = await fetch(`http://${reg.host}/v2/foreign/bb/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } });
  const manifestBytes = Buffer.from(await manifestRes.arrayBuffer());
  const manifest = JSON.parse(manifestBytes.toString());
  assert.match(manifest.layers[0].mediaType, /gzip/, 'skopeo compressed the layer');
  const r = await b.docker('run', '--rm', `${reg.host}/foreign/bb:1`, 'echo', 'foreign');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'foreign\n');
  assert.equal(ok(await b.docker('image', 'inspect', '--format', '{{.Id}}', `${reg.host}/foreign/bb:1`)).trim(), busyboxId);

  // An OCI index over that manifest: the pull picks linux/amd64 and records the index digest.
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: manifestRes.headers.get('content-type'), digest: `sha256:${crypto.createHash('sha256').update(manifestBytes).digest('hex')}`, size: manifestBytes.length, platform: { os: 'linux', architecture: 'amd64' } }],
    }),
  );
  const put = await fetch(`http://${reg.host}/v2/foreign/bb/manifests/multi`, { method: 'PUT', headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' }, body: index });
  assert.equal(put.status, 201, await put.text());
  const indexDigest = `sha256:${crypto.createHash('sha256').update(index).digest('hex')}`;
  const pulled = ok(await b.docker('pull', `${reg.host}/foreign/bb:multi`));
  assert.match(pulled, new RegExp(`^Digest: ${indexDigest}$`, 'm'));
  const rd = JSON.parse(ok(await b.docker('image', 'inspect', '--format', '{{json .RepoDigests}}', `${reg.host}/foreign/bb:multi`)));
  assert.ok(rd.includes(`${reg.host}/foreign/bb@${indexDigest}`), JSON.stringify(rd));
  const arm = await b.docker('pull', '--platform', 'linux/arm64', `${reg.host}/foreign/bb:multi`);
  assert.equal(arm.code, 1);
  assert.match(arm.stderr, /no matching manifest for linux\/arm64 in the manifest list entries/);
  ok(await b.docker('rmi', `${reg.host}/foreign/bb:1`, `${reg.host}/foreign/bb:multi`));
});

test('skiff pull and push', { skip: !root }, async () => {
  const skiff = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'skiff');
  const envA = { ...process.env, DOCKER_HOST: a.host };
  const envB = { ...process.env, DOCKER_HOST: b.host };
  ok(await a.docker('tag', 'busybox', `${reg.host}/skiff/bb:2`));
  const pushed = ok(await run(process.execPath, [skiff, 'push', `${reg.host}/skiff/bb:2`], envA));
  assert.match(pushed, new RegExp(`2: digest: ${pushedDigest} size: \\d+`));
  const pulled = ok(await run(process.execPath, [skiff, 'pull', `${reg.host}/skiff/bb:2`], envB));
  assert.match(pulled, new RegExp(`Status: Downloaded newer image for ${reg.host}/skiff/bb:2\n${reg.host}/skiff/bb:2\n$`));
  // Same lines as docker's own pull once the image is here.
  const again = ok(await run(process.execPath, [skiff, 'pull', `${reg.host}/skiff/bb:2`], envB));
  assert.equal(again, ok(await b.docker('pull', `${reg.host}/skiff/bb:2`)));
  const bad = await run(process.execPath, [skiff, 'pull', `${reg.host}/skiff/bb:nope`], envB);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /manifest for .*skiff\/bb:nope not found: manifest unknown: manifest unknown/);
  ok(await b.docker('rmi', `${reg.host}/skiff/bb:2`));
});

test('push -a and pull -a move every tag of a repository', { skip: !root }, async () => {
  const repo = `${reg.host}/multi/bb`;
  ok(await a.docker('tag', 'busybox', `${repo}:x`));
  ok(await a.docker('tag', 'busybox', `${repo}:y`));
  const pushed = ok(await a.docker('push', '-a', repo));
  assert.match(pushed, /^x: digest: sha256:[a-f0-9]{64} size: \d+$/m);
  assert.match(pushed, /^y: digest: sha256:[a-f0-9]{64} size: \d+$/m);
  const pulled = ok(await b.docker('pull', '-a', repo));
  assert.match(pulled, /^x: Pulling from multi\/bb$/m);
  assert.match(pulled, /^y: Pulling from multi\/bb$/m);
  assert.match(pulled, new RegExp(`^Status: Downloaded newer image for ${repo}$`, 'm'));
  assert.deepEqual(ok(await b.docker('images', '--format', '{{.Tag}}', repo)).trim().split('\n').sort(), ['x', 'y']);
  ok(await b.docker('rmi', `${repo}:x`, `${repo}:y`));
});

test('a layer download cut off midway is retried and the pull completes', { skip: !root }, async () => {
  // A proxy in front of the registry that drops the connection halfway through the first blob download.
  let cut = 0;
  const proxy = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: reg.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      const blob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '') && Number(ur.headers['content-length']) > 100_000;
      if (blob && cut === 0) {
        cut++;
        let sent = 0;
        ur.on('data', (c: Buffer) => {
          sent += c.length;
          if (sent > 50_000) {
            ur.destroy();
            res.destroy();
          } else res.write(c);
        });
        return;
      }
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(proxy.address() as import('node:net').AddressInfo).port}`;
  try {
    const out = ok(await b.docker('pull', `${host}/test/bb:1`));
    assert.equal(cut, 1, 'the proxy cut one download');
    assert.match(out, /: Retrying in 1 second$/m);
    assert.match(out, new RegExp(`^Digest: ${pushedDigest}$`, 'm'));
    assert.equal(ok(await b.docker('image', 'inspect', '--format', '{{.Id}}', `${host}/test/bb:1`)).trim(), busyboxId);
    assert.deepEqual(fs.readdirSync(path.join(b.dataDir, 'content', 'ingest')), []);
    ok(await b.docker('rmi', `${host}/test/bb:1`));
  } finally {
    proxy.closeAllConnections();
    await new Promise<void>((r) => proxy.close(() => r()));
  }
});

test('a client that leaves in the middle of a pull cancels it and nothing is left behind', { skip: !root }, async () => {
  // A proxy that serves half of a blob, then stalls until the pull is abandoned.
  let stalled = false;
  let proxied: Array<import('node:http').ServerResponse> = [];
  const proxy = http.createServer((req, res) => {
    proxied.push(res);
    const up = http.request({ host: '127.0.0.1', port: reg.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '') && Number(ur.headers['content-length']) > 100_000) {
        let sent = 0;
        ur.on('data', (c: Buffer) => {
          if (sent > 50_000) {
            stalled = true;
            ur.pause();
            return;
          }
          sent += c.length;
          res.write(c);
        });
        return;
      }
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(proxy.address() as import('node:net').AddressInfo).port}`;
  const before = blobs(b);
  const ingest = path.join(b.dataDir, 'content', 'ingest');
  try {
    const child = spawn('docker', ['pull', `${host}/test/bb:1`], { env: { ...process.env, DOCKER_HOST: b.host }, stdio: 'ignore' });
    const deadline = Date.now() + 60_000;
    while (!(stalled && fs.readdirSync(ingest).length > 0)) {
      assert.ok(Date.now() < deadline, 'the download started and stalled');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    while (fs.readdirSync(ingest).length > 0) {
      assert.ok(Date.now() < deadline + 30_000, 'the engine dropped the partial download');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(blobs(b), before);
    assert.equal((await b.docker('image', 'inspect', `${host}/test/bb:1`)).code, 1);
  } finally {
    for (const r of proxied) r.destroy();
    proxied = [];
    proxy.closeAllConnections();
    await new Promise<void>((r) => proxy.close(() => r()));
  }
});

test('docker.io images come from a registry mirror (SKIFF_REGISTRY_MIRRORS)', { skip: !root }, async () => {
  ok(await a.docker('tag', 'busybox', `${reg.host}/library/mirrored:1`));
  ok(await a.docker('push', `${reg.host}/library/mirrored:1`));
  const c = await startEngine({ env: { SKIFF_REGISTRY_MIRRORS: `http://${reg.host}` } });
  try {
    const out = ok(await c.docker('pull', 'mirrored:1'));
    assert.match(out, /^1: Pulling from library\/mirrored$/m);
    assert.match(out, /^Status: Downloaded newer image for mirrored:1$/m);
    const img = JSON.parse(ok(await c.docker('image', 'inspect', '--format', '{{json .}}', 'mirrored:1')));
    assert.equal(img.Id, busyboxId);
    assert.match(img.RepoDigests[0], /^mirrored@sha256:[a-f0-9]{64}$/);
    const missing = await c.docker('pull', 'nosuch:1');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /manifest for nosuch:1 not found: manifest unknown: manifest unknown/);
  } finally {
    await c.stop();
  }
});

test('a layer tampered with in the registry is refused and nothing is left in the store', { skip: !root }, async () => {
  // A second image with its own layer (import), pushed, then its layer blob overwritten on the registry's disk.
  ok(await a.sh(`mkdir -p ${a.dataDir}/../rootfs && echo hostile > ${a.dataDir}/../rootfs/f && tar -C ${a.dataDir}/../rootfs -c f | docker import - ${reg.host}/evil/img:1`));
  ok(await a.docker('push', `${reg.host}/evil/img:1`));
  const manifest = (await (await fetch(`http://${reg.host}/v2/evil/img/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } })).json()) as { layers: Array<{ digest: string }> };
  const hex = manifest.layers[0].digest.slice(7);
  const data = path.join(reg.dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  const orig = fs.readFileSync(data);
  const evil = Buffer.from(orig);
  evil[evil.length - 1] ^= 0xff; // same size, other content
  fs.writeFileSync(data, evil);
  const before = blobs(b);
  const r = await b.docker('pull', `${reg.host}/evil/img:1`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr + r.stdout, new RegExp(`filesystem layer verification failed for digest sha256:${hex}`));
  assert.deepEqual(blobs(b), before, 'no blob left behind');
  assert.equal((await b.docker('image', 'inspect', `${reg.host}/evil/img:1`)).code, 1);
  assert.deepEqual(fs.readdirSync(path.join(b.dataDir, 'content', 'ingest')), []);
});
