/**
 * What a pod asks for and what a node offers, as numbers: cpu in millicores, memory and ephemeral-storage in
 * bytes, pods as a count. Follows upstream's effective request: max(sum of app containers + sidecars,
 * each regular init container + the sidecars started before it) + pod overhead.
 */
import { milliCpu, quantityToNumber } from '../client/quantity';
import { Container, Node, Pod, ResourceList } from '../client/types';

export type Resources = Record<string, number>;

/** Upstream's defaults for containers that request nothing, used only for scoring (NonZeroRequested). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

function amount(name: string, q: string | number | undefined): number {
  return name === 'cpu' ? milliCpu(q) : quantityToNumber(q) ?? 0;
}

function fromList(list: ResourceList | undefined): Resources {
  const out: Resources = {};
  for (const [k, v] of Object.entries(list ?? {})) out[k] = amount(k, v);
  return out;
}

function add(a: Resources, b: Resources): Resources {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function max(a: Resources, b: Resources): Resources {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = Math.max(out[k] ?? 0, v);
  return out;
}

function containerRequests(c: Container, nonZero: boolean): Resources {
  // Upstream defaults requests to limits when only limits are set (API defaulting); do the same here.
  const r = fromList({ ...(c.resources?.limits ?? {}), ...(c.resources?.requests ?? {}) });
  if (nonZero) {
    r.cpu = r.cpu || DEFAULT_MILLI_CPU_REQUEST;
    r.memory = r.memory || DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

/** The pod's effective requests (without the implicit pods:1). */
export function podRequests(pod: Pod, nonZero = false): Resources {
  let apps: Resources = {};
  for (const c of pod.spec.containers ?? []) apps = add(apps, containerRequests(c, nonZero));
  let sidecars: Resources = {};
  let initMax: Resources = {};
  for (const c of pod.spec.initContainers ?? []) {
    const r = containerRequests(c, false);
    if (c.restartPolicy === 'Always') {
      sidecars = add(sidecars, r);
      apps = add(apps, r);
    } else {
      initMax = max(initMax, add(r, sidecars));
    }
  }
  let total = max(apps, initMax);
  if (pod.spec.overhead) total = add(total, fromList(pod.spec.overhead));
  if (nonZero) {
    total.cpu = total.cpu || DEFAULT_MILLI_CPU_REQUEST;
    total.memory = total.memory || DEFAULT_MEMORY_REQUEST;
  }
  return total;
}

export function nodeAllocatable(node: Node): Resources {
  return fromList(node.status?.allocatable ?? node.status?.capacity);
}

export { add as addResources };
