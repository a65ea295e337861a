/** The Job reconciler: runs pods to completion per ./logic.ts, deletes finished jobs after their TTL. */
import { isSkiffError } from '../../common/errors';
import { RESOURCES } from '../../client/resources';
import { Pod, controllerRef, keyOf, splitKey } from '../../client/types';
import { ControllerContext } from '../context';
import { Expectations } from '../expectations';
import { adopt } from '../owner';
import { claim, controllerRefTo, podFromTemplate } from '../replicaset/logic';
import { Controller, ReconcileResult } from '../runner';
import { Job, finishedCondition, jobPodTemplate, planJob } from './logic';
import { jsonEqual } from '../owner';

export const JOB_COMPONENT = 'job-controller';

export function startJobController(ctx: ControllerContext, workers = 2): Controller {
  const jobInf = ctx.informer<Job>(RESOURCES.jobs);
  const podInf = ctx.informer<Pod>(RESOURCES.pods);
  const recorder = ctx.recorder(JOB_COMPONENT);
  const exp = new Expectations(ctx.clock);
  const controller = new Controller('job', reconcile, { workers, clock: ctx.clock, log: ctx.log });
  const ownerKey = (p: Pod) => {
    const ref = controllerRef(p);
    return ref?.kind === 'Job' ? `${p.metadata.namespace}/${ref.name}` : undefined;
  };
  jobInf.addEventHandler({
    add: (j) => controller.enqueue(keyOf(j)),
    update: (_o, j) => controller.enqueue(keyOf(j)),
    delete: (j) => exp.delete(keyOf(j)),
  });
  podInf.addEventHandler({
    add: (p) => {
      const k = ownerKey(p);
      if (k) {
        exp.creationObserved(k);
        controller.enqueue(k);
      }
    },
    update: (_o, p) => {
      const k = ownerKey(p);
      if (k) controller.enqueue(k);
    },
    delete: (p) => {
      const k = ownerKey(p);
      if (k) {
        exp.deletionObserved(k, p.metadata.uid);
        controller.enqueue(k);
      }
    },
  });

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const job = jobInf.cache.getByName(namespace, name);
    if (!job || job.metadata.deletionTimestamp) return;
    const now = ctx.clock.now();

    // TTL after finished: delete the job (and its pods, by garbage collection).
    const done = finishedCondition(job);
    if (done && job.spec.ttlSecondsAfterFinished !== undefined && job.spec.ttlSecondsAfterFinished !== null) {
      const at = Date.parse(done.lastTransitionTime ?? job.status?.completionTime ?? '') + job.spec.ttlSecondsAfterFinished * 1000;
      if (!Number.isNaN(at) && at <= now) {
        await ctx.client.delete(RESOURCES.jobs, namespace, name, { propagationPolicy: 'Background', preconditions: { uid: job.metadata.uid } }).catch((err) => {
          if (!isSkiffError(err, 'NotFound')) throw err;
        });
        return;
      }
    }

    const ref = controllerRefTo(job, 'batch/v1', 'Job');
    const c = claim({ ...job, spec: { ...job.spec, selector: job.spec.selector ?? {} } }, podInf.cache.byIndex('namespace', namespace));
    for (const p of c.adopt) await adopt(ctx.client, RESOURCES.pods, p, ref);
    const pods = [...c.owned, ...c.adopt];
    const plan = planJob(job, pods, now);

    if (exp.satisfied(key)) {
      if (plan.create > 0) {
        exp.expect(key, plan.create);
        const tmpl = jobPodTemplate(job);
        const results = await Promise.allSettled(Array.from({ length: plan.create }, () => ctx.client.create<Pod>(RESOURCES.pods, namespace, podFromTemplate(tmpl, job, ref))));
        for (const r of results) {
          if (r.status === 'fulfilled') recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata.name}`);
          else {
            exp.creationFailed(key);
            recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${(r.reason as Error).message}`);
          }
        }
      }
      if (plan.remove.length) {
        exp.expect(key, 0, plan.remove.map((p) => p.metadata.uid!));
        for (const p of plan.remove) {
          try {
            await ctx.client.delete(RESOURCES.pods, namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
            recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
          } catch (err) {
            exp.deletionObserved(key, p.metadata.uid);
            if (!isSkiffError(err, 'NotFound')) throw err;
          }
        }
      }
    }
    for (const [type, reason, message] of plan.events) recorder.event(job, type, reason, message);
    if (!jsonEqual(job.status ?? {}, plan.status)) {
      await ctx.client.patch(RESOURCES.jobs, namespace, name, { status: plan.status }, 'merge', { subresource: 'status' }).catch((err) => {
        if (!isSkiffError(err, 'NotFound')) throw err;
      });
    }
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs + 50 } : undefined;
  }
  return controller;
}
