import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SkiffError, httpStatusOf, isSkiffError, notFound } from './errors';

test('errors carry a stable code and map to HTTP statuses at the edge', () => {
  const err = notFound('No such container: web', { kind: 'container', name: 'web' });
  assert.ok(err instanceof SkiffError);
  assert.ok(isSkiffError(err, 'NotFound'));
  assert.equal(httpStatusOf(err.code), 404);
  assert.equal(httpStatusOf('Conflict'), 409);
  assert.equal(err.details?.name, 'web');
});
