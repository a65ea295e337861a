/**
 * The Deployment reconciler (upstream's deployment controller): owns ReplicaSets by selector, creates the
 * new ReplicaSet for the current template (name <deployment>-<pod-template-hash>), rolls pods over with
 * RollingUpdate or Recreate, scales proportionally on a replicas change, keeps revision annotations,
 * cleans old ReplicaSets beyond revisionHistoryLimit, and writes the status and conditions that
 * `kubectl rollout status` reads. All decisions are in ./logic.ts.
 */
import { isSkiffError } from '../../common/errors';
import { selectorIsEmpty, selectorMatches } from '../../client/labels';
import { RESOURCES } from '../../client/resources';
import { Deployment, Pod, ReplicaSet, controllerRef, keyOf, splitKey } from '../../client/types';
import { ControllerContext } from '../context';
import { adopt, jsonEqual, release } from '../owner';
import { claim, controllerRefTo } from '../replicaset/logic';
import { Controller, ReconcileResult } from '../runner';
import { POD_TEMPLATE_HASH, computeHash, equalIgnoreHash } from './hash';
import * as L from './logic';

export const DEPLOYMENT_COMPONENT = 'deployment-controller';

export function startDeploymentController(ctx: ControllerContext, workers = 2): Controller {
  const dInf = ctx.informer<Deployment>(RESOURCES.deployments);
  const rsInf = ctx.informer<ReplicaSet>(RESOURCES.replicasets);
  const podInf = ctx.informer<Pod>(RESOURCES.pods);
  const recorder = ctx.recorder(DEPLOYMENT_COMPONENT);
  const controller = new Controller('deployment', reconcile, { workers, clock: ctx.clock, log: ctx.log });
  const client = ctx.client;

  const enqueueOwnerOfRS = (rs: ReplicaSet) => {
    const ref = controllerRef(rs);
    if (ref?.kind === 'Deployment') controller.enqueue(`${rs.metadata.namespace}/${ref.name}`);
    else if (!ref) {
      for (const d of dInf.cache.byIndex('namespace', rs.metadata.namespace ?? '')) if (selectorMatches(d.spec.selector, rs.metadata.labels)) controller.enqueue(keyOf(d));
    }
  };
  dInf.addEventHandler({
    add: (d) => controller.enqueue(keyOf(d)),
    update: (_o, d) => controller.enqueue(keyOf(d)),
    delete: (d) => controller.enqueue(keyOf(d)),
  });
  rsInf.addEventHandler({
    add: enqueueOwnerOfRS,
    update: (o, n) => {
      enqueueOwnerOfRS(n);
      if (controllerRef(o)?.uid !== controllerRef(n)?.uid) enqueueOwnerOfRS(o);
    },
    delete: enqueueOwnerOfRS,
  });
  // Recreate waits for old pods to be gone: hear about their deletion.
  podInf.addEventHandler({
    delete: (p) => {
      const ref = controllerRef(p);
      if (ref?.kind !== 'ReplicaSet') return;
      const rs = rsInf.cache.getByName(p.metadata.namespace, ref.name);
      if (rs) enqueueOwnerOfRS(rs);
    },
  });

  const now = () => ctx.clock.now();

  async function patchStatus(d: Deployment, status: L.DeploymentStatus): Promise<void> {
    const cur = { ...(d.status ?? {}) };
    const norm = (s: Record<string, unknown>) => ({
      observedGeneration: s.observedGeneration ?? 0,
      replicas: s.replicas ?? 0,
      updatedReplicas: s.updatedReplicas ?? 0,
      readyReplicas: s.readyReplicas ?? 0,
      availableReplicas: s.availableReplicas ?? 0,
      unavailableReplicas: s.unavailableReplicas ?? 0,
      conditions: s.conditions ?? [],
      collisionCount: s.collisionCount,
    });
    if (jsonEqual(norm(cur), norm(status as unknown as Record<string, unknown>))) return;
    const updated = await client.patch<Deployment>(RESOURCES.deployments, d.metadata.namespace, d.metadata.name!, { status }, 'merge', { subresource: 'status' });
    d.status = updated.status ?? (status as Deployment['status']);
  }

  async function scaleRS(d: Deployment, rs: ReplicaSet, replicas: number): Promise<ReplicaSet> {
    const from = L.specReplicas(rs);
    const want = L.replicasAnnotations(d);
    const annNeedsUpdate = Object.entries(want).some(([k, v]) => rs.metadata.annotations?.[k] !== v);
    if (from === replicas && !annNeedsUpdate) return rs;
    const updated = await client.patch<ReplicaSet>(
      RESOURCES.replicasets,
      rs.metadata.namespace,
      rs.metadata.name!,
      { metadata: { annotations: want }, spec: { replicas } },
      'merge',
    );
    if (from !== replicas) {
      recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${replicas > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${replicas}`);
    }
    return updated;
  }

  /** Owned ReplicaSets (adopting and releasing by selector). */
  async function claimReplicaSets(d: Deployment): Promise<ReplicaSet[]> {
    const ref = controllerRefTo(d, 'apps/v1', 'Deployment');
    const c = claim(d, rsInf.cache.byIndex('namespace', d.metadata.namespace ?? ''));
    for (const rs of c.adopt) await adopt(client, RESOURCES.replicasets, rs, ref);
    for (const rs of c.release) await release(client, RESOURCES.replicasets, rs, d.metadata.uid!);
    return [...c.owned, ...c.adopt];
  }

  /** Upstream's getAllReplicaSetsAndSyncRevision: the new RS (created when asked) and the old ones. */
  async function getAll(d: Deployment, rsList: ReplicaSet[], create: boolean): Promise<{ newRS?: ReplicaSet; oldRSs: ReplicaSet[] }> {
    const sorted = L.sortByCreation(rsList);
    let newRS = sorted.find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
    const oldRSs = sorted.filter((rs) => rs !== newRS);
    const newRevision = L.maxRevision(oldRSs) + 1;
    const ns = d.metadata.namespace!;

    if (newRS) {
      const ann = L.newRSAnnotations(d, newRS, newRevision);
      const minReady = d.spec.minReadySeconds ?? 0;
      if (ann || (newRS.spec.minReadySeconds ?? 0) !== minReady) {
        newRS = await client.patch<ReplicaSet>(RESOURCES.replicasets, ns, newRS.metadata.name!, { metadata: { annotations: ann ?? newRS.metadata.annotations }, spec: { minReadySeconds: minReady } }, 'merge');
      }
      await syncDeploymentRevision(d, L.revisionOf(newRS!));
      if (L.hasProgressDeadline(d) && !L.getCondition(d.status?.conditions, 'Progressing')) {
        const status = L.calculateStatus(d, [...oldRSs, newRS!], newRS, now());
        status.conditions = L.setCondition(status.conditions, L.condition('Progressing', 'True', L.FOUND_NEW_RS, `Found new replica set "${newRS!.metadata.name}"`, now()));
        await patchStatus(d, status);
      }
      return { newRS, oldRSs };
    }
    if (!create) return { oldRSs };

    const collisionCount = d.status?.collisionCount;
    const hash = computeHash(d.spec.template, collisionCount);
    const template = JSON.parse(JSON.stringify(d.spec.template));
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash } };
    const selector = JSON.parse(JSON.stringify(d.spec.selector));
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const draft: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: ns,
        labels: template.metadata.labels,
        annotations: { ...L.copiedAnnotations(d), [L.REVISION]: String(newRevision) },
        ownerReferences: [controllerRefTo(d, 'apps/v1', 'Deployment')],
      },
      spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
    };
    const replicas = L.newRSNewReplicas(d, oldRSs, draft);
    draft.spec.replicas = replicas;
    Object.assign(draft.metadata.annotations!, L.replicasAnnotations(d));
    let created: ReplicaSet;
    try {
      created = await client.create<ReplicaSet>(RESOURCES.replicasets, ns, draft);
    } catch (err) {
      if (!isSkiffError(err, 'AlreadyExists')) throw err;
      const existing = await client.get<ReplicaSet>(RESOURCES.replicasets, ns, draft.metadata.name!);
      if (controllerRef(existing)?.uid === d.metadata.uid && equalIgnoreHash(existing.spec.template, d.spec.template)) {
        return { newRS: existing, oldRSs };
      }
      // A hash collision: bump collisionCount so the next hash differs (upstream does the same).
      const status = L.calculateStatus(d, oldRSs, undefined, now());
      status.collisionCount = (collisionCount ?? 0) + 1;
      await patchStatus(d, status);
      throw new Error(`hash collision for ReplicaSet ${draft.metadata.name}; collisionCount is now ${status.collisionCount}`);
    }
    if (replicas > 0) recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`);
    await syncDeploymentRevision(d, newRevision);
    if (L.hasProgressDeadline(d)) {
      const status = L.calculateStatus(d, [...oldRSs, created], created, now());
      status.conditions = L.setCondition(status.conditions, L.condition('Progressing', 'True', L.NEW_RS_CREATED, `Created new replica set "${created.metadata.name}"`, now()));
      await patchStatus(d, status);
    }
    return { newRS: created, oldRSs };
  }

  async function syncDeploymentRevision(d: Deployment, revision: number): Promise<void> {
    if (!revision || d.metadata.annotations?.[L.REVISION] === String(revision)) return;
    const updated = await client.patch<Deployment>(RESOURCES.deployments, d.metadata.namespace, d.metadata.name!, { metadata: { annotations: { [L.REVISION]: String(revision) } } }, 'merge');
    d.metadata.annotations = updated.metadata.annotations;
  }

  async function cleanup(d: Deployment, oldRSs: ReplicaSet[]): Promise<void> {
    for (const rs of L.rsToCleanup(d, oldRSs)) {
      try {
        await client.delete(RESOURCES.replicasets, rs.metadata.namespace, rs.metadata.name!, { preconditions: { uid: rs.metadata.uid } });
      } catch (err) {
        if (!isSkiffError(err, 'NotFound')) throw err;
      }
    }
  }

  async function syncRolloutStatus(d: Deployment, allRSs: ReplicaSet[], newRS: ReplicaSet | undefined): Promise<ReconcileResult | void> {
    const status = L.rolloutStatus(d, allRSs, newRS, now());
    await patchStatus(d, status);
    const wait = L.msUntilProgressCheck(d, status, now());
    return wait !== undefined ? { requeueAfterMs: wait } : undefined;
  }

  /** Scaling and paused deployments (upstream's sync). */
  async function sync(d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await getAll(d, rsList, false);
    const steps = L.planScale(d, newRS, oldRSs);
    const scaled = new Map<string, ReplicaSet>();
    for (const s of steps) scaled.set(s.rs.metadata.uid!, await scaleRS(d, s.rs, s.replicas));
    const pick = (rs: ReplicaSet) => scaled.get(rs.metadata.uid!) ?? rs;
    const all = [...oldRSs.map(pick), ...(newRS ? [pick(newRS)] : [])];
    if (d.spec.paused) await cleanup(d, oldRSs.map(pick));
    await patchStatus(d, L.calculateStatus(d, all, newRS ? pick(newRS) : undefined, now()));
  }

  async function rolloutRolling(d: Deployment, rsList: ReplicaSet[]): Promise<ReconcileResult | void> {
    let { newRS, oldRSs } = await getAll(d, rsList, true);
    // reconcileNewReplicaSet
    const all = () => [...oldRSs, ...(newRS ? [newRS] : [])];
    if (newRS) {
      const target = L.specReplicas(newRS) > L.replicasOf(d) ? L.replicasOf(d) : L.newRSNewReplicas(d, all(), newRS);
      if (target !== L.specReplicas(newRS)) {
        const scaledUp = target > L.specReplicas(newRS);
        newRS = await scaleRS(d, newRS, target);
        if (scaledUp) return syncRolloutStatus(d, all(), newRS);
      } else {
        newRS = await scaleRS(d, newRS, target); // keeps desired/max annotations current
      }
    }
    // reconcileOldReplicaSets
    const steps = L.planOldScaleDown(d, oldRSs, newRS);
    if (steps.length) {
      for (const s of steps) {
        const updated = await scaleRS(d, s.rs, s.replicas);
        oldRSs = oldRSs.map((rs) => (rs.metadata.uid === updated.metadata.uid ? updated : rs));
      }
      return syncRolloutStatus(d, all(), newRS);
    }
    const probe = L.calculateStatus(d, all(), newRS, now());
    if (L.deploymentComplete(d, probe)) await cleanup(d, oldRSs);
    return syncRolloutStatus(d, all(), newRS);
  }

  async function rolloutRecreate(d: Deployment, rsList: ReplicaSet[]): Promise<ReconcileResult | void> {
    let { newRS, oldRSs } = await getAll(d, rsList, false);
    const active = oldRSs.filter((rs) => L.specReplicas(rs) > 0);
    if (active.length) {
      for (const rs of active) await scaleRS(d, rs, 0);
      return syncRolloutStatus(d, [...oldRSs, ...(newRS ? [newRS] : [])], newRS);
    }
    // Wait until every pod of the old ReplicaSets is gone (Recreate's guarantee).
    const oldRunning =
      L.sumStatus(oldRSs, 'replicas') > 0 ||
      oldRSs.some((rs) => podInf.cache.byIndex('owner', rs.metadata.uid!).some((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed'));
    if (oldRunning) return syncRolloutStatus(d, [...oldRSs, ...(newRS ? [newRS] : [])], newRS);
    if (!newRS) ({ newRS, oldRSs } = await getAll(d, rsList, true));
    if (newRS && L.specReplicas(newRS) !== L.replicasOf(d)) newRS = await scaleRS(d, newRS, L.replicasOf(d));
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    if (L.deploymentComplete(d, L.calculateStatus(d, all, newRS, now()))) await cleanup(d, oldRSs);
    return syncRolloutStatus(d, all, newRS);
  }

  async function checkPausedConditions(d: Deployment): Promise<void> {
    if (!L.hasProgressDeadline(d)) return;
    const cond = L.getCondition(d.status?.conditions, 'Progressing');
    const pausedExists = cond?.reason === L.PAUSED;
    let c;
    if (d.spec.paused && !pausedExists) c = L.condition('Progressing', 'Unknown', L.PAUSED, 'Deployment is paused', now());
    else if (!d.spec.paused && pausedExists) c = L.condition('Progressing', 'Unknown', L.RESUMED, 'Deployment is resumed', now());
    if (!c) return;
    const conditions = L.setCondition([...(d.status?.conditions ?? [])], c);
    const updated = await client.patch<Deployment>(RESOURCES.deployments, d.metadata.namespace, d.metadata.name!, { status: { conditions } }, 'merge', { subresource: 'status' });
    d.status = updated.status;
  }

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const cached = dInf.cache.getByName(namespace, name);
    if (!cached) return;
    const d: Deployment = JSON.parse(JSON.stringify(cached)); // never mutate the shared cache
    if (selectorIsEmpty(d.spec.selector)) {
      recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      return;
    }
    try {
      const rsList = await claimReplicaSets(d);
      if (d.metadata.deletionTimestamp) {
        const { newRS, oldRSs } = await getAll(d, rsList, false);
        await patchStatus(d, L.calculateStatus(d, [...oldRSs, ...(newRS ? [newRS] : [])], newRS, now()));
        return;
      }
      await checkPausedConditions(d);
      if (d.spec.paused) return await sync(d, rsList);
      const { newRS, oldRSs } = await getAll(d, rsList, false);
      if (L.isScalingEvent(d, [...oldRSs, ...(newRS ? [newRS] : [])])) return await sync(d, rsList);
      return L.isRollingUpdate(d) ? await rolloutRolling(d, rsList) : await rolloutRecreate(d, rsList);
    } catch (err) {
      if (isSkiffError(err, 'NotFound')) return; // the deployment went away mid-sync
      throw err;
    }
  }

  return controller;
}
