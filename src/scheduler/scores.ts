/**
 * Scoring: each scorer maps (pod, feasible nodes) → raw score per node; scores are normalised to 0..100
 * and summed with upstream's default weights. Pure functions.
 */
import { Pod } from '../client/types';
import { NodeInfo } from './nodeinfo';
import { effectiveTaints, termMatches, tolerated } from './filters';
import { podRequests } from './resources';

export const MAX_NODE_SCORE = 100;

export type Scorer = (pod: Pod, nodes: NodeInfo[]) => number[];

/** NodeResourcesFit LeastAllocated: free fraction of cpu and memory after placing the pod, equally weighted. */
export const leastAllocated: Scorer = (pod, nodes) => {
  const req = podRequests(pod, true);
  return nodes.map((n) => {
    let total = 0;
    let count = 0;
    for (const r of ['cpu', 'memory']) {
      const cap = n.allocatable[r] ?? 0;
      const used = (n.nonZeroRequested[r] ?? 0) + (req[r] ?? 0);
      count++;
      if (cap <= 0 || used > cap) continue;
      total += Math.floor(((cap - used) * MAX_NODE_SCORE) / cap);
    }
    return count ? Math.floor(total / count) : 0;
  });
};

/** The uid of the pod's controller (ReplicaSet, Job...), which defines its "replicas" for spreading. */
function controllerUid(pod: Pod): string | undefined {
  return pod.metadata.ownerReferences?.find((r) => r.controller)?.uid;
}

/**
 * Spread a controller's replicas across nodes (what upstream's default PodTopologySpread / SelectorSpread
 * achieve for hostname): fewer sibling pods on a node → higher score.
 */
export const spreadReplicas: Scorer = (pod, nodes) => {
  const owner = controllerUid(pod);
  if (!owner) return nodes.map(() => MAX_NODE_SCORE);
  const counts = nodes.map((n) => n.pods.filter((p) => controllerUid(p) === owner && p.metadata.namespace === pod.metadata.namespace).length);
  const maxCount = Math.max(0, ...counts);
  if (maxCount === 0) return nodes.map(() => MAX_NODE_SCORE);
  return counts.map((c) => Math.floor((MAX_NODE_SCORE * (maxCount - c)) / maxCount));
};

/** NodeAffinity preferred terms: sum of the weights of the matching terms, normalised by the best node. */
export const preferredNodeAffinity: Scorer = (pod, nodes) => {
  const prefs = pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  const raw = nodes.map((n) => prefs.reduce((s, p) => s + (p.weight && termMatches(p.preference, n.node) ? p.weight : 0), 0));
  return normalise(raw, false);
};

/** TaintToleration: fewer intolerable PreferNoSchedule taints is better (reverse-normalised). */
export const preferNoScheduleTaints: Scorer = (pod, nodes) => {
  const raw = nodes.map((n) => effectiveTaints(n.node).filter((t) => t.effect === 'PreferNoSchedule' && !tolerated(pod, t)).length);
  return normalise(raw, true);
};

/** Upstream's DefaultNormalizeScore: scale to 0..100 by the maximum; reverse flips it. */
export function normalise(raw: number[], reverse: boolean): number[] {
  const maxv = Math.max(0, ...raw);
  if (maxv === 0) return raw.map(() => (reverse ? MAX_NODE_SCORE : 0));
  return raw.map((v) => {
    const s = Math.floor((v * MAX_NODE_SCORE) / maxv);
    return reverse ? MAX_NODE_SCORE - s : s;
  });
}

/** Upstream's default score plugin weights. */
export const DEFAULT_SCORERS: Array<[string, Scorer, number]> = [
  ['NodeResourcesFit', leastAllocated, 1],
  ['PodTopologySpread', spreadReplicas, 2],
  ['NodeAffinity', preferredNodeAffinity, 2],
  ['TaintToleration', preferNoScheduleTaints, 3],
];

export function totalScores(pod: Pod, nodes: NodeInfo[], scorers = DEFAULT_SCORERS): number[] {
  const totals = nodes.map(() => 0);
  for (const [, scorer, weight] of scorers) {
    const s = scorer(pod, nodes);
    for (let i = 0; i < nodes.length; i++) totals[i] += s[i] * weight;
  }
  return totals;
}
