/** A node with the pods bound (or assumed) to it and their aggregated requests and host ports. */
import { Node, Pod } from '../client/types';
import { Resources, addResources, nodeAllocatable, podRequests } from './resources';

export interface NodeInfo {
  node: Node;
  pods: Pod[];
  allocatable: Resources;
  requested: Resources;
  nonZeroRequested: Resources;
  /** "protocol/hostIP/port" for every host port in use. */
  usedPorts: Set<string>;
}

export function hostPortsOf(pod: Pod): Array<{ protocol: string; ip: string; port: number }> {
  const out: Array<{ protocol: string; ip: string; port: number }> = [];
  for (const c of [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({ protocol: p.protocol ?? 'TCP', ip: p.hostIP || '0.0.0.0', port: p.hostPort });
    }
  }
  return out;
}

/** Pods that no longer hold resources on their node. */
export function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

export function buildNodeInfo(node: Node, pods: Pod[]): NodeInfo {
  const info: NodeInfo = {
    node,
    pods: [],
    allocatable: nodeAllocatable(node),
    requested: {},
    nonZeroRequested: {},
    usedPorts: new Set(),
  };
  for (const p of pods) addPod(info, p);
  return info;
}

export function addPod(info: NodeInfo, pod: Pod): void {
  if (isTerminal(pod)) return;
  info.pods.push(pod);
  info.requested = addResources(info.requested, podRequests(pod));
  info.nonZeroRequested = addResources(info.nonZeroRequested, podRequests(pod, true));
  for (const hp of hostPortsOf(pod)) info.usedPorts.add(`${hp.protocol}/${hp.ip}/${hp.port}`);
}
