/**
 * Job decisions, pure (NonIndexed completion mode): how many pods should run, whether the job completed or
 * failed (backoffLimit, activeDeadlineSeconds), and the status/conditions to report, following upstream's
 * job controller. Pods are counted from the cluster; counts already recorded in status never go down, so
 * deleting a finished pod does not undo progress.
 */
import { Condition, KObject, Pod, PodTemplateSpec } from '../../client/types';
import { isPodReady, rfc3339 } from '../podutil';

export interface Job extends KObject {
  spec: {
    parallelism?: number;
    completions?: number | null;
    backoffLimit?: number;
    activeDeadlineSeconds?: number;
    ttlSecondsAfterFinished?: number;
    suspend?: boolean;
    selector?: { matchLabels?: Record<string, string> };
    template: PodTemplateSpec;
  };
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    ready?: number;
    terminating?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: Condition[];
  };
}

export interface JobPlan {
  create: number;
  /** Active pods to delete (surplus, or all of them when the job finished or failed). */
  remove: Pod[];
  status: NonNullable<Job['status']>;
  /** Events to record: [type, reason, message]. */
  events: Array<['Normal' | 'Warning', string, string]>;
  finished: boolean;
  /** When to look again (activeDeadlineSeconds, ttlSecondsAfterFinished). */
  requeueAfterMs?: number;
}

export const POD_FAILURE_BACKOFF_MS = 10_000;
export const POD_FAILURE_BACKOFF_MAX_MS = 6 * 60_000;

/** When a failed pod failed: its containers' finish time, else its last condition change, else creation. */
function failedAt(p: Pod): number {
  let t = 0;
  for (const cs of p.status?.containerStatuses ?? []) {
    const fin = (cs.state as { terminated?: { finishedAt?: string } } | undefined)?.terminated?.finishedAt;
    if (fin) t = Math.max(t, Date.parse(fin) || 0);
  }
  if (t) return t;
  for (const c of p.status?.conditions ?? []) t = Math.max(t, Date.parse(c.lastTransitionTime ?? '') || 0);
  return t || Date.parse(p.metadata.creationTimestamp ?? '') || 0;
}

export function finishedCondition(job: Job): Condition | undefined {
  return job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

const isActive = (p: Pod) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && !p.metadata.deletionTimestamp;

export function planJob(job: Job, pods: Pod[], nowMs: number): JobPlan {
  const now = rfc3339(nowMs);
  const active = pods.filter(isActive);
  const succeeded = Math.max(job.status?.succeeded ?? 0, pods.filter((p) => p.status?.phase === 'Succeeded').length);
  const failed = Math.max(job.status?.failed ?? 0, pods.filter((p) => p.status?.phase === 'Failed').length);
  const conditions = [...(job.status?.conditions ?? [])];
  const status: NonNullable<Job['status']> = {
    ...(job.status ?? {}),
    active: active.length,
    succeeded,
    failed,
    ready: active.filter(isPodReady).length,
    terminating: pods.filter((p) => p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length,
    conditions,
  };
  const plan: JobPlan = { create: 0, remove: [], status, events: [], finished: false };

  const done = finishedCondition(job);
  if (done) {
    plan.finished = true;
    plan.remove = active;
    status.active = 0;
    const ttl = job.spec.ttlSecondsAfterFinished;
    const finishedAt = Date.parse(done.lastTransitionTime ?? status.completionTime ?? now);
    if (ttl !== undefined && ttl !== null) plan.requeueAfterMs = Math.max(0, finishedAt + ttl * 1000 - nowMs);
    return plan;
  }
  if (job.spec.suspend) {
    plan.remove = active;
    return plan;
  }
  if (!status.startTime) status.startTime = now;

  const fail = (reason: string, message: string) => {
    conditions.push({ type: 'FailureTarget', status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now });
    conditions.push({ type: 'Failed', status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now });
    plan.remove = active;
    plan.finished = true;
    plan.events.push(['Warning', reason, message]);
    status.active = 0;
    if (job.spec.ttlSecondsAfterFinished !== undefined && job.spec.ttlSecondsAfterFinished !== null) plan.requeueAfterMs = job.spec.ttlSecondsAfterFinished * 1000;
  };

  const backoffLimit = job.spec.backoffLimit ?? 6;
  if (failed > backoffLimit) {
    fail('BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    return plan;
  }
  const deadline = job.spec.activeDeadlineSeconds;
  if (deadline !== undefined && deadline !== null) {
    const started = Date.parse(status.startTime);
    if (started + deadline * 1000 <= nowMs) {
      fail('DeadlineExceeded', 'Job was active longer than specified deadline');
      return plan;
    }
    plan.requeueAfterMs = started + deadline * 1000 - nowMs;
  }

  const completions = job.spec.completions;
  const parallelism = job.spec.parallelism ?? 1;
  const complete = completions !== undefined && completions !== null ? succeeded >= completions : succeeded > 0 && active.length === 0;
  if (complete) {
    conditions.push({ type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: now, lastTransitionTime: now });
    conditions.push({ type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: now, lastTransitionTime: now });
    status.completionTime = now;
    plan.finished = true;
    plan.remove = active;
    status.active = 0;
    plan.events.push(['Normal', 'Completed', 'Job completed']);
    if (job.spec.ttlSecondsAfterFinished !== undefined && job.spec.ttlSecondsAfterFinished !== null) plan.requeueAfterMs = job.spec.ttlSecondsAfterFinished * 1000;
    return plan;
  }
  let want: number;
  if (completions !== undefined && completions !== null) want = Math.min(parallelism, completions - succeeded);
  else want = succeeded > 0 ? 0 : parallelism; // work-queue jobs: once one succeeds no new pods start
  want = Math.max(0, want);
  if (active.length < want) plan.create = want - active.length;
  // Upstream's pod failure backoff: after the n-th failure wait 10 s × 2^(n-1) (at most 6 min) before
  // starting replacements, so a crashing job does not burn through its backoffLimit in seconds.
  const lastFailure = Math.max(0, ...pods.filter((p) => p.status?.phase === 'Failed').map(failedAt));
  if (plan.create > 0 && failed > 0 && lastFailure > 0) {
    const wait = lastFailure + Math.min(POD_FAILURE_BACKOFF_MAX_MS, POD_FAILURE_BACKOFF_MS * 2 ** (failed - 1)) - nowMs;
    if (wait > 0) {
      plan.create = 0;
      plan.requeueAfterMs = Math.min(plan.requeueAfterMs ?? Infinity, wait);
    }
  }
  else if (active.length > want) plan.remove = [...active].sort((a, b) => (isPodReady(a) ? 1 : 0) - (isPodReady(b) ? 1 : 0)).slice(0, active.length - want);
  return plan;
}

/** Upstream's pod name prefix and labels for a Job's pods. */
export function jobPodTemplate(job: Job): PodTemplateSpec {
  const t = JSON.parse(JSON.stringify(job.spec.template)) as PodTemplateSpec;
  const labels = { ...(t.metadata?.labels ?? {}) };
  if (job.metadata.uid) {
    labels['batch.kubernetes.io/controller-uid'] ??= job.metadata.uid;
    labels['controller-uid'] ??= job.metadata.uid;
  }
  labels['batch.kubernetes.io/job-name'] ??= job.metadata.name!;
  labels['job-name'] ??= job.metadata.name!;
  t.metadata = { ...(t.metadata ?? {}), labels };
  return t;
}
