/**
 * Deployment arithmetic and status, pure, following upstream's pkg/controller/deployment (util,
 * rolling.go, sync.go, progress.go): int-or-percent fenceposts, how far the new ReplicaSet may grow, how
 * far old ones may shrink, proportional scaling, revisions, conditions and status.
 */
import { Condition, Deployment, IntOrString, ReplicaSet } from '../../client/types';
import { rfc3339 } from '../podutil';

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const SKIP_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);

// Condition reasons (upstream's deploymentutil constants).
export const NEW_RS_CREATED = 'NewReplicaSetCreated';
export const FOUND_NEW_RS = 'FoundNewReplicaSet';
export const RS_UPDATED = 'ReplicaSetUpdated';
export const NEW_RS_AVAILABLE = 'NewReplicaSetAvailable';
export const TIMED_OUT = 'ProgressDeadlineExceeded';
export const PAUSED = 'DeploymentPaused';
export const RESUMED = 'DeploymentResumed';
export const MIN_AVAILABLE = 'MinimumReplicasAvailable';
export const MIN_UNAVAILABLE = 'MinimumReplicasUnavailable';

const MAX_INT32 = 2147483647;

/** Upstream's GetScaledValueFromIntOrPercent. */
export function scaledValue(v: IntOrString | undefined, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    if (/^\d+$/.test(v)) return Number(v);
    throw new Error(`invalid value for IntOrString: invalid value "${v}"`);
  }
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

export function replicasOf(d: Deployment): number {
  return d.spec.replicas ?? 1;
}

export function isRollingUpdate(d: Deployment): boolean {
  return (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/** Upstream's ResolveFenceposts: surge rounds up, unavailable down; both zero → one unavailable. */
export function resolveFenceposts(maxSurge: IntOrString | undefined, maxUnavailable: IntOrString | undefined, desired: number): [number, number] {
  const surge = scaledValue(maxSurge ?? '25%', desired, true);
  let unavailable = scaledValue(maxUnavailable ?? '25%', desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, unavailable];
}

export function maxSurge(d: Deployment): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  return resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, replicasOf(d))[0];
}

export function maxUnavailable(d: Deployment): number {
  if (!isRollingUpdate(d) || replicasOf(d) === 0) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  const u = resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, replicasOf(d))[1];
  return Math.min(u, replicasOf(d));
}

export const specReplicas = (rs: ReplicaSet | undefined) => rs?.spec.replicas ?? 0;
export const sumSpec = (rss: Array<ReplicaSet | undefined>) => rss.reduce((s, rs) => s + specReplicas(rs), 0);
export const sumStatus = (rss: Array<ReplicaSet | undefined>, f: 'replicas' | 'readyReplicas' | 'availableReplicas') =>
  rss.reduce((s, rs) => s + ((rs?.status?.[f] as number | undefined) ?? 0), 0);

/** Upstream's NewRSNewReplicas: how big the new ReplicaSet may be now. */
export function newRSNewReplicas(d: Deployment, allRSs: ReplicaSet[], newRS: ReplicaSet): number {
  if (!isRollingUpdate(d)) return replicasOf(d);
  const surge = maxSurge(d);
  const current = sumSpec(allRSs);
  const maxTotal = replicasOf(d) + surge;
  if (current >= maxTotal) return specReplicas(newRS);
  const scaleUp = Math.min(maxTotal - current, replicasOf(d) - specReplicas(newRS));
  return specReplicas(newRS) + scaleUp;
}

const byCreation = (a: ReplicaSet, b: ReplicaSet) => {
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
};

export function sortByCreation(rss: ReplicaSet[]): ReplicaSet[] {
  return [...rss].sort(byCreation);
}

export interface ScaleStep {
  rs: ReplicaSet;
  replicas: number;
}

/**
 * Upstream's reconcileOldReplicaSets for RollingUpdate: first scale down unhealthy old pods (they do not
 * count toward availability), then healthy ones as far as minAvailable allows. Returns the scale steps.
 */
export function planOldScaleDown(d: Deployment, oldRSs: ReplicaSet[], newRS: ReplicaSet | undefined): ScaleStep[] {
  const active = oldRSs.filter((rs) => specReplicas(rs) > 0);
  const oldPods = sumSpec(active);
  if (oldPods === 0) return [];
  const allPods = oldPods + specReplicas(newRS);
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const newUnavailable = specReplicas(newRS) - ((newRS?.status?.availableReplicas as number | undefined) ?? 0);
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return [];

  const sizes = new Map<ReplicaSet, number>(active.map((rs) => [rs, specReplicas(rs)]));
  // cleanupUnhealthyReplicas
  let cleaned = 0;
  for (const rs of sortByCreation(active)) {
    if (cleaned >= maxScaledDown) break;
    const size = sizes.get(rs)!;
    if (size === 0) continue;
    const unhealthy = size - ((rs.status?.availableReplicas as number | undefined) ?? 0);
    if (unhealthy <= 0) continue;
    const down = Math.min(maxScaledDown - cleaned, unhealthy);
    sizes.set(rs, size - down);
    cleaned += down;
  }
  // scaleDownOldReplicaSetsForRollingUpdate
  const available = sumStatus([...active, newRS], 'availableReplicas');
  if (available > minAvailable) {
    const total = available - minAvailable;
    let done = 0;
    for (const rs of sortByCreation(active)) {
      if (done >= total) break;
      const size = sizes.get(rs)!;
      if (size === 0) continue;
      const down = Math.min(size, total - done);
      sizes.set(rs, size - down);
      done += down;
    }
  }
  return active.filter((rs) => sizes.get(rs) !== specReplicas(rs)).map((rs) => ({ rs, replicas: sizes.get(rs)! }));
}

export function annotationInt(rs: ReplicaSet, key: string): number | undefined {
  const v = rs.metadata.annotations?.[key];
  if (v === undefined || !/^-?\d+$/.test(v)) return undefined;
  return Number(v);
}

export function revisionOf(obj: { metadata: { annotations?: Record<string, string> } }): number {
  const v = obj.metadata.annotations?.[REVISION];
  return v && /^\d+$/.test(v) ? Number(v) : 0;
}

export function maxRevision(rss: ReplicaSet[]): number {
  return rss.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
}

/** Upstream's FindActiveOrLatest: the one RS to scale when only one has replicas (or none do). */
export function findActiveOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const newestFirst = sortByCreation(oldRSs).reverse();
  const active = [...oldRSs, ...(newRS ? [newRS] : [])].filter((rs) => specReplicas(rs) > 0);
  if (active.length === 0) return newRS ?? newestFirst[0];
  if (active.length === 1) return active[0];
  return undefined;
}

export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  return annotationInt(rs, DESIRED_REPLICAS) === replicasOf(d) && specReplicas(rs) === replicasOf(d) && ((rs.status?.availableReplicas as number | undefined) ?? 0) === replicasOf(d);
}

export function isScalingEvent(d: Deployment, allRSs: ReplicaSet[]): boolean {
  for (const rs of allRSs) {
    if (specReplicas(rs) <= 0) continue;
    const desired = annotationInt(rs, DESIRED_REPLICAS);
    if (desired !== undefined && desired !== replicasOf(d)) return true;
  }
  return false;
}

/** Upstream's `scale` (sync.go): proportional scaling of all active ReplicaSets on a replicas change. */
export function planScale(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ScaleStep[] {
  const target = findActiveOrLatest(newRS, oldRSs);
  if (target) return specReplicas(target) === replicasOf(d) ? [] : [{ rs: target, replicas: replicasOf(d) }];
  if (isSaturated(d, newRS)) return oldRSs.filter((rs) => specReplicas(rs) > 0).map((rs) => ({ rs, replicas: 0 }));
  if (!isRollingUpdate(d)) return [];
  let all = [...oldRSs, ...(newRS ? [newRS] : [])].filter((rs) => specReplicas(rs) > 0);
  const allReplicas = sumSpec(all);
  const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
  const toAdd = allowed - allReplicas;
  const created = (rs: ReplicaSet) => Date.parse(rs.metadata.creationTimestamp ?? '') || 0;
  if (toAdd > 0) all = all.sort((a, b) => specReplicas(b) - specReplicas(a) || created(b) - created(a)); // larger, then newer first
  else if (toAdd < 0) all = all.sort((a, b) => specReplicas(b) - specReplicas(a) || created(a) - created(b)); // larger, then older first
  let added = 0;
  const sizes = new Map<ReplicaSet, number>();
  for (const rs of all) {
    if (toAdd !== 0) {
      const p = proportion(rs, d, toAdd, added);
      sizes.set(rs, specReplicas(rs) + p);
      added += p;
    } else sizes.set(rs, specReplicas(rs));
  }
  if (all.length && toAdd !== 0) sizes.set(all[0], Math.max(0, sizes.get(all[0])! + toAdd - added));
  return all.filter((rs) => sizes.get(rs) !== specReplicas(rs)).map((rs) => ({ rs, replicas: sizes.get(rs)! }));
}

function proportion(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  if (specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(rs: ReplicaSet, d: Deployment): number {
  if (replicasOf(d) === 0) return -specReplicas(rs);
  const deploymentReplicas = replicasOf(d) + maxSurge(d);
  const annotated = annotationInt(rs, MAX_REPLICAS) ?? d.status?.replicas ?? 0;
  if (annotated === 0) return 0;
  // Go's math.Round rounds half away from zero.
  const newSize = (specReplicas(rs) * deploymentReplicas) / annotated;
  return Math.sign(newSize) * Math.round(Math.abs(newSize)) - specReplicas(rs);
}

/** Annotations a new ReplicaSet copies from its Deployment (upstream skips its own bookkeeping ones). */
export function copiedAnnotations(d: Deployment): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!SKIP_ANNOTATIONS.has(k)) out[k] = v;
  return out;
}

/**
 * Upstream's SetNewReplicaSetAnnotations for an existing RS: copy the deployment's annotations and move the
 * revision forward (recording the old one in revision-history). Returns the new annotations, or undefined
 * when nothing changes.
 */
export function newRSAnnotations(d: Deployment, rs: ReplicaSet, newRevision: number): Record<string, string> | undefined {
  const ann = { ...(rs.metadata.annotations ?? {}) };
  let changed = false;
  for (const [k, v] of Object.entries(copiedAnnotations(d))) {
    if (ann[k] !== v) {
      ann[k] = v;
      changed = true;
    }
  }
  const old = ann[REVISION];
  const oldNum = old && /^\d+$/.test(old) ? Number(old) : 0;
  if (oldNum < newRevision) {
    ann[REVISION] = String(newRevision);
    if (old) ann[REVISION_HISTORY] = ann[REVISION_HISTORY] ? `${ann[REVISION_HISTORY]},${old}` : old;
    changed = true;
  }
  return changed ? ann : undefined;
}

export function replicasAnnotations(d: Deployment): Record<string, string> {
  return { [DESIRED_REPLICAS]: String(replicasOf(d)), [MAX_REPLICAS]: String(replicasOf(d) + maxSurge(d)) };
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  unavailableReplicas: number;
  conditions: Condition[];
  collisionCount?: number;
}

export function getCondition(conds: Condition[] | undefined, type: string): Condition | undefined {
  return conds?.find((c) => c.type === type);
}

/** Upstream's SetDeploymentCondition: keep lastTransitionTime when the status does not change. */
export function setCondition(conds: Condition[], c: Condition): Condition[] {
  const cur = getCondition(conds, c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return conds;
  const next = { ...c };
  if (cur && cur.status === c.status) next.lastTransitionTime = cur.lastTransitionTime;
  return [...conds.filter((x) => x.type !== c.type), next];
}

export function condition(type: string, status: Condition['status'], reason: string, message: string, nowMs: number): Condition {
  const t = rfc3339(nowMs);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** Upstream's calculateStatus (sync.go). */
export function calculateStatus(d: Deployment, allRSs: ReplicaSet[], newRS: ReplicaSet | undefined, nowMs: number): DeploymentStatus {
  const available = sumStatus(allRSs, 'availableReplicas');
  const total = sumSpec(allRSs);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation,
    replicas: sumStatus(allRSs, 'replicas'),
    updatedReplicas: sumStatus([newRS], 'replicas'),
    readyReplicas: sumStatus(allRSs, 'readyReplicas'),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
    conditions: [...(d.status?.conditions ?? [])],
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (available >= replicasOf(d) - maxUnavailable(d)) {
    status.conditions = setCondition(status.conditions, condition('Available', 'True', MIN_AVAILABLE, 'Deployment has minimum availability.', nowMs));
  } else {
    status.conditions = setCondition(status.conditions, condition('Available', 'False', MIN_UNAVAILABLE, 'Deployment does not have minimum availability.', nowMs));
  }
  return status;
}

export function hasProgressDeadline(d: Deployment): boolean {
  const p = d.spec.progressDeadlineSeconds;
  return p !== undefined && p !== null && p !== MAX_INT32;
}

/** Upstream's DeploymentComplete. */
export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const r = replicasOf(d);
  return s.updatedReplicas === r && s.replicas === r && s.availableReplicas === r && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** Upstream's DeploymentProgressing: any forward movement compared to the stored status. */
export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const o = d.status ?? {};
  const oldOld = (o.replicas ?? 0) - (o.updatedReplicas ?? 0);
  const newOld = s.replicas - s.updatedReplicas;
  return s.updatedReplicas > (o.updatedReplicas ?? 0) || newOld < oldOld || s.readyReplicas > (o.readyReplicas ?? 0) || s.availableReplicas > (o.availableReplicas ?? 0);
}

/** Upstream's DeploymentTimedOut. */
export function deploymentTimedOut(d: Deployment, s: DeploymentStatus, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(s.conditions, 'Progressing');
  if (!c) return false;
  if (c.reason === NEW_RS_AVAILABLE) return false;
  if (c.reason === TIMED_OUT) return true;
  const from = Date.parse(c.lastUpdateTime ?? c.lastTransitionTime ?? '');
  return !Number.isNaN(from) && from + d.spec.progressDeadlineSeconds! * 1000 < nowMs;
}

/** Upstream's syncRolloutStatus condition logic; returns the status to write. */
export function rolloutStatus(d: Deployment, allRSs: ReplicaSet[], newRS: ReplicaSet | undefined, nowMs: number): DeploymentStatus {
  const s = calculateStatus(d, allRSs, newRS, nowMs);
  if (!hasProgressDeadline(d)) s.conditions = s.conditions.filter((c) => c.type !== 'Progressing');
  const cur = getCondition(s.conditions, 'Progressing');
  const isComplete = s.replicas === s.updatedReplicas && cur?.reason === NEW_RS_AVAILABLE;
  if (hasProgressDeadline(d) && !isComplete) {
    const name = newRS?.metadata.name;
    if (deploymentComplete(d, s)) {
      s.conditions = setCondition(s.conditions, condition('Progressing', 'True', NEW_RS_AVAILABLE, `ReplicaSet "${name}" has successfully progressed.`, nowMs));
    } else if (deploymentProgressing(d, s)) {
      const c = condition('Progressing', 'True', RS_UPDATED, `ReplicaSet "${name}" is progressing.`, nowMs);
      // Progress refreshes lastUpdateTime even when the reason stays, which restarts the deadline.
      if (cur && cur.status === 'True') c.lastTransitionTime = cur.lastTransitionTime;
      s.conditions = [...s.conditions.filter((x) => x.type !== 'Progressing'), c];
    } else if (deploymentTimedOut(d, s, nowMs)) {
      s.conditions = setCondition(s.conditions, condition('Progressing', 'False', TIMED_OUT, `ReplicaSet "${name}" has timed out progressing.`, nowMs));
    }
  }
  return s;
}

/** When to look again for a stuck rollout (upstream's requeueStuckDeployment); undefined: no need. */
export function msUntilProgressCheck(d: Deployment, s: DeploymentStatus, nowMs: number): number | undefined {
  const c = getCondition(s.conditions, 'Progressing');
  if (!hasProgressDeadline(d) || !c || c.reason === NEW_RS_AVAILABLE || c.reason === TIMED_OUT || deploymentComplete(d, s)) return undefined;
  const from = Date.parse(c.lastUpdateTime ?? '');
  if (Number.isNaN(from)) return undefined;
  return Math.max(0, from + d.spec.progressDeadlineSeconds! * 1000 - nowMs) + 1000;
}

/** Old ReplicaSets beyond revisionHistoryLimit that may be deleted (scaled to zero and settled), oldest first. */
export function rsToCleanup(d: Deployment, oldRSs: ReplicaSet[]): ReplicaSet[] {
  const limit = d.spec.revisionHistoryLimit ?? 10;
  const alive = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
  const diff = alive.length - limit;
  if (diff <= 0) return [];
  const sorted = [...alive].sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  const out: ReplicaSet[] = [];
  for (const rs of sorted) {
    if (out.length >= diff) break;
    if (specReplicas(rs) !== 0 || ((rs.status?.replicas as number | undefined) ?? 0) !== 0) continue;
    if ((rs.metadata.generation ?? 0) > ((rs.status?.observedGeneration as number | undefined) ?? 0)) continue;
    out.push(rs);
  }
  return out;
}
