/**
 * Node lifecycle decisions, pure (upstream's node lifecycle controller, minus eviction): a node whose agent
 * has not renewed its heartbeat (the kube-node-lease Lease, or the Ready condition's lastHeartbeatTime) for
 * the grace period is marked Unknown ("Kubelet stopped posting node status."), and the node's taints follow
 * its Ready condition (TaintNodesByCondition): not-ready / unreachable with NoSchedule and NoExecute.
 * Staleness is judged by when THIS controller last saw the heartbeat change, so clock skew between the agent
 * and the controller, or a controller restart, cannot mark a live node dead.
 */
import { Condition, Node, Taint } from '../../client/types';
import { rfc3339 } from '../podutil';

// kube-controller-manager's --node-monitor-grace-period (50 s since 1.32).
export const NODE_MONITOR_GRACE_MS = 50_000;
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
const NODE_CONDITIONS_TO_UNKNOWN = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

/** Conditions after the agent went silent: upstream sets them Unknown, keeping lastHeartbeatTime. */
export function unknownConditions(node: Node, nowMs: number): Condition[] {
  const now = rfc3339(nowMs);
  const conds = [...(node.status?.conditions ?? [])];
  for (const type of NODE_CONDITIONS_TO_UNKNOWN) {
    const i = conds.findIndex((c) => c.type === type);
    const prev = i >= 0 ? conds[i] : undefined;
    if (prev?.status === 'Unknown') continue;
    const c: Condition = {
      type,
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
      lastHeartbeatTime: prev?.lastHeartbeatTime ?? now,
      lastTransitionTime: now,
    };
    if (i >= 0) conds[i] = c;
    else conds.push(c);
  }
  return conds;
}

/** The node's taints with the not-ready/unreachable ones matching its Ready condition. */
export function desiredTaints(node: Node, nowMs: number): Taint[] {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const others = (node.spec?.taints ?? []).filter((t) => t.key !== TAINT_NOT_READY && t.key !== TAINT_UNREACHABLE);
  const keep = (key: string, effect: Taint['effect']): Taint =>
    node.spec?.taints?.find((t) => t.key === key && t.effect === effect) ?? { key, effect, ...(effect === 'NoExecute' ? { timeAdded: rfc3339(nowMs) } : {}) };
  if (!ready) return others;
  if (ready.status === 'False') return [...others, keep(TAINT_NOT_READY, 'NoSchedule'), keep(TAINT_NOT_READY, 'NoExecute')];
  if (ready.status === 'Unknown') return [...others, keep(TAINT_UNREACHABLE, 'NoSchedule'), keep(TAINT_UNREACHABLE, 'NoExecute')];
  return others;
}

/** Tracks when each node's heartbeat was last seen to change, on this controller's clock. */
export class HeartbeatTracker {
  private seen = new Map<string, { beat: string; at: number }>();

  observe(node: string, beat: string, nowMs: number): void {
    const prev = this.seen.get(node);
    if (!prev || prev.beat !== beat) this.seen.set(node, { beat, at: nowMs });
  }

  /** Milliseconds since the heartbeat last changed (0 when never seen: a new node gets a full grace period). */
  silentFor(node: string, nowMs: number): number {
    const s = this.seen.get(node);
    return s ? nowMs - s.at : 0;
  }

  forget(node: string): void {
    this.seen.delete(node);
  }
}

/** The heartbeat signature of a node: its Lease renewTime and its Ready condition's lastHeartbeatTime. */
export function heartbeatOf(node: Node, leaseRenewTime: string | undefined): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  return `${leaseRenewTime ?? ''}|${ready?.lastHeartbeatTime ?? ''}|${ready?.status ?? ''}`;
}
