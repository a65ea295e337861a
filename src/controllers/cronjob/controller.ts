/** The CronJob reconciler: starts Jobs on schedule per ./logic.ts and keeps status and job history. */
import { isSkiffError } from '../../common/errors';
import { RESOURCES } from '../../client/resources';
import { keyOf, splitKey } from '../../client/types';
import { ControllerContext } from '../context';
import { isOwnedBy, rfc3339 } from '../podutil';
import { controllerRefTo } from '../replicaset/logic';
import { Controller, ReconcileResult } from '../runner';
import { Job, finishedCondition } from '../job/logic';
import { CronJob, jobNameFor, planCronJob } from './logic';
import { jsonEqual } from '../owner';

export const CRONJOB_COMPONENT = 'cronjob-controller';

export function startCronJobController(ctx: ControllerContext, workers = 1): Controller {
  const cjInf = ctx.informer<CronJob>(RESOURCES.cronjobs);
  const jobInf = ctx.informer<Job>(RESOURCES.jobs);
  const recorder = ctx.recorder(CRONJOB_COMPONENT);
  const controller = new Controller('cronjob', reconcile, { workers, clock: ctx.clock, log: ctx.log });
  cjInf.addEventHandler({ add: (c) => controller.enqueue(keyOf(c)), update: (_o, c) => controller.enqueue(keyOf(c)) });
  const onJob = (j: Job) => {
    const ref = j.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'CronJob');
    if (ref) controller.enqueue(`${j.metadata.namespace}/${ref.name}`);
  };
  jobInf.addEventHandler({ add: onJob, update: (_o, j) => onJob(j), delete: onJob });

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const cj = cjInf.cache.getByName(namespace, name);
    if (!cj || cj.metadata.deletionTimestamp) return;
    const now = ctx.clock.now();
    const jobs = jobInf.cache.byIndex('owner', cj.metadata.uid!).filter((j) => isOwnedBy(j, cj.metadata.uid));
    const plan = planCronJob(cj, jobs, now);
    if (plan.error) {
      recorder.event(cj, 'Warning', 'UnparseableSchedule', plan.error);
      return;
    }
    const del = async (j: Job) => {
      try {
        await ctx.client.delete(RESOURCES.jobs, namespace, j.metadata.name!, { propagationPolicy: 'Background' });
        recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`);
      } catch (err) {
        if (!isSkiffError(err, 'NotFound')) throw err;
      }
    };
    for (const j of plan.cleanup) await del(j);
    for (const j of plan.replace) await del(j);
    if (plan.skipped) recorder.event(cj, 'Normal', plan.skipped[0], plan.skipped[1]);

    const status = { ...(cj.status ?? {}) };
    let activeJobs = jobs.filter((j) => !finishedCondition(j) && !plan.replace.includes(j));
    if (plan.start !== undefined) {
      const jobName = jobNameFor(cj, plan.start);
      const tmpl = cj.spec.jobTemplate;
      const job: Job = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: jobName,
          namespace,
          labels: { ...(tmpl.metadata?.labels ?? {}) },
          annotations: { ...(tmpl.metadata?.annotations ?? {}), 'batch.kubernetes.io/cronjob-scheduled-timestamp': rfc3339(plan.start) },
          ownerReferences: [controllerRefTo(cj, 'batch/v1', 'CronJob')],
        },
        spec: JSON.parse(JSON.stringify(tmpl.spec)),
      };
      try {
        const created = await ctx.client.create<Job>(RESOURCES.jobs, namespace, job);
        recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${jobName}`);
        activeJobs = [...activeJobs, created];
      } catch (err) {
        if (!isSkiffError(err, 'AlreadyExists')) {
          recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(err as Error).message}`);
          throw err;
        }
      }
      status.lastScheduleTime = rfc3339(plan.start);
    }
    status.active = activeJobs.map((j) => ({ kind: 'Job', namespace, name: j.metadata.name, uid: j.metadata.uid, apiVersion: 'batch/v1', resourceVersion: j.metadata.resourceVersion }));
    if (!status.active.length) delete status.active;
    const lastOk = jobs.filter((j) => finishedCondition(j)?.type === 'Complete').map((j) => Date.parse(j.status?.completionTime ?? '') || 0).sort((a, b) => b - a)[0];
    if (lastOk) status.lastSuccessfulTime = rfc3339(lastOk);
    if (!jsonEqual(cj.status ?? {}, status)) {
      await ctx.client.patch(RESOURCES.cronjobs, namespace, name, { status: { active: status.active ?? null, lastScheduleTime: status.lastScheduleTime, lastSuccessfulTime: status.lastSuccessfulTime } }, 'merge', { subresource: 'status' }).catch((err) => {
        if (!isSkiffError(err, 'NotFound')) throw err;
      });
    }
    return plan.nextMs !== undefined ? { requeueAfterMs: Math.max(100, plan.nextMs - now + 100) } : undefined;
  }
  return controller;
}
