/**
 * DaemonSet decisions, pure: one pod per eligible node (nodeSelector/affinity match and taints tolerated,
 * with the tolerations upstream adds to daemon pods), pods pinned to their node through required node
 * affinity on metadata.name (the default scheduler binds them), RollingUpdate within maxUnavailable, and
 * status counts.
 */
import { IntOrString, KObject, LabelSelector, Node, Pod, PodTemplateSpec, Toleration } from '../../client/types';
import { nodeMatchesPodSelectorAndAffinity, taintToleration } from '../../scheduler/filters';
import { buildNodeInfo } from '../../scheduler/nodeinfo';
import { computeHash } from '../deployment/hash';
import { scaledValue } from '../deployment/logic';
import { isPodAvailable, isPodReady } from '../podutil';

export interface DaemonSet extends KObject {
  spec: {
    selector: LabelSelector;
    template: PodTemplateSpec;
    minReadySeconds?: number;
    updateStrategy?: { type?: 'RollingUpdate' | 'OnDelete'; rollingUpdate?: { maxUnavailable?: IntOrString; maxSurge?: IntOrString } };
  };
  status?: Record<string, unknown>;
}

export const REVISION_HASH_LABEL = 'controller-revision-hash';

/** Upstream's AddOrUpdateDaemonPodTolerations. */
export const DAEMON_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

export function templateHash(ds: DaemonSet): string {
  return computeHash(ds.spec.template);
}

export function daemonPodTemplate(ds: DaemonSet): PodTemplateSpec {
  const t = JSON.parse(JSON.stringify(ds.spec.template)) as PodTemplateSpec;
  t.metadata = { ...(t.metadata ?? {}), labels: { ...(t.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: templateHash(ds) } };
  const tols = [...(t.spec.tolerations ?? [])];
  for (const d of DAEMON_TOLERATIONS) if (!tols.some((x) => x.key === d.key && x.effect === d.effect)) tols.push(d);
  if (t.spec.hostNetwork) tols.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  t.spec.tolerations = tols;
  return t;
}

/** Pins the pod to the node the way upstream does (required node affinity on metadata.name). */
export function pinToNode(t: PodTemplateSpec, node: string): PodTemplateSpec {
  const copy = JSON.parse(JSON.stringify(t)) as PodTemplateSpec;
  const affinity = (copy.spec.affinity ??= {});
  const na = (affinity.nodeAffinity ??= {});
  na.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] };
  return copy;
}

export function nodeShouldRun(ds: DaemonSet, node: Node): boolean {
  const pod: Pod = { metadata: {}, spec: daemonPodTemplate(ds).spec };
  if (!nodeMatchesPodSelectorAndAffinity(pod, node)) return false;
  return taintToleration(pod, buildNodeInfo(node, [])).length === 0;
}

/** The node a daemon pod belongs to: bound node, or the node its affinity pins it to. */
export function targetNode(p: Pod): string | undefined {
  if (p.spec.nodeName) return p.spec.nodeName;
  for (const t of p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of t.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

export interface DaemonPlan {
  createOn: string[];
  remove: Pod[];
  status: Record<string, number | undefined>;
}

const created = (p: Pod) => Date.parse(p.metadata.creationTimestamp ?? '') || 0;

export function planDaemonSet(ds: DaemonSet, nodes: Node[], pods: Pod[], nowMs: number): DaemonPlan {
  const hash = templateHash(ds);
  const minReady = ds.spec.minReadySeconds ?? 0;
  const byNode = new Map<string, Pod[]>();
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const n = targetNode(p);
    if (!n) continue;
    let l = byNode.get(n);
    if (!l) byNode.set(n, (l = []));
    l.push(p);
  }
  const plan: DaemonPlan = { createOn: [], remove: [], status: {} };
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let available = 0;
  let updated = 0;
  const oldAvailable: Pod[] = [];
  const oldUnavailable: Pod[] = [];
  let unavailableNodes = 0;
  const nodeNames = new Set(nodes.map((n) => n.metadata.name!));
  for (const node of nodes) {
    const name = node.metadata.name!;
    const list = (byNode.get(name) ?? []).sort((a, b) => created(a) - created(b));
    const should = nodeShouldRun(ds, node);
    if (!should) {
      if (list.length) misscheduled++;
      plan.remove.push(...list);
      continue;
    }
    desired++;
    const failed = list.filter((p) => p.status?.phase === 'Failed');
    const alive = list.filter((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded');
    plan.remove.push(...failed, ...list.filter((p) => p.status?.phase === 'Succeeded'));
    if (alive.length === 0) {
      plan.createOn.push(name);
      unavailableNodes++;
      continue;
    }
    current++;
    // Keep the oldest; extras go.
    const [keep, ...extra] = alive;
    plan.remove.push(...extra);
    if (isPodReady(keep)) ready++;
    const isAvail = isPodAvailable(keep, minReady, nowMs);
    if (isAvail) available++;
    else unavailableNodes++;
    if (keep.metadata.labels?.[REVISION_HASH_LABEL] === hash) updated++;
    else (isAvail ? oldAvailable : oldUnavailable).push(keep);
  }
  // Pods for nodes that no longer exist.
  for (const [n, list] of byNode) if (!nodeNames.has(n)) plan.remove.push(...list);

  if ((ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
    let maxUnavailable = scaledValue(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, desired, true);
    if (maxUnavailable < 1) maxUnavailable = 1;
    plan.remove.push(...oldUnavailable); // already unavailable: replacing them costs nothing
    let budget = maxUnavailable - unavailableNodes;
    for (const p of oldAvailable) {
      if (budget <= 0) break;
      plan.remove.push(p);
      budget--;
    }
  }
  plan.status = {
    desiredNumberScheduled: desired,
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    numberReady: ready,
    numberAvailable: available,
    numberUnavailable: desired - available,
    updatedNumberScheduled: updated,
    observedGeneration: ds.metadata.generation,
  };
  return plan;
}
