import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkFilters, matchesList, matchesPrune, normalizeFilters, parseUntil, toDockerNetwork } from './docker';
import type { NetworkRecord } from './model';

const base: NetworkRecord = {
  id: 'abcdef0123456789'.repeat(4),
  name: 'frontend',
  driver: 'bridge',
  created: '2025-01-01T00:00:00.000Z',
  internal: false,
  attachable: false,
  subnet: '10.9.0.0/24',
  gateway: '10.9.0.1',
  bridge: 'skiff-abcdef012',
  labels: { tier: 'web' },
  options: {},
  isDefault: false,
};

describe('Docker network shape and filters', () => {
  it("serialises Docker's inspect shape", () => {
    const d = toDockerNetwork(base, {});
    assert.equal(d.Id, base.id);
    assert.equal(d.Scope, 'local');
    assert.deepEqual(d.IPAM, { Driver: 'default', Options: null, Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.1' }] });
    assert.deepEqual(d.Containers, {});
  });

  it('accepts both filter encodings and rejects unknown filters', () => {
    assert.deepEqual(normalizeFilters('{"name":{"front":true}}'), { name: ['front'] });
    assert.deepEqual(normalizeFilters({ label: ['a=b'] }), { label: ['a=b'] });
    assert.throws(() => checkFilters({ status: ['x'] }), /invalid filter 'status'/);
    assert.throws(() => checkFilters({ name: ['x'] }, true));
  });

  it('matches list filters like Docker', () => {
    assert.ok(matchesList(base, { name: ['front'] }, false));
    assert.ok(!matchesList(base, { name: ['back'] }, false));
    assert.ok(matchesList(base, { id: ['abcdef'] }, false));
    assert.ok(matchesList(base, { label: ['tier'] }, false));
    assert.ok(!matchesList(base, { label: ['tier=db'] }, false));
    assert.ok(matchesList(base, { type: ['custom'] }, false));
    assert.ok(!matchesList(base, { type: ['builtin'] }, false));
    assert.ok(matchesList(base, { dangling: ['true'] }, false));
    assert.ok(!matchesList(base, { dangling: ['true'] }, true));
    assert.ok(matchesList(base, { dangling: ['false'] }, true));
  });

  it('matches prune filters (label, label!, until)', () => {
    const now = Date.parse('2025-01-02T00:00:00Z');
    assert.ok(matchesPrune(base, { until: ['1h'] }, now));
    assert.ok(!matchesPrune(base, { until: ['48h'] }, now));
    assert.ok(!matchesPrune(base, { 'label!': ['tier=web'] }, now));
    assert.ok(matchesPrune(base, { label: ['tier=web'] }, now));
    assert.equal(parseUntil('1735689600'), Date.parse('2025-01-01T00:00:00Z'));
  });
});
