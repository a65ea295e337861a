import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pod } from '../../client/types';
import { Job, planJob } from './logic';

const t0 = Date.parse('2026-01-01T00:00:00Z');
const job = (spec: Partial<Job['spec']> = {}, status?: Job['status']): Job => ({
  metadata: { name: 'pi', namespace: 'default', uid: 'j' },
  spec: { template: { spec: { containers: [{ name: 'c' }] } }, completions: 3, parallelism: 2, backoffLimit: 1, ...spec },
  status,
});
const pod = (name: string, phase: NonNullable<Pod['status']>['phase']): Pod => ({ metadata: { name, namespace: 'default', uid: name }, spec: { containers: [] }, status: { phase } });

test('runs up to parallelism, never more than the completions left', () => {
  assert.equal(planJob(job(), [], t0).create, 2);
  assert.equal(planJob(job(), [pod('a', 'Succeeded'), pod('b', 'Succeeded'), pod('c', 'Running')], t0).create, 0);
  assert.equal(planJob(job(), [pod('a', 'Succeeded'), pod('b', 'Succeeded')], t0).create, 1);
  // work queue (no completions): no new pods once one succeeded; complete when all active are done
  const wq = job({ completions: null, parallelism: 2 });
  assert.equal(planJob(wq, [pod('a', 'Succeeded'), pod('b', 'Running')], t0).create, 0);
  assert.equal(planJob(wq, [pod('a', 'Succeeded'), pod('b', 'Succeeded')], t0).finished, true);
});

test('completes with Complete condition, completionTime and an event', () => {
  const p = planJob(job(), [pod('a', 'Succeeded'), pod('b', 'Succeeded'), pod('c', 'Succeeded')], t0);
  assert.equal(p.finished, true);
  assert.equal(p.status.succeeded, 3);
  assert.ok(p.status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'));
  assert.ok(p.status.completionTime);
  assert.deepEqual(p.events, [['Normal', 'Completed', 'Job completed']]);
});

test('fails past backoffLimit and past activeDeadlineSeconds, deleting active pods', () => {
  const p = planJob(job(), [pod('a', 'Failed'), pod('b', 'Failed'), pod('c', 'Running')], t0);
  assert.equal(p.finished, true);
  assert.equal(p.status.conditions?.find((c) => c.type === 'Failed')?.reason, 'BackoffLimitExceeded');
  assert.deepEqual(p.remove.map((x) => x.metadata.name), ['c']);
  const d = planJob(job({ activeDeadlineSeconds: 10 }, { startTime: '2026-01-01T00:00:00Z' }), [pod('a', 'Running')], t0 + 11_000);
  assert.equal(d.status.conditions?.find((c) => c.type === 'Failed')?.reason, 'DeadlineExceeded');
  const notYet = planJob(job({ activeDeadlineSeconds: 10 }, { startTime: '2026-01-01T00:00:00Z' }), [pod('a', 'Running')], t0 + 4_000);
  assert.equal(notYet.finished, false);
  assert.equal(notYet.requeueAfterMs, 6_000);
});

test('counts in status never go down when finished pods are deleted; ttl requeue', () => {
  const p = planJob(job({}, { succeeded: 2 }), [], t0);
  assert.equal(p.status.succeeded, 2);
  assert.equal(p.create, 1);
  const done = planJob(job({ ttlSecondsAfterFinished: 30 }, { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] }), [], t0 + 10_000);
  assert.equal(done.finished, true);
  assert.equal(done.requeueAfterMs, 20_000);
});

test('failed pods are replaced only after the upstream backoff (10 s doubling)', () => {
  const failedPod = (name: string, at: string): Pod => ({ ...pod(name, 'Failed'), status: { phase: 'Failed', containerStatuses: [{ name: 'c', state: { terminated: { finishedAt: at } } }] } });
  const j = job({ completions: 1, parallelism: 1, backoffLimit: 6 });
  const one = planJob(j, [failedPod('a', '2026-01-01T00:00:00Z')], t0 + 4_000);
  assert.equal(one.create, 0);
  assert.equal(one.requeueAfterMs, 6_000);
  assert.equal(planJob(j, [failedPod('a', '2026-01-01T00:00:00Z')], t0 + 10_000).create, 1);
  const two = planJob(j, [failedPod('a', '2026-01-01T00:00:00Z'), failedPod('b', '2026-01-01T00:00:30Z')], t0 + 40_000);
  assert.equal(two.create, 0, 'second failure: 20 s');
  assert.equal(two.requeueAfterMs, 10_000);
});
