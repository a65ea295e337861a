/**
 * How pods map onto engine containers: labels (the dockershim's, so `docker ps` reads as it did under the
 * kubelet), container names and the pod sandbox id. Pure.
 *
 * Every start of a pod container is a NEW engine container (attempt N): the previous attempt stays (exited)
 * for `kubectl logs --previous` and lastState, older ones are removed. The agent owns restarts; engine
 * restart policies are never used for pods.
 */
import crypto from 'node:crypto';
import type { ContainerSpec } from './types';

export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
export const LABEL_ATTEMPT = 'io.kubernetes.container.restartCount';
export const LABEL_HASH = 'io.kubernetes.container.hash';
/** "init" | "sidecar" | "main". */
export const LABEL_KIND = 'io.skiff.container.kind';
export const LABEL_GRACE = 'io.kubernetes.pod.terminationGracePeriod';

export type ContainerKind = 'init' | 'sidecar' | 'main';

/** Docker-style name, as the dockershim made them: k8s_<container>_<pod>_<namespace>_<uid>_<attempt>. */
export function engineContainerName(c: { name: string }, pod: { name: string; namespace: string; uid: string }, attempt: number): string {
  return `k8s_${c.name}_${pod.name}_${pod.namespace}_${pod.uid}_${attempt}`;
}

/** Network sandbox owner id for a pod (the network library keys namespaces, leases and rules by it). */
export function sandboxId(podUid: string): string {
  return `pod-${podUid}`;
}

/** The NetworkMode value that tells the engine to join the pod's sandbox (resolved by PodNetwork). */
export const POD_NETWORK_MODE_PREFIX = 'skiff-pod.';
export function podNetworkMode(podUid: string): string {
  return POD_NETWORK_MODE_PREFIX + podUid;
}

/**
 * Hash of what makes a running container stale when the spec changes (upstream: the container's spec
 * minus fields that can change without a restart). A mismatch kills and restarts the container.
 */
export function containerHash(c: ContainerSpec): string {
  // Every sync asks again for every running container: once per spec object (informer objects are replaced on
  // change, never mutated).
  let h = hashes.get(c);
  if (h === undefined) hashes.set(c, (h = hashOf(c)));
  return h;
}
const hashes = new WeakMap<ContainerSpec, string>();

function hashOf(c: ContainerSpec): string {
  const { name, image, command, args, workingDir, env, envFrom, ports, volumeMounts, securityContext, tty, stdin } = c;
  const text = JSON.stringify({ name, image, command, args, workingDir, env, envFrom, ports, volumeMounts, securityContext, tty, stdin });
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 8);
}
