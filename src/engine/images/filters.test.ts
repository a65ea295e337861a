import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterImages, parseImageFilter, parseTimestamp, referenceMatches, type ImageFilter } from './filters';
import type { ImageRecord } from './types';

const rec = (id: string, tags: string[], created: string, labels?: Record<string, string>): ImageRecord => ({
  id,
  repoTags: tags,
  repoDigests: [],
  created,
  size: 1,
  architecture: 'amd64',
  os: 'linux',
  config: labels ? { Labels: labels } : {},
  diffIds: [],
});

const all = [
  rec('sha256:a', ['busybox:latest', 'example.com/team/bb:v1'], '2024-01-01T00:00:00Z', { tier: 'base' }),
  rec('sha256:b', ['me/app:1', 'me/app:2'], '2024-06-01T00:00:00Z', { tier: 'app', team: 'x' }),
  rec('sha256:c', [], '2024-03-01T00:00:00Z'),
];
const f = (over: Partial<ImageFilter>): ImageFilter => ({ reference: [], label: [], ...over });
const ids = (rs: ImageRecord[]) => rs.map((r) => r.id);

test('reference filter matches familiar names and keeps only matching names', () => {
  assert.ok(referenceMatches('busybox:latest', 'busybox'));
  assert.ok(referenceMatches('busybox:latest', 'busy*'));
  assert.ok(referenceMatches('busybox:latest', 'busybox:lat?st'));
  assert.ok(!referenceMatches('example.com/team/bb:v1', 'example.com/*'));
  assert.ok(referenceMatches('example.com/team/bb:v1', 'example.com/*/*'));
  const r = filterImages(all, f({ reference: ['me/app:2'] }));
  assert.deepEqual(ids(r), ['sha256:b']);
  assert.deepEqual(r[0].repoTags, ['me/app:2']);
  assert.deepEqual(all[1].repoTags, ['me/app:1', 'me/app:2'], 'input untouched');
});

test('dangling, label, before/since/until', () => {
  assert.deepEqual(ids(filterImages(all, f({ dangling: true }))), ['sha256:c']);
  assert.deepEqual(ids(filterImages(all, f({ dangling: false }))), ['sha256:a', 'sha256:b']);
  assert.deepEqual(ids(filterImages(all, f({ label: ['tier'] }))), ['sha256:a', 'sha256:b']);
  assert.deepEqual(ids(filterImages(all, f({ label: ['tier=app', 'team=x'] }))), ['sha256:b']);
  assert.deepEqual(ids(filterImages(all, f({ label: ['tier=app', 'team=y'] }))), []);
  const t = (s: string) => Date.parse(s) / 1000;
  assert.deepEqual(ids(filterImages(all, f({ before: t('2024-03-01T00:00:00Z') }))), ['sha256:a']);
  assert.deepEqual(ids(filterImages(all, f({ since: t('2024-03-01T00:00:00Z') }))), ['sha256:b']);
  assert.deepEqual(ids(filterImages(all, f({ until: t('2024-05-01T00:00:00Z') }))), ['sha256:a', 'sha256:c']);
});

test('parsing: unknown filters and bad values are InvalidArgument; before/since resolve images', () => {
  const created = (ref: string) => (ref === 'busybox' ? 100 : 200);
  const p = parseImageFilter(new Map([['dangling', ['True']], ['before', ['busybox']], ['label', ['a=b']]]), created);
  assert.deepEqual(p, { reference: [], label: ['a=b'], dangling: true, before: 100 });
  assert.throws(() => parseImageFilter(new Map([['color', ['red']]]), created), /invalid filter 'color'/);
  assert.throws(() => parseImageFilter(new Map([['dangling', ['maybe']]]), created), /invalid filter 'dangling=maybe'/);
  const now = Date.parse('2024-01-02T00:00:00Z');
  assert.equal(parseTimestamp('1h30m', now), now / 1000 - 5400);
  assert.equal(parseTimestamp('1700000000'), 1700000000);
  assert.equal(parseTimestamp('2024-01-01T00:00:00Z'), Date.parse('2024-01-01T00:00:00Z') / 1000);
  assert.throws(() => parseTimestamp('yesterday'), /invalid filter 'until=yesterday'/);
});
