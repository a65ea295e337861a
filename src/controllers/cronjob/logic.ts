/** CronJob decisions, pure: which scheduled run is due, what concurrencyPolicy allows, which old jobs to drop. */
import { KObject } from '../../client/types';
import { Job, finishedCondition } from '../job/logic';
import { mostRecent, parseCron } from './cron';

export interface CronJob extends KObject {
  spec: {
    schedule: string;
    timeZone?: string;
    startingDeadlineSeconds?: number;
    concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
    suspend?: boolean;
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
    jobTemplate: { metadata?: KObject['metadata']; spec: Job['spec'] };
  };
  status?: { active?: Array<Record<string, unknown>>; lastScheduleTime?: string; lastSuccessfulTime?: string };
}

export interface CronPlan {
  /** Scheduled time of the run to start now, if any. */
  start?: number;
  /** Active jobs to delete first (Replace). */
  replace: Job[];
  /** Finished jobs beyond the history limits. */
  cleanup: Job[];
  /** A run was due but skipped: [reason, message] for an event. */
  skipped?: [string, string];
  /** When the next run is due. */
  nextMs?: number;
  error?: string;
}

const created = (j: Job) => Date.parse(j.metadata.creationTimestamp ?? '') || 0;

export function planCronJob(cj: CronJob, jobs: Job[], nowMs: number): CronPlan {
  const plan: CronPlan = { replace: [], cleanup: [] };
  const finished = jobs.filter((j) => finishedCondition(j));
  const active = jobs.filter((j) => !finishedCondition(j));
  const succeeded = finished.filter((j) => finishedCondition(j)!.type === 'Complete').sort((a, b) => created(a) - created(b));
  const failed = finished.filter((j) => finishedCondition(j)!.type === 'Failed').sort((a, b) => created(a) - created(b));
  const sLimit = cj.spec.successfulJobsHistoryLimit ?? 3;
  const fLimit = cj.spec.failedJobsHistoryLimit ?? 1;
  plan.cleanup.push(...succeeded.slice(0, Math.max(0, succeeded.length - sLimit)), ...failed.slice(0, Math.max(0, failed.length - fLimit)));

  let sched;
  try {
    sched = parseCron(cj.spec.schedule, cj.spec.timeZone);
  } catch (err) {
    plan.error = `unparseable schedule: ${JSON.stringify(cj.spec.schedule)} : ${(err as Error).message}`;
    return plan;
  }
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata.creationTimestamp ?? '') || nowMs;
  const deadline = cj.spec.startingDeadlineSeconds;
  if (deadline !== undefined && deadline !== null) earliest = Math.max(earliest, nowMs - deadline * 1000);
  const { last, next } = mostRecent(sched, earliest, nowMs);
  plan.nextMs = next;
  if (cj.spec.suspend || last === undefined) return plan;
  if (deadline !== undefined && deadline !== null && last + deadline * 1000 < nowMs) return plan; // too late for that run
  const policy = cj.spec.concurrencyPolicy ?? 'Allow';
  if (policy === 'Forbid' && active.length > 0) {
    plan.skipped = ['JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid'];
    return plan;
  }
  if (policy === 'Replace') plan.replace = active;
  plan.start = last;
  return plan;
}

/** Upstream's job name: <cronjob>-<scheduled time in minutes since the epoch>. */
export function jobNameFor(cj: CronJob, scheduledMs: number): string {
  return `${cj.metadata.name}-${Math.floor(scheduledMs / 60_000)}`;
}
