import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiTimestamp, bytesSize, formatG, fromHumanSize, humanDuration, humanSize, parseGoDuration, parseNanoCpus, ramInBytes } from './units';

test('RAMInBytes like go-units', () => {
  assert.equal(ramInBytes('512m'), 512 * 1024 ** 2);
  assert.equal(ramInBytes('1g'), 1024 ** 3);
  assert.equal(ramInBytes('1GiB'), 1024 ** 3);
  assert.equal(ramInBytes('1.5k'), 1536);
  assert.equal(ramInBytes('32'), 32);
  assert.equal(ramInBytes('10 MB'), 10 * 1024 ** 2);
  assert.equal(ramInBytes('100b'), 100);
  assert.throws(() => ramInBytes('12q'), { message: "invalid suffix: 'q'" });
  assert.throws(() => ramInBytes('m'), { message: "invalid size: 'm'" });
  assert.throws(() => ramInBytes('1gb2'), /strconv.ParseFloat/);
  assert.throws(() => ramInBytes('1mx'), { message: "invalid suffix: 'mx'" });
  assert.equal(fromHumanSize('1k'), 1000);
});

test('sizes print like go-units', () => {
  assert.equal(humanSize(4264960), '4.26MB');
  assert.equal(humanSize(100), '100B');
  assert.equal(humanSize(1234), '1.23kB');
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(1e9), '1GB');
  assert.equal(bytesSize(1536 * 1024), '1.5MiB');
  assert.equal(bytesSize(512), '512B');
  assert.equal(formatG(1000, 3), '1e+03');
  assert.equal(formatG(0.00001234, 3), '1.23e-05');
});

test('HumanDuration like go-units', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(30_000), '30 seconds');
  assert.equal(humanDuration(90_000), 'About a minute');
  assert.equal(humanDuration(10 * 60_000), '10 minutes');
  assert.equal(humanDuration(3600_000), 'About an hour');
  assert.equal(humanDuration(5 * 3600_000), '5 hours');
  assert.equal(humanDuration(3 * 86400_000), '3 days');
  assert.equal(humanDuration(21 * 86400_000), '3 weeks');
  assert.equal(humanDuration(90 * 86400_000), '3 months');
  assert.equal(humanDuration(800 * 86400_000), '2 years');
});

test('Go durations, cpus and timestamps', () => {
  assert.equal(parseGoDuration('1m30s'), 90e9);
  assert.equal(parseGoDuration('500ms'), 5e8);
  assert.equal(parseGoDuration('1.5h'), 5400e9);
  assert.equal(parseGoDuration('0'), 0);
  assert.throws(() => parseGoDuration('10'), { message: 'time: missing unit in duration "10"' });
  assert.throws(() => parseGoDuration('abc'), { message: 'time: invalid duration "abc"' });
  assert.equal(parseNanoCpus('1.5'), 1.5e9);
  assert.equal(parseNanoCpus('0.000000001'), 1);
  assert.throws(() => parseNanoCpus('x'), { message: 'failed to parse x as a rational number' });
  assert.throws(() => parseNanoCpus('0.0000000001'), { message: 'value is too precise' });
  assert.equal(apiTimestamp('10m', 1_700_000_600_000), '1700000000.000000000');
  assert.equal(apiTimestamp('1700000000'), '1700000000');
  assert.equal(apiTimestamp('2023-11-14T22:13:20Z'), '1700000000.000000000');
});
