/**
 * ReplicaSet decisions, pure: which pods the set owns (adopt orphans that match, release owned pods that no
 * longer match), how many to create, which to delete (upstream's ranking), and the status to report.
 */
import { selectorMatches } from '../../client/labels';
import { KObject, LabelSelector, OwnerReference, Pod, PodTemplateSpec, ReplicaSet } from '../../client/types';
import { isPodActive, isPodAvailable, isPodReady, podCondition, restartCount } from '../podutil';

export interface Owner extends KObject {
  spec: { selector: LabelSelector; [k: string]: unknown };
}

export interface Claim<T extends KObject> {
  owned: T[];
  adopt: T[];
  release: T[];
}

/** Upstream's ClaimObjects: keep matching owned objects, adopt matching orphans, release non-matching owned ones. */
export function claim<T extends KObject>(owner: Owner, objs: T[]): Claim<T> {
  const out: Claim<T> = { owned: [], adopt: [], release: [] };
  const ownerDeleting = !!owner.metadata.deletionTimestamp;
  for (const o of objs) {
    const ref = o.metadata.ownerReferences?.find((r) => r.controller);
    const matches = selectorMatches(owner.spec.selector, o.metadata.labels);
    if (ref) {
      if (ref.uid !== owner.metadata.uid) continue;
      if (matches || ownerDeleting) out.owned.push(o);
      else out.release.push(o);
    } else if (matches && !ownerDeleting && !o.metadata.deletionTimestamp) {
      out.adopt.push(o);
    }
  }
  return out;
}

export function controllerRefTo(owner: KObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** upstream's GetPodFromTemplate. */
export function podFromTemplate(template: PodTemplateSpec, owner: KObject, ref: OwnerReference): Pod {
  const meta = template.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${owner.metadata.name}-`,
      namespace: owner.metadata.namespace,
      labels: { ...(meta.labels ?? {}) },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [ref],
    },
    spec: JSON.parse(JSON.stringify(template.spec)),
  };
}

function phaseRank(p: Pod): number {
  switch (p.status?.phase) {
    case 'Pending':
      return 0;
    case 'Unknown':
      return 1;
    case 'Running':
      return 2;
    default:
      return 3;
  }
}

function deletionCost(p: Pod): number {
  const v = Number(p.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost'] ?? 0);
  return Number.isFinite(v) ? v : 0;
}

function readyTime(p: Pod): number | undefined {
  const c = podCondition(p, 'Ready');
  return c?.status === 'True' && c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : undefined;
}

const created = (p: Pod) => (p.metadata.creationTimestamp ? Date.parse(p.metadata.creationTimestamp) : Infinity);

/**
 * Upstream's ActivePodsWithRanks ordering: pods earlier in the result are deleted first.
 * unscheduled < scheduled; Pending < Unknown < Running; not ready < ready; lower deletion cost first;
 * more co-located siblings first; ready for less time first; more restarts first; newer first.
 */
export function rankForDeletion(pods: Pod[], related: Pod[] = pods): Pod[] {
  const perNode = new Map<string, number>();
  for (const p of related) if (p.spec.nodeName && isPodActive(p)) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
  const rank = (p: Pod) => (p.spec.nodeName ? perNode.get(p.spec.nodeName) ?? 0 : 0);
  return [...pods].sort((a, b) => {
    const sa = a.spec.nodeName ? 1 : 0;
    const sb = b.spec.nodeName ? 1 : 0;
    if (sa !== sb) return sa - sb;
    if (phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b);
    const ra = isPodReady(a) ? 1 : 0;
    const rb = isPodReady(b) ? 1 : 0;
    if (ra !== rb) return ra - rb;
    if (deletionCost(a) !== deletionCost(b)) return deletionCost(a) - deletionCost(b);
    if (rank(a) !== rank(b)) return rank(b) - rank(a);
    const ta = readyTime(a);
    const tb = readyTime(b);
    if (ta !== undefined && tb !== undefined && ta !== tb) return tb - ta; // more recently ready first
    if (restartCount(a) !== restartCount(b)) return restartCount(b) - restartCount(a);
    if (created(a) !== created(b)) return created(b) - created(a); // newer first
    return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
  });
}

export interface ReplicaPlan {
  create: number;
  remove: Pod[];
}

/** Upstream's burstReplicas: at most this many creates or deletes per sync. */
export const BURST_REPLICAS = 500;

export function planReplicas(desired: number, active: Pod[], related: Pod[] = active): ReplicaPlan {
  const diff = active.length - desired;
  if (diff < 0) return { create: Math.min(-diff, BURST_REPLICAS), remove: [] };
  if (diff > 0) return { create: 0, remove: rankForDeletion(active, related).slice(0, Math.min(diff, BURST_REPLICAS)) };
  return { create: 0, remove: [] };
}

export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  observedGeneration?: number;
  conditions?: ReplicaSet['status'] extends infer S ? (S extends { conditions?: infer C } ? C : never) : never;
}

export function computeStatus(rs: ReplicaSet, active: Pod[], nowMs: number): ReplicaSetStatus {
  const templateLabels = rs.spec.template.metadata?.labels ?? {};
  const minReady = rs.spec.minReadySeconds ?? 0;
  const status: ReplicaSetStatus = {
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v)).length,
    readyReplicas: active.filter(isPodReady).length,
    availableReplicas: active.filter((p) => isPodAvailable(p, minReady, nowMs)).length,
    observedGeneration: rs.metadata.generation,
  };
  if (rs.status?.conditions?.length) status.conditions = rs.status.conditions;
  return status;
}

/** Slow start like upstream: batches of 1, 2, 4... so a broken template fails fast instead of N times. */
export function slowStartBatches(total: number, initial = 1): number[] {
  const out: number[] = [];
  let left = total;
  let size = Math.min(initial, left);
  while (left > 0) {
    out.push(size);
    left -= size;
    size = Math.min(2 * size, left);
  }
  return out;
}
