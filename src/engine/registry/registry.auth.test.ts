/**
 * Registry auth end to end with the real registry: Docker's token flow (a Bearer challenge, a token server
 * granting pull to anyone and push to one user) and htpasswd basic auth, credentials coming from the docker
 * CLI's config.json through X-Registry-Auth.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, startEngine, type DockerResult, type EngineHandle } from '../../../test/engine';
import { startRegistry, type TestRegistry } from './testing/registry';
import { startTokenServer, type TokenServer } from './testing/token-server';
import { selfSignedCert } from './testing/certs';
import { httpRequest, tlsFilesFor } from './http';
import { credentialsFromConfig } from './auth';
import { RegistryClient } from './service';
import { ImageService } from '../images/service';
import { LayerStore } from '../snapshot/layers';

const root = process.getuid?.() === 0;
const USER = { name: 'alice', password: 's3cret' };
let tokens: TokenServer;
let tokenReg: TestRegistry;
let basicReg: TestRegistry;
let tlsReg: TestRegistry;
let tlsCert: { certPem: string; keyPem: string };
/** Logged in (config.json) to both registries. */
let a: EngineHandle;
/** Anonymous. */
let b: EngineHandle;

before(async () => {
  if (!root) return;
  tokens = await startTokenServer(USER);
  tokenReg = await startRegistry({ token: tokens });
  basicReg = await startRegistry({ htpasswd: { user: USER.name, password: USER.password } });
  tlsCert = selfSignedCert();
  tlsReg = await startRegistry({ tls: tlsCert });
  a = await startEngine({ busybox: true });
  b = await startEngine();
  // What `docker login` leaves behind, in the CLI config of engine a's runner.
  const auth = Buffer.from(`${USER.name}:${USER.password}`).toString('base64');
  const cfgDir = path.join(a.dataDir, '..', 'docker-config');
  fs.mkdirSync(cfgDir, { recursive: true });
  fs.writeFileSync(path.join(cfgDir, 'config.json'), JSON.stringify({ auths: { [tokenReg.host]: { auth }, [basicReg.host]: { auth } } }));
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await tokenReg?.stop();
  await basicReg?.stop();
  await tlsReg?.stop();
  await tokens?.close();
});


function ok(r: DockerResult): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

test('token auth: push with credentials, anonymous pull, anonymous push refused', { skip: !root }, async () => {
  const ref = `${tokenReg.host}/team/bb:1`;
  ok(await a.docker('tag', 'busybox', ref));
  assert.match(ok(await a.docker('push', ref)), /1: digest: sha256:[a-f0-9]{64} size: \d+/);
  assert.ok(tokens.requests.some((r) => r.user === USER.name && r.granted.includes('team/bb:pull,push')), JSON.stringify(tokens.requests));
  const before = tokens.requests.length;
  assert.match(ok(await b.docker('pull', ref)), /Status: Downloaded newer image/);
  assert.ok(tokens.requests.slice(before).every((r) => r.user === undefined), 'b asked anonymously');
  const denied = await b.docker('push', ref);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr + denied.stdout, /unauthorized|denied/i);
});

test('skiff push sends the credentials of config.json like docker', { skip: !root }, async () => {
  const skiff = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'skiff');
  const ref = `${tokenReg.host}/team/skiff:1`;
  ok(await a.docker('tag', 'busybox', ref));
  const cfgDir = path.join(a.dataDir, '..', 'docker-config');
  const withCreds = await run(process.execPath, [skiff, 'push', ref], { ...process.env, DOCKER_HOST: a.host, DOCKER_CONFIG: cfgDir });
  assert.equal(withCreds.code, 0, withCreds.stderr);
  assert.match(withCreds.stdout, /1: digest: sha256:/);
  const anon = await run(process.execPath, [skiff, 'push', ref], { ...process.env, DOCKER_HOST: a.host, DOCKER_CONFIG: path.join(a.dataDir, '..', 'nowhere') });
  assert.notEqual(anon.code, 0);
});

test('basic auth: push and pull with credentials; without them the pull is denied', { skip: !root }, async () => {
  const ref = `${basicReg.host}/team/bb:1`;
  ok(await a.docker('tag', 'busybox', ref));
  ok(await a.docker('push', ref));
  ok(await a.docker('rmi', ref));
  assert.match(ok(await a.docker('pull', ref)), /Digest: sha256:/);
  const anon = await b.docker('pull', ref);
  assert.equal(anon.code, 1);
  assert.match(anon.stderr, new RegExp(`pull access denied for ${basicReg.host}/team/bb, repository does not exist or may require 'docker login'`));
});

test('a loopback registry that speaks only TLS: reached over HTTPS (unverified, as Docker treats loopback as insecure)', { skip: !root }, async () => {
  const ref = `${tlsReg.host}/tls/bb:1`;
  ok(await a.docker('tag', 'busybox', ref));
  assert.match(ok(await a.docker('push', ref)), /1: digest: sha256:/);
  assert.match(ok(await b.docker('pull', ref)), /Status: Downloaded newer image/);
  ok(await b.docker('rmi', ref));
});

test('verified TLS: a CA from certs.d/<host>/ca.crt is trusted, an unknown certificate is not', { skip: !root }, async () => {
  const certs = path.join(a.dataDir, '..', 'certs.d');
  fs.mkdirSync(path.join(certs, tlsReg.host), { recursive: true });
  fs.writeFileSync(path.join(certs, tlsReg.host, 'ca.crt'), tlsCert.certPem);
  const url = `https://${tlsReg.host}/v2/`;
  const res = await httpRequest(url, { method: 'GET', headers: {}, tls: tlsFilesFor(certs, tlsReg.host) });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  await assert.rejects(httpRequest(url, { method: 'GET', headers: {}, tls: tlsFilesFor(certs, 'other:1') }), /self[- ]signed certificate/);
});

test('in process: ImageService.pull with credentials (the node agent\'s imagePullSecrets path)', { skip: !root }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-regcreds-'));
  try {
    const images = new ImageService({ dataDir: dir, layers: new LayerStore(path.join(dir, 'snapshots')) });
    // No config.json here: credentials come only from the call.
    const client = new RegistryClient(images, { dockerConfig: path.join(dir, 'none.json'), certsDir: path.join(dir, 'certs.d') });
    images.setPuller((ref, credentials) => client.pullShared(ref, credentials));
    const ref = `${basicReg.host}/team/bb:1`;
    await assert.rejects(images.pull(ref), /pull access denied/);
    const secret = { auths: { [basicReg.host]: { auth: Buffer.from(`${USER.name}:${USER.password}`).toString('base64') } } };
    await images.pull(ref, credentialsFromConfig(secret, basicReg.host));
    assert.equal((await images.resolve(ref)).repoTags[0], ref);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('docker login checks the credentials through the engine, then push works', { skip: !root }, async () => {
  for (const reg of [tokenReg, basicReg]) {
    const bad = await b.dockerInput('wrong\n', 'login', '-u', USER.name, '--password-stdin', reg.host);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /login attempt to http:\/\/127\.0\.0\.1:\d+\/v2\/ failed with status: 401 Unauthorized/);
    const good = await b.dockerInput(`${USER.password}\n`, 'login', '-u', USER.name, '--password-stdin', reg.host);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /Login Succeeded/);
  }
  const ref = `${tokenReg.host}/team/bb:1`;
  ok(await b.docker('tag', ref, `${tokenReg.host}/team/from-b:1`));
  assert.match(ok(await b.docker('push', `${tokenReg.host}/team/from-b:1`)), /1: digest: sha256:/);
});
