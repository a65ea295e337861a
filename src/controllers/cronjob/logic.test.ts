import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CronJob, jobNameFor, planCronJob } from './logic';
import { Job } from '../job/logic';

const at = (s: string) => Date.parse(s);
const cj = (spec: Partial<CronJob['spec']> = {}, lastScheduleTime?: string): CronJob => ({
  metadata: { name: 'tick', namespace: 'default', uid: 'c', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { containers: [] } } } }, ...spec },
  status: lastScheduleTime ? { lastScheduleTime } : undefined,
});
const job = (name: string, created: string, cond?: 'Complete' | 'Failed'): Job => ({
  metadata: { name, namespace: 'default', creationTimestamp: created },
  spec: { template: { spec: { containers: [] } } },
  status: cond ? { conditions: [{ type: cond, status: 'True' }] } : {},
});

test('starts the most recent due run, once', () => {
  const p = planCronJob(cj(), [], at('2026-01-01T00:11:00Z'));
  assert.equal(new Date(p.start!).toISOString(), '2026-01-01T00:10:00.000Z');
  assert.equal(new Date(p.nextMs!).toISOString(), '2026-01-01T00:15:00.000Z');
  assert.equal(planCronJob(cj({}, '2026-01-01T00:10:00Z'), [], at('2026-01-01T00:11:00Z')).start, undefined);
  assert.equal(jobNameFor(cj(), at('2026-01-01T00:10:00Z')), `tick-${at('2026-01-01T00:10:00Z') / 60000}`);
});

test('concurrency policies, suspend, startingDeadlineSeconds', () => {
  const running = [job('tick-1', '2026-01-01T00:05:00Z')];
  const forbid = planCronJob(cj({ concurrencyPolicy: 'Forbid' }, '2026-01-01T00:05:00Z'), running, at('2026-01-01T00:10:30Z'));
  assert.equal(forbid.start, undefined);
  assert.equal(forbid.skipped?.[0], 'JobAlreadyActive');
  const replace = planCronJob(cj({ concurrencyPolicy: 'Replace' }, '2026-01-01T00:05:00Z'), running, at('2026-01-01T00:10:30Z'));
  assert.equal(replace.replace.length, 1);
  assert.ok(replace.start);
  assert.equal(planCronJob(cj({ suspend: true }), [], at('2026-01-01T00:11:00Z')).start, undefined);
  assert.equal(planCronJob(cj({ startingDeadlineSeconds: 30 }), [], at('2026-01-01T00:11:00Z')).start, undefined, 'missed by more than the deadline');
  assert.ok(planCronJob(cj({ startingDeadlineSeconds: 120 }), [], at('2026-01-01T00:11:00Z')).start);
});

test('history limits drop the oldest finished jobs', () => {
  const jobs = [
    job('a', '2026-01-01T00:00:00Z', 'Complete'),
    job('b', '2026-01-01T00:05:00Z', 'Complete'),
    job('c', '2026-01-01T00:10:00Z', 'Failed'),
    job('d', '2026-01-01T00:15:00Z', 'Failed'),
  ];
  const p = planCronJob(cj({ successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 }, '2026-01-01T00:15:00Z'), jobs, at('2026-01-01T00:16:00Z'));
  assert.deepEqual(p.cleanup.map((j) => j.metadata.name), ['a', 'c']);
  assert.match(planCronJob(cj({ schedule: 'bogus' }), [], 0).error!, /unparseable schedule/);
});
