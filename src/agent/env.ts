/**
 * A container's environment as the kubelet builds it (makeEnvironmentVariables): envFrom first, then env
 * in order with $(VAR) expansion against what is defined so far; fieldRef, resourceFieldRef,
 * configMapKeyRef and secretKeyRef. Pure over lookups; a missing non-optional reference throws
 * ConfigError (the container waits with CreateContainerConfigError).
 */
import { resourceFieldValue } from './resources';
import type { ContainerSpec, PodV1 } from './types';

export class ConfigError extends Error {}

export interface EnvLookups {
  /** Data of a ConfigMap / Secret (secret values decoded), undefined when it does not exist. */
  configMap(name: string): Record<string, string> | undefined;
  secret(name: string): Record<string, string> | undefined;
  podIP?: string;
  hostIP: string;
  node: { cpuMilli: number; memory: number; ephemeral: number };
}

/** Upstream expansion: $(VAR) from the map, $$ escapes, unknown references stay as written. */
export function expand(s: string, vars: Map<string, string>): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '$' || i + 1 >= s.length) {
      out += s[i];
      continue;
    }
    if (s[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    if (s[i + 1] === '(') {
      const end = s.indexOf(')', i + 2);
      if (end > 0) {
        const name = s.slice(i + 2, end);
        out += vars.has(name) ? vars.get(name)! : s.slice(i, end + 1);
        i = end;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

/** metadata.labels['x'] style paths and the plain ones upstream supports for env. */
export function fieldRefValue(pod: PodV1, path: string, podIP: string | undefined, hostIP: string): string {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations);
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return podIP ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return hostIP;
    default:
      throw new ConfigError(`unsupported fieldRef ${path}`);
  }
}

/** The downward API's key="value" lines, sorted (upstream FormatMap). */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export function containerEnv(pod: PodV1, c: ContainerSpec, lk: EnvLookups): string[] {
  const vars = new Map<string, string>();
  for (const src of c.envFrom ?? []) {
    const ref = src.configMapRef ?? src.secretRef;
    if (!ref) continue;
    const isCm = !!src.configMapRef;
    const data = isCm ? lk.configMap(ref.name) : lk.secret(ref.name);
    if (!data) {
      if (ref.optional) continue;
      throw new ConfigError(`${isCm ? 'configmap' : 'secret'} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(data)) {
      const name = (src.prefix ?? '') + k;
      if (!ENV_NAME.test(name)) continue; // upstream skips invalid keys (with an event)
      vars.set(name, v);
    }
  }
  for (const e of c.env ?? []) {
    let v: string | undefined;
    const from = e.valueFrom;
    if (!from) v = expand(e.value ?? '', vars);
    else if (from.fieldRef) v = fieldRefValue(pod, from.fieldRef.fieldPath, lk.podIP, lk.hostIP);
    else if (from.resourceFieldRef) {
      const r = from.resourceFieldRef;
      const target = r.containerName ? [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((x) => x.name === r.containerName) : c;
      v = resourceFieldValue(target, r.resource, r.divisor, lk.node);
    } else if (from.configMapKeyRef || from.secretKeyRef) {
      const ref = (from.configMapKeyRef ?? from.secretKeyRef)!;
      const isCm = !!from.configMapKeyRef;
      const data = isCm ? lk.configMap(ref.name ?? '') : lk.secret(ref.name ?? '');
      if (!data) {
        if (ref.optional) continue;
        throw new ConfigError(`${isCm ? 'configmap' : 'secret'} "${ref.name}" not found`);
      }
      if (!(ref.key in data)) {
        if (ref.optional) continue;
        throw new ConfigError(`couldn't find key ${ref.key} in ${isCm ? 'ConfigMap' : 'Secret'} ${pod.metadata.namespace}/${ref.name}`);
      }
      v = data[ref.key];
    }
    if (v !== undefined) vars.set(e.name, v);
  }
  return [...vars.entries()].map(([k, v]) => `${k}=${v}`);
}
