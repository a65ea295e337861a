import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarString, parseReference, parseTagged, referenceString, withDefaultTag } from './reference';
import { isSkiffError } from '../../common/errors';

test('normalises like Docker', () => {
  const cases: Array<[string, string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['me/app:v1', 'docker.io/me/app:v1', 'me/app:v1'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/a/b:c', 'localhost:5000/a/b:c', 'localhost:5000/a/b:c'],
    ['quay.io/x/y', 'quay.io/x/y:latest', 'quay.io/x/y:latest'],
    ['my-app/x_y', 'docker.io/my-app/x_y:latest', 'my-app/x_y:latest'],
  ];
  for (const [input, full, familiar] of cases) {
    const r = withDefaultTag(parseReference(input));
    assert.equal(referenceString(r), full, input);
    assert.equal(familiarString(r), familiar, input);
  }
});

test('digests', () => {
  const d = 'sha256:' + 'a'.repeat(64);
  const r = parseReference(`busybox@${d}`);
  assert.equal(r.digest, d);
  assert.equal(r.tag, undefined);
  assert.equal(familiarString(r), `busybox@${d}`);
  assert.equal(referenceString(withDefaultTag(r)), `docker.io/library/busybox@${d}`);
});

test('rejects malformed references with Docker wording', () => {
  for (const bad of ['Busybox', 'a:b:c', '', 'a//b', '-a', 'a:', 'busybox:' + 'x'.repeat(200), 'a@sha256:xyz']) {
    assert.throws(() => parseReference(bad), (e) => isSkiffError(e, 'InvalidArgument'), bad);
  }
  assert.throws(() => parseReference('Busybox'), /repository name \(library\/Busybox\) must be lowercase/);
  assert.throws(() => parseReference('a'.repeat(64)), /cannot specify 64-byte hexadecimal strings/);
  assert.throws(() => parseTagged(`busybox@sha256:${'b'.repeat(64)}`), /digest/);
});

test('uppercase domain is a domain, not a path', () => {
  const r = parseReference('Example.COM/app');
  assert.equal(r.domain, 'Example.COM');
  assert.equal(r.path, 'app');
});
