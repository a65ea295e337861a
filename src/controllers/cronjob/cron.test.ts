import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mostRecent, nextAfter, parseCron } from './cron';

const at = (s: string) => Date.parse(s);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

test('fields: lists, ranges, steps, names, 7 = Sunday', () => {
  const s = parseCron('*/15 9-17 * jan,MAR-may mon-fri');
  assert.deepEqual([...s.minute], [0, 15, 30, 45]);
  assert.deepEqual([...s.hour], [9, 10, 11, 12, 13, 14, 15, 16, 17]);
  assert.deepEqual([...s.month], [1, 3, 4, 5]);
  assert.deepEqual([...s.dow], [1, 2, 3, 4, 5]);
  assert.deepEqual([...parseCron('0 0 * * 7').dow], [0]);
  assert.deepEqual([...parseCron('5/20 * * * *').minute], [5, 25, 45]);
  assert.deepEqual([...parseCron('0 1-10/3 * * *').hour], [1, 4, 7, 10]);
});

test('descriptors and errors', () => {
  assert.deepEqual(parseCron('@hourly'), parseCron('0 * * * *'));
  assert.deepEqual(parseCron('@daily'), parseCron('0 0 * * *'));
  assert.throws(() => parseCron('* * * *'), /expected exactly 5 fields/);
  assert.throws(() => parseCron('61 * * * *'), /above maximum/);
  assert.throws(() => parseCron('@often'), /unrecognized descriptor/);
  assert.throws(() => parseCron('* * * * *', 'Europe/Paris'), /unsupported time zone/);
});

test('next times', () => {
  assert.equal(iso(nextAfter(parseCron('*/5 * * * *'), at('2026-01-01T10:03:30Z'))), '2026-01-01T10:05:00.000Z');
  assert.equal(iso(nextAfter(parseCron('0 0 1 * *'), at('2026-01-15T00:00:00Z'))), '2026-02-01T00:00:00.000Z');
  assert.equal(iso(nextAfter(parseCron('30 8 * * mon'), at('2026-01-01T00:00:00Z'))), '2026-01-05T08:30:00.000Z'); // 2026-01-01 is a Thursday
  // dom and dow both restricted → OR
  assert.equal(iso(nextAfter(parseCron('0 0 13 * fri'), at('2026-01-01T00:00:00Z'))), '2026-01-02T00:00:00.000Z');
  assert.equal(iso(nextAfter(parseCron('0 0 29 2 *'), at('2026-03-01T00:00:00Z'))), '2028-02-29T00:00:00.000Z');
});

test('most recent missed schedule', () => {
  const r = mostRecent(parseCron('*/10 * * * *'), at('2026-01-01T10:00:00Z'), at('2026-01-01T10:35:00Z'));
  assert.equal(iso(r.last), '2026-01-01T10:30:00.000Z');
  assert.equal(r.missed, 3);
  assert.equal(iso(r.next), '2026-01-01T10:40:00.000Z');
  assert.equal(mostRecent(parseCron('0 * * * *'), at('2026-01-01T10:00:00Z'), at('2026-01-01T10:30:00Z')).last, undefined);
});
