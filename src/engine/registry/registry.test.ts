/** Pure parts of the registry client: challenges, credentials, error wording, manifest choice. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { credentialsFromConfig, decodeRegistryAuth, parseChallenges, readDockerConfig } from './auth';
import { RegistryHttpError, parseErrorBody, pullError, transportErrorText } from './errors';
import { parseDocument, pickPlatform } from './manifest';
import { endpointsOf, isLoopbackHost } from './transport';

const D = (c: string) => 'sha256:' + c.repeat(64);

test('WWW-Authenticate challenges', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/x:pull,push"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/x:pull,push' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  assert.deepEqual(
    parseChallenges('Basic realm=x, Bearer realm="a\\"b"').map((c) => [c.scheme, c.params.realm]),
    [['basic', 'x'], ['bearer', 'a"b']],
  );
  assert.deepEqual(parseChallenges(undefined), []);
});

test('X-Registry-Auth and config.json credentials', () => {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  assert.equal(decodeRegistryAuth('e30='), undefined);
  assert.equal(decodeRegistryAuth('not base64 json'), undefined);
  assert.deepEqual(decodeRegistryAuth(enc({ username: 'u', password: 'p', serveraddress: 'h' })), { username: 'u', password: 'p', identityToken: undefined, registryToken: undefined });
  assert.equal(decodeRegistryAuth(enc({ auth: Buffer.from('al:ice:pw').toString('base64') }))?.password, 'ice:pw');
  assert.equal(decodeRegistryAuth(enc({ identitytoken: 't' }))?.identityToken, 't');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-auth-'));
  try {
    const f = path.join(dir, 'config.json');
    fs.writeFileSync(f, JSON.stringify({ auths: { '127.0.0.1:5000': { auth: Buffer.from('bob:pw').toString('base64') }, 'https://index.docker.io/v1/': { auth: Buffer.from('hub:x').toString('base64') } } }));
    assert.deepEqual(readDockerConfig('127.0.0.1:5000', f)?.username, 'bob');
    assert.deepEqual(readDockerConfig('docker.io', f)?.username, 'hub');
    assert.equal(readDockerConfig('other:1', f), undefined);
    assert.equal(readDockerConfig('x', path.join(dir, 'missing.json')), undefined);
    // A kubernetes.io/dockercfg secret (legacy shape, no "auths") and a dockerconfigjson one.
    const legacy = { 'reg:5000': { auth: Buffer.from('k8s:pw').toString('base64') } };
    assert.equal(credentialsFromConfig(legacy, 'reg:5000')?.username, 'k8s');
    assert.equal(credentialsFromConfig({ auths: { 'https://reg:5000': { username: 'u2', password: 'p' } } }, 'reg:5000')?.username, 'u2');
    assert.equal(credentialsFromConfig(null, 'reg:5000'), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("registry errors in moby's words", () => {
  const body = (code: string, message: string) => JSON.stringify({ errors: [{ code, message, detail: {} }] });
  const e = (code: string, message: string, status = 404) => new RegistryHttpError(status, parseErrorBody(body(code, message)), 'GET x');
  assert.equal(pullError(e('MANIFEST_UNKNOWN', 'manifest unknown'), 'h:5/a', 'h:5/a:1').message, 'manifest for h:5/a:1 not found: manifest unknown: manifest unknown');
  assert.equal(pullError(e('MANIFEST_UNKNOWN', 'manifest unknown'), 'h:5/a', 'h:5/a:1').code, 'NotFound');
  assert.equal(pullError(e('NAME_UNKNOWN', 'repository name not known to registry'), 'h:5/a', 'h:5/a:1').message, 'repository h:5/a not found: name unknown: repository name not known to registry');
  assert.equal(
    pullError(e('DENIED', 'requested access to the resource is denied', 403), 'me/x', 'me/x:1').message,
    "pull access denied for me/x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
  );
  assert.equal(pullError(new RegistryHttpError(500, [], 'GET x'), 'a', 'a:1').code, 'Unavailable');
  assert.deepEqual(parseErrorBody('<html>'), []);
  const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  assert.equal(transportErrorText('GET', 'http://127.0.0.1:5999/v2/', refused), 'Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused');
});

test('scheme and loopback', () => {
  assert.ok(isLoopbackHost('localhost:5000') && isLoopbackHost('127.0.0.1:1') && isLoopbackHost('[::1]:5000'));
  assert.ok(!isLoopbackHost('10.0.0.1:5000') && !isLoopbackHost('docker.io'));
  // Insecure (listed or loopback): HTTPS without verification first, then HTTP, as Docker tries them.
  assert.deepEqual(endpointsOf('127.0.0.1:5000', false), ['https://127.0.0.1:5000', 'http://127.0.0.1:5000']);
  assert.deepEqual(endpointsOf('reg.example:5000', false), ['https://reg.example:5000']);
  assert.deepEqual(endpointsOf('reg.example:5000', true), ['https://reg.example:5000', 'http://reg.example:5000']);
  assert.deepEqual(endpointsOf('docker.io', false), ['https://registry-1.docker.io']);
});

test('manifests: kinds, checks, platform choice', () => {
  const m = { schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', config: { mediaType: 'x', digest: D('a'), size: 2 }, layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: D('b'), size: 3 }] };
  const doc = parseDocument(Buffer.from(JSON.stringify(m)), null);
  assert.equal(doc.kind, 'manifest');
  // No mediaType field: the Content-Type decides (OCI manifests may omit it).
  const { mediaType: _omit, ...bare } = m;
  void _omit;
  assert.equal(parseDocument(Buffer.from(JSON.stringify(bare)), 'application/vnd.oci.image.manifest.v1+json').kind, 'manifest');
  assert.throws(() => parseDocument(Buffer.from(JSON.stringify({ ...m, layers: [{ ...m.layers[0], digest: 'sha256:zz' }] })), null), /invalid layer digest/);
  assert.throws(() => parseDocument(Buffer.from(JSON.stringify({ ...m, layers: [{ ...m.layers[0], mediaType: 'application/x-weird' }] })), null), /unsupported layer media type/);
  assert.throws(() => parseDocument(Buffer.from(JSON.stringify({ schemaVersion: 1, fsLayers: [] })), null), /Schema 1/);
  assert.throws(() => parseDocument(Buffer.from('{'), null), /not valid JSON/);
  const idx = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('1'), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('2'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
  ] };
  const i = parseDocument(Buffer.from(JSON.stringify(idx)), null);
  assert.equal(i.kind, 'index');
  assert.equal(pickPlatform(idx as never, 'linux', 'amd64').digest, D('2'));
  assert.throws(() => pickPlatform(idx as never, 'linux', 's390x'), /no matching manifest for linux\/s390x in the manifest list entries/);
});
