/**
 * Feasibility filters, each a pure function (pod, node info) → failure reasons (empty: the node fits).
 * Reasons are upstream's exact strings, so the FailedScheduling message reads as kube-scheduler's does.
 * They run in upstream's default plugin order and a node stops at its first failing filter, as upstream's
 * framework does.
 */
import { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration } from '../client/types';
import { NodeInfo, hostPortsOf } from './nodeinfo';
import { podRequests } from './resources';

export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const REASON_PORTS = "node(s) didn't have free ports for the requested pod ports";
export const REASON_TOO_MANY_PODS = 'Too many pods';
export const untoleratedTaintReason = (t: Taint) => `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;

export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';

export type Filter = (pod: Pod, info: NodeInfo) => string[];

/** Upstream's ToleratesTaint. */
export function toleratesTaint(tol: Toleration, taint: Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (tol.key && tol.key !== taint.key) return false;
  if (tol.operator === 'Exists') return true;
  return (tol.value ?? '') === (taint.value ?? '');
}

export const tolerated = (pod: Pod, taint: Taint) => (pod.spec.tolerations ?? []).some((t) => toleratesTaint(t, taint));

/**
 * The node's taints as the scheduler sees them. Upstream's node lifecycle controller turns a NotReady or
 * Unknown Ready condition into the not-ready / unreachable NoSchedule taints; skiff has no such controller
 * yet, so the scheduler derives them from the condition directly (same effect, same message).
 */
export function effectiveTaints(node: Node): Taint[] {
  const taints = [...(node.spec?.taints ?? [])];
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const add = (key: string) => {
    if (!taints.some((t) => t.key === key && t.effect === 'NoSchedule')) taints.push({ key, effect: 'NoSchedule' });
  };
  if (!ready || ready.status === 'Unknown') add(TAINT_UNREACHABLE);
  else if (ready.status !== 'True') add(TAINT_NOT_READY);
  return taints;
}

export const nodeUnschedulable: Filter = (pod, { node }) => {
  if (!node.spec?.unschedulable) return [];
  return tolerated(pod, { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' }) ? [] : [REASON_UNSCHEDULABLE];
};

export const taintToleration: Filter = (pod, { node }) => {
  for (const taint of effectiveTaints(node)) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerated(pod, taint)) return [untoleratedTaintReason(taint)];
  }
  return [];
};

function requirementMatches(req: NodeSelectorRequirement, value: string | undefined): boolean {
  const has = value !== undefined;
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return has && values.includes(value!);
    case 'NotIn':
      return !has || !values.includes(value!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || values.length !== 1 || !/^-?\d+$/.test(value!) || !/^-?\d+$/.test(values[0])) return false;
      const v = BigInt(value!);
      const bound = BigInt(values[0]);
      return req.operator === 'Gt' ? v > bound : v < bound;
    }
    default:
      return false;
  }
}

/** A term matches when all its expressions and fields do; an empty term matches nothing (upstream). */
export function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  for (const r of exprs) if (!requirementMatches(r, Object.prototype.hasOwnProperty.call(labels, r.key) ? labels[r.key] : undefined)) return false;
  for (const r of fields) {
    if (r.key !== 'metadata.name') return false;
    if (!requirementMatches(r, node.metadata.name)) return false;
  }
  return true;
}

export function nodeMatchesPodSelectorAndAffinity(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) return (required.nodeSelectorTerms ?? []).some((t) => termMatches(t, node));
  return true;
}

export const nodeAffinity: Filter = (pod, { node }) => (nodeMatchesPodSelectorAndAffinity(pod, node) ? [] : [REASON_AFFINITY]);

export const nodePorts: Filter = (pod, info) => {
  for (const want of hostPortsOf(pod)) {
    for (const used of info.usedPorts) {
      const [protocol, ip, port] = used.split('/');
      if (protocol !== want.protocol || Number(port) !== want.port) continue;
      if (ip === want.ip || ip === '0.0.0.0' || want.ip === '0.0.0.0') return [REASON_PORTS];
    }
  }
  return [];
};

export const nodeResourcesFit: Filter = (pod, info) => {
  const reasons: string[] = [];
  const allowedPods = info.allocatable.pods;
  if (allowedPods !== undefined && info.pods.length + 1 > allowedPods) reasons.push(REASON_TOO_MANY_PODS);
  const req = podRequests(pod);
  const order = ['cpu', 'memory', 'ephemeral-storage', ...Object.keys(req).filter((k) => !['cpu', 'memory', 'ephemeral-storage', 'pods'].includes(k)).sort()];
  for (const name of order) {
    const want = req[name] ?? 0;
    if (want <= 0) continue;
    const free = (info.allocatable[name] ?? 0) - (info.requested[name] ?? 0);
    if (want > free) reasons.push(`Insufficient ${name}`);
  }
  return reasons;
};

/** Upstream's default filter order. */
export const DEFAULT_FILTERS: Array<[string, Filter]> = [
  ['NodeUnschedulable', nodeUnschedulable],
  ['TaintToleration', taintToleration],
  ['NodeAffinity', nodeAffinity],
  ['NodePorts', nodePorts],
  ['NodeResourcesFit', nodeResourcesFit],
];

/** Runs the filters for one node; stops at the first that fails, like upstream's framework. */
export function runFilters(pod: Pod, info: NodeInfo, filters = DEFAULT_FILTERS): string[] {
  for (const [, f] of filters) {
    const reasons = f(pod, info);
    if (reasons.length) return reasons;
  }
  return [];
}
