import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalQuantity,
  compareQuantities,
  parseQuantity,
  quantityMilliValue,
  quantityValue,
  tryParseQuantity,
} from './quantity';

test('canonical forms match upstream (apimachinery resource quantity_test)', () => {
  const cases: [string, string][] = [
    ['0', '0'],
    ['0m', '0'],
    ['0Ki', '0'],
    ['1', '1'],
    ['100m', '100m'],
    ['1000m', '1'],
    ['1500m', '1500m'],
    ['0.1', '100m'],
    ['.5', '500m'],
    ['1.5', '1500m'],
    ['1Ki', '1Ki'],
    ['1024', '1024'],
    ['1024Ki', '1Mi'],
    ['1.5Gi', '1536Mi'],
    ['0.5Ki', '512'],
    ['512Mi', '512Mi'],
    ['1k', '1k'],
    ['1000', '1k'],
    ['1M', '1M'],
    ['1e3', '1e3'],
    ['1E3', '1e3'],
    ['1.5e3', '1500'],
    ['1e-3', '1e-3'],
    ['12e6', '12e6'],
    ['1n', '1n'],
    ['0.0000000001', '1n'], // rounded up to nano
    ['-1', '-1'],
    ['-100m', '-100m'],
    ['+5', '5'],
    ['1E', '1E'],
    ['2Ei', '2Ei'],
    ['100u', '100u'],
  ];
  for (const [input, want] of cases) assert.equal(canonicalQuantity(input), want, input);
});

test('invalid quantities are rejected', () => {
  for (const bad of ['', 'abc', '1.1.1', '1Kb', '1 Gi', ' 1', '1i', 'Mi', '.', '1e', '--1', '1ki', '1MM'])
    assert.equal(tryParseQuantity(bad), undefined, bad);
  assert.throws(() => parseQuantity('x'), /quantities must match the regular expression/);
});

test('values and comparisons are exact', () => {
  assert.equal(compareQuantities(parseQuantity('1536Mi'), parseQuantity('1.5Gi')), 0);
  assert.equal(compareQuantities(parseQuantity('1'), parseQuantity('999m')), 1);
  assert.equal(compareQuantities(parseQuantity('1k'), parseQuantity('1Ki')), -1);
  assert.equal(quantityMilliValue(parseQuantity('0.25')), 250n);
  assert.equal(quantityMilliValue(parseQuantity('1n')), 1n); // rounds up
  assert.equal(quantityValue(parseQuantity('1Gi')), 1073741824n);
  assert.equal(quantityValue(parseQuantity('100m')), 1n);
});
