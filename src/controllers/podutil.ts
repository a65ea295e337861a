/** Pod predicates shared by the workload controllers (upstream's podutil and controller_utils). */
import { Condition, Pod } from '../client/types';

export function podCondition(pod: Pod, type: string): Condition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

export function isPodReady(pod: Pod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/** Ready for at least minReadySeconds (upstream's IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  const c = podCondition(pod, 'Ready');
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const since = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return !Number.isNaN(since) && since + minReadySeconds * 1000 <= nowMs;
}

/** Milliseconds until a ready pod becomes available, or undefined if it is not ready / already available. */
export function msUntilAvailable(pod: Pod, minReadySeconds: number, nowMs: number): number | undefined {
  const c = podCondition(pod, 'Ready');
  if (c?.status !== 'True' || !minReadySeconds || !c.lastTransitionTime) return undefined;
  const left = Date.parse(c.lastTransitionTime) + minReadySeconds * 1000 - nowMs;
  return left > 0 ? left : undefined;
}

/** Not terminated and not being deleted (upstream's IsPodActive). */
export function isPodActive(pod: Pod): boolean {
  return pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

export function restartCount(pod: Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((s, c) => s + (c.restartCount ?? 0), 0);
}

export function isOwnedBy(pod: { metadata: Pod['metadata'] }, uid: string | undefined): boolean {
  return !!uid && !!pod.metadata.ownerReferences?.some((r) => r.controller && r.uid === uid);
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
