import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKubeconfig } from './kubeconfig';
import { quantityToNumber, milliCpu } from './quantity';
import { selectorMatches, formatSelector } from './labels';
import { eventName } from './events';

test('kubeconfig: current context, CA data, token', () => {
  const cfg = parseKubeconfig(`
apiVersion: v1
kind: Config
current-context: admin@skiff
clusters:
- name: skiff
  cluster: { server: "https://127.0.0.1:6443/", certificate-authority-data: ${Buffer.from('PEM').toString('base64')} }
contexts:
- name: admin@skiff
  context: { cluster: skiff, user: admin }
users:
- name: admin
  user: { token: abc }
`);
  assert.equal(cfg.server, 'https://127.0.0.1:6443');
  assert.equal(cfg.caData?.toString(), 'PEM');
  assert.equal(cfg.token, 'abc');
});

test('quantities', () => {
  assert.equal(quantityToNumber('1Gi'), 2 ** 30);
  assert.equal(quantityToNumber('100M'), 1e8);
  assert.equal(quantityToNumber('1e3'), 1000);
  assert.equal(milliCpu('100m'), 100);
  assert.equal(milliCpu('0.5'), 500);
  assert.equal(milliCpu('2'), 2000);
  assert.equal(quantityToNumber('abc'), undefined);
});

test('label selectors', () => {
  const sel = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['a', 'b'] }, { key: 'x', operator: 'DoesNotExist' as const }] };
  assert.equal(selectorMatches(sel, { app: 'web', tier: 'a' }), true);
  assert.equal(selectorMatches(sel, { app: 'web', tier: 'c' }), false);
  assert.equal(selectorMatches(sel, { app: 'web', tier: 'a', x: '1' }), false);
  assert.equal(selectorMatches({}, { any: 'x' }), true);
  assert.equal(selectorMatches(undefined, { any: 'x' }), false);
  assert.equal(formatSelector(sel), 'app=web,tier in (a,b),!x');
});

test('event names are "<object>.<hex nanoseconds>" like upstream', () => {
  assert.equal(eventName('web', 1), 'web.f4240');
});
