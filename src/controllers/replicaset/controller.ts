/**
 * The ReplicaSet reconciler: keeps spec.replicas active pods, adopting and releasing by selector, replacing
 * pods that were deleted or terminated, and reporting status. Reads from shared informers, writes through
 * the API; expectations stop it from acting twice on a stale cache.
 */
import { isSkiffError } from '../../common/errors';
import { RESOURCES } from '../../client/resources';
import { Pod, ReplicaSet, controllerRef, keyOf, splitKey } from '../../client/types';
import { selectorMatches } from '../../client/labels';
import { ControllerContext } from '../context';
import { Expectations } from '../expectations';
import { adopt, countsEqual, jsonEqual, release } from '../owner';
import { isPodActive, msUntilAvailable } from '../podutil';
import { Controller } from '../runner';
import { claim, computeStatus, controllerRefTo, planReplicas, podFromTemplate, slowStartBatches } from './logic';

export const RS_COMPONENT = 'replicaset-controller';

export function startReplicaSetController(ctx: ControllerContext, workers = 2): Controller {
  const rsInf = ctx.informer<ReplicaSet>(RESOURCES.replicasets);
  const podInf = ctx.informer<Pod>(RESOURCES.pods);
  const recorder = ctx.recorder(RS_COMPONENT);
  const exp = new Expectations(ctx.clock);
  const controller = new Controller('replicaset', reconcile, { workers, clock: ctx.clock, log: ctx.log });

  const ownerKey = (p: Pod): string | undefined => {
    const ref = controllerRef(p);
    return ref?.kind === 'ReplicaSet' ? `${p.metadata.namespace}/${ref.name}` : undefined;
  };
  const enqueueMatching = (p: Pod) => {
    for (const rs of rsInf.cache.byIndex('namespace', p.metadata.namespace ?? '')) {
      if (selectorMatches(rs.spec.selector, p.metadata.labels)) controller.enqueue(keyOf(rs));
    }
  };

  rsInf.addEventHandler({
    add: (rs) => controller.enqueue(keyOf(rs)),
    update: (_o, rs) => controller.enqueue(keyOf(rs)),
    delete: (rs) => {
      exp.delete(keyOf(rs));
      controller.enqueue(keyOf(rs));
    },
  });
  podInf.addEventHandler({
    add: (p) => {
      const k = ownerKey(p);
      if (k) {
        exp.creationObserved(k);
        controller.enqueue(k);
      } else enqueueMatching(p);
    },
    update: (old, p) => {
      const k = ownerKey(p);
      const oldK = ownerKey(old);
      if (p.metadata.deletionTimestamp && !old.metadata.deletionTimestamp && k) exp.deletionObserved(k, p.metadata.uid);
      if (oldK && oldK !== k) controller.enqueue(oldK);
      if (k) controller.enqueue(k);
      else if (!jsonEqual(old.metadata.labels, p.metadata.labels) || !oldK) enqueueMatching(p);
    },
    delete: (p) => {
      const k = ownerKey(p);
      if (k) {
        exp.deletionObserved(k, p.metadata.uid);
        controller.enqueue(k);
      }
    },
  });

  async function reconcile(key: string) {
    const { namespace, name } = splitKey(key);
    const rs = rsInf.cache.getByName(namespace, name);
    if (!rs) {
      exp.delete(key);
      return;
    }
    const ref = controllerRefTo(rs, 'apps/v1', 'ReplicaSet');
    const candidates = podInf.cache.byIndex('namespace', namespace).filter(isPodActive);
    const claimed = claim(rs, candidates);
    for (const p of claimed.adopt) await adopt(ctx.client, RESOURCES.pods, p, ref);
    for (const p of claimed.release) await release(ctx.client, RESOURCES.pods, p, rs.metadata.uid!);
    const active = [...claimed.owned, ...claimed.adopt];
    const desired = rs.spec.replicas ?? 1;

    if (exp.satisfied(key) && !rs.metadata.deletionTimestamp) {
      const plan = planReplicas(desired, active, candidates);
      if (plan.create > 0) {
        exp.expect(key, plan.create);
        let failed: unknown;
        let skipped = 0;
        for (const batch of slowStartBatches(plan.create)) {
          if (failed) {
            skipped += batch;
            continue;
          }
          const results = await Promise.allSettled(
            Array.from({ length: batch }, () => ctx.client.create<Pod>(RESOURCES.pods, namespace, podFromTemplate(rs.spec.template, rs, ref))),
          );
          for (const r of results) {
            if (r.status === 'fulfilled') recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata.name}`);
            else {
              exp.creationFailed(key);
              failed ??= r.reason;
              recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${(r.reason as Error).message}`);
            }
          }
        }
        for (let i = 0; i < skipped; i++) exp.creationFailed(key);
        if (failed) throw failed;
      } else if (plan.remove.length > 0) {
        exp.expect(key, 0, plan.remove.map((p) => p.metadata.uid!));
        await Promise.all(
          plan.remove.map(async (p) => {
            try {
              await ctx.client.delete(RESOURCES.pods, namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
              recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
            } catch (err) {
              exp.deletionObserved(key, p.metadata.uid);
              if (!isSkiffError(err, 'NotFound')) {
                recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${(err as Error).message}`);
                throw err;
              }
            }
          }),
        );
      }
    }

    const now = ctx.clock.now();
    const status = computeStatus(rs, active, now);
    if (!countsEqual(rs.status, status, ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'])) {
      try {
        await ctx.client.patch(RESOURCES.replicasets, namespace, name, { status }, 'merge', { subresource: 'status' });
      } catch (err) {
        if (!isSkiffError(err, 'NotFound')) throw err;
      }
    }
    // Re-check when a ready pod crosses minReadySeconds, so availableReplicas moves without another event.
    const waits = active.map((p) => msUntilAvailable(p, rs.spec.minReadySeconds ?? 0, now)).filter((x): x is number => x !== undefined);
    if (waits.length) return { requeueAfterMs: Math.min(...waits) + 50 };
    return;
  }

  return controller;
}
