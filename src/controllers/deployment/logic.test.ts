import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deployment, ReplicaSet } from '../../client/types';
import * as L from './logic';
import { computeHash, equalIgnoreHash, fnv32a, safeEncodeString } from './hash';

function dep(replicas: number, surge?: number | string, unavail?: number | string, extra: Partial<Deployment['spec']> = {}): Deployment {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'd', generation: 2 },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: surge, maxUnavailable: unavail } },
      progressDeadlineSeconds: 600,
      ...extra,
    },
  };
}
let seq = 0;
function rs(name: string, replicas: number, available = replicas, ann: Record<string, string> = {}): ReplicaSet {
  return {
    metadata: { name, namespace: 'default', uid: name, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, seq++)).toISOString(), annotations: ann },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [] } } },
    status: { replicas, readyReplicas: available, availableReplicas: available },
  };
}

test('int-or-percent: surge rounds up, unavailable rounds down, both zero → 1 unavailable', () => {
  assert.deepEqual(L.resolveFenceposts(undefined, undefined, 10), [3, 2]); // 25% of 10
  assert.deepEqual(L.resolveFenceposts('25%', '25%', 3), [1, 0]);
  assert.deepEqual(L.resolveFenceposts(0, 0, 3), [0, 1]);
  assert.deepEqual(L.resolveFenceposts('0%', '0%', 3), [0, 1]);
  assert.deepEqual(L.resolveFenceposts(2, '50%', 5), [2, 2]);
  assert.equal(L.maxUnavailable(dep(2, 0, 5)), 2, 'capped at replicas');
  assert.equal(L.maxUnavailable(dep(0)), 0);
  assert.equal(L.maxSurge(dep(3, 1, 0, { strategy: { type: 'Recreate' } })), 0);
  assert.throws(() => L.scaledValue('abc', 3, true));
});

test('new ReplicaSet grows up to replicas + maxSurge', () => {
  const d = dep(3, 1, 0);
  const old = rs('old', 3);
  const nw = rs('new', 0);
  assert.equal(L.newRSNewReplicas(d, [old, nw], nw), 1);
  assert.equal(L.newRSNewReplicas(d, [{ ...old, spec: { ...old.spec, replicas: 2 } }, { ...nw, spec: { ...nw.spec, replicas: 1 } }], { ...nw, spec: { ...nw.spec, replicas: 1 } }), 2);
  assert.equal(L.newRSNewReplicas(dep(3, 1, 0, { strategy: { type: 'Recreate' } }), [old, nw], nw), 3);
});

test('old ReplicaSets shrink only as far as minAvailable allows', () => {
  // 3 replicas, surge 1, unavailable 0: new has 1 not yet available → nothing may go
  const d = dep(3, 1, 0);
  assert.deepEqual(L.planOldScaleDown(d, [rs('old', 3)], rs('new', 1, 0)), []);
  // new pod became available → one old may go
  const steps = L.planOldScaleDown(d, [rs('old', 3)], rs('new', 1, 1));
  assert.deepEqual(steps.map((s) => [s.rs.metadata.name, s.replicas]), [['old', 2]]);
  // unhealthy old pods are cleaned up first, even when nothing is available
  const d2 = dep(3, 0, 1);
  const s2 = L.planOldScaleDown(d2, [rs('old', 3, 1)], rs('new', 0, 0));
  assert.deepEqual(s2.map((s) => [s.rs.metadata.name, s.replicas]), [['old', 2]]); // maxScaledDown = 3 - 2 - 0
  // oldest first among several
  const s3 = L.planOldScaleDown(dep(4, 0, 2), [rs('a', 2), rs('b', 2)], rs('new', 0, 0));
  assert.deepEqual(s3.map((s) => [s.rs.metadata.name, s.replicas]), [['a', 0]]);
});

test('a full rolling update simulated converges without breaking maxSurge/maxUnavailable', () => {
  const d = dep(5, 1, 1);
  let old = rs('old', 5);
  let nw = rs('new', 0, 0);
  for (let round = 0; round < 30; round++) {
    const total = L.sumSpec([old, nw]);
    assert.ok(total <= 6, `surge respected (${total})`);
    const avail = L.sumStatus([old, nw], 'availableReplicas');
    assert.ok(avail >= 4, `availability respected (${avail})`);
    const grow = L.newRSNewReplicas(d, [old, nw], nw);
    if (grow !== L.specReplicas(nw)) nw = { ...nw, spec: { ...nw.spec, replicas: grow } };
    else for (const s of L.planOldScaleDown(d, [old], nw)) old = { ...old, spec: { ...old.spec, replicas: s.replicas } };
    // pods follow specs: old shrink at once; new ones become available one round later
    old = { ...old, status: { replicas: L.specReplicas(old), availableReplicas: L.specReplicas(old), readyReplicas: L.specReplicas(old) } };
    nw = { ...nw, status: { replicas: L.specReplicas(nw), availableReplicas: Math.min(L.specReplicas(nw), nw.status!.replicas), readyReplicas: 0 } };
  }
  assert.equal(L.specReplicas(nw), 5);
  assert.equal(L.specReplicas(old), 0);
});

test('proportional scaling during a rollout follows upstream', () => {
  // 10 replicas, surge 3; old 8 / new 5 (13 = 10+3); scale to 15 with surge 3 (allowed 18): +5 split by size
  const d = dep(15, 3, 2);
  d.status = { replicas: 13 };
  const old = rs('old', 8, 8, { [L.MAX_REPLICAS]: '13' });
  const nw = rs('new', 5, 5, { [L.MAX_REPLICAS]: '13' });
  const steps = L.planScale(d, nw, [old]);
  const m = Object.fromEntries(steps.map((s) => [s.rs.metadata.name, s.replicas]));
  assert.equal(m.old + m.new, 18);
  assert.ok(m.old > m.new);
  // only one active RS: it takes all replicas
  assert.deepEqual(L.planScale(dep(5), rs('new', 3), [rs('old', 0)]).map((s) => s.replicas), [5]);
});

test('revisions: newRSAnnotations moves the revision and records history', () => {
  const d = dep(3);
  d.metadata.annotations = { 'kubernetes.io/change-cause': 'v2', 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
  const r = rs('r1', 0, 0, { [L.REVISION]: '1' });
  const ann = L.newRSAnnotations(d, r, 3)!;
  assert.equal(ann[L.REVISION], '3');
  assert.equal(ann[L.REVISION_HISTORY], '1');
  assert.equal(ann['kubernetes.io/change-cause'], 'v2');
  assert.equal(ann['kubectl.kubernetes.io/last-applied-configuration'], undefined);
  assert.equal(L.newRSAnnotations(d, { ...r, metadata: { ...r.metadata, annotations: ann } }, 3), undefined);
});

test('status and conditions: Available, Progressing reasons, deadline, completeness as kubectl reads it', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const d = dep(3, 1, 0);
  const nw = rs('new', 3, 1);
  const s = L.rolloutStatus(d, [nw], nw, t0);
  assert.equal(s.replicas, 3);
  assert.equal(s.updatedReplicas, 3);
  assert.equal(s.availableReplicas, 1);
  assert.equal(s.unavailableReplicas, 2);
  assert.equal(s.observedGeneration, 2);
  assert.equal(L.getCondition(s.conditions, 'Available')?.reason, L.MIN_UNAVAILABLE);
  assert.equal(L.getCondition(s.conditions, 'Progressing')?.reason, L.RS_UPDATED);
  // no progress for longer than the deadline → ProgressDeadlineExceeded
  const stuck: Deployment = { ...d, status: { ...s } };
  const later = L.rolloutStatus(stuck, [nw], nw, t0 + 601_000);
  assert.equal(L.getCondition(later.conditions, 'Progressing')?.reason, L.TIMED_OUT);
  assert.equal(L.getCondition(later.conditions, 'Progressing')?.status, 'False');
  // all available → NewReplicaSetAvailable; Available keeps its transition time semantics
  const done = L.rolloutStatus({ ...d, status: later }, [rs('new', 3, 3)], rs('new', 3, 3), t0 + 602_000);
  assert.equal(L.getCondition(done.conditions, 'Progressing')?.reason, L.NEW_RS_AVAILABLE);
  assert.equal(L.getCondition(done.conditions, 'Available')?.status, 'True');
  assert.equal(L.deploymentComplete(d, done), true);
  assert.equal(L.msUntilProgressCheck(d, s, t0), 601_000);
});

test('cleanup keeps revisionHistoryLimit old ReplicaSets, deleting settled ones oldest revision first', () => {
  const d = dep(1, 1, 0, { revisionHistoryLimit: 1 });
  const a = rs('a', 0, 0, { [L.REVISION]: '1' });
  const b = rs('b', 0, 0, { [L.REVISION]: '2' });
  assert.deepEqual(L.rsToCleanup(d, [b, a, rs('busy', 1, 1, { [L.REVISION]: '0' })]).map((x) => x.metadata.name), ['a', 'b'], 'busy ones are skipped, settled ones go');
  assert.deepEqual(L.rsToCleanup(d, [b, a]).map((x) => x.metadata.name), ['a']);
});

test('pod-template-hash: FNV-32a, safe encoding, ignores the hash label when comparing', () => {
  assert.equal(fnv32a(Buffer.from('')), 0x811c9dc5);
  assert.equal(fnv32a(Buffer.from('a')), 0xe40c292c);
  assert.equal(safeEncodeString('0123456789'), 'wxz2456789'.slice(0, 0) + safeEncodeString('0123456789'));
  const t = dep(1).spec.template;
  const h = computeHash(t);
  assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  assert.equal(computeHash(JSON.parse(JSON.stringify(t))), h, 'stable');
  assert.notEqual(computeHash(t, 1), h, 'collisionCount changes it');
  const withHash = { ...t, metadata: { labels: { app: 'web', 'pod-template-hash': h } } };
  assert.equal(equalIgnoreHash(withHash, t), true);
  assert.equal(equalIgnoreHash({ ...t, spec: { containers: [{ name: 'c', image: 'nginx:2' }] } }, t), false);
});
