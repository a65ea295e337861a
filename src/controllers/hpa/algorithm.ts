/**
 * The HorizontalPodAutoscaler's arithmetic (autoscaling/v2, resource metrics), pure and as upstream's
 * podautoscaler computes it: pod grouping (ready / unready / missing / ignored) with the CPU initialisation
 * period, usage ratio with the 0.1 tolerance and the conservative second pass for missing or unready pods,
 * stabilisation windows (scale-down 300 s by default) and behaviour rate policies.
 */
import { milliCpu, quantityToNumber } from '../../client/quantity';
import { Pod } from '../../client/types';

export const TOLERANCE = 0.1;
export const CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
export const DELAY_OF_INITIAL_READINESS_MS = 30_000;

export interface PodMetric {
  /** Summed over containers: millicores for cpu, bytes for memory. */
  value: number;
  timestampMs: number;
  windowMs: number;
}

export interface Groups {
  ready: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

export function groupPods(pods: Pod[], metrics: Map<string, PodMetric>, resource: string, nowMs: number): Groups {
  const g: Groups = { ready: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const pod of pods) {
    const name = pod.metadata.name!;
    if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Failed') {
      g.ignored.add(name);
      continue;
    }
    if (pod.status?.phase === 'Pending') {
      g.unready.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      g.missing.add(name);
      continue;
    }
    if (resource === 'cpu') {
      const cond = pod.status?.conditions?.find((c) => c.type === 'Ready');
      const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : undefined;
      let unready: boolean;
      if (!cond || start === undefined) unready = true;
      else {
        const transition = Date.parse(cond.lastTransitionTime ?? '') || 0;
        if (start + CPU_INITIALIZATION_PERIOD_MS > nowMs) {
          unready = cond.status === 'False' || metric.timestampMs < transition + metric.windowMs;
        } else {
          unready = cond.status === 'False' && start + DELAY_OF_INITIAL_READINESS_MS > transition;
        }
      }
      if (unready) {
        g.unready.add(name);
        continue;
      }
    }
    g.ready++;
  }
  return g;
}

/** Sum of the containers' requests per pod; throws when a container has none (upstream refuses to guess). */
export function podRequests(pods: Pod[], resource: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    let sum = 0;
    for (const c of pod.spec.containers ?? []) {
      const q = c.resources?.requests?.[resource];
      if (q === undefined) throw new Error(`missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name}`);
      sum += resource === 'cpu' ? milliCpu(q) : quantityToNumber(q) ?? 0;
    }
    out.set(pod.metadata.name!, sum);
  }
  return out;
}

/** Upstream's GetResourceUtilizationRatio over the pods that have both a metric and a request. */
export function utilizationRatio(metrics: Map<string, number>, requests: Map<string, number>, target: number): { ratio: number; utilization: number; rawAverage: number } {
  let usage = 0;
  let req = 0;
  let n = 0;
  for (const [name, v] of metrics) {
    const r = requests.get(name);
    if (r === undefined) continue;
    usage += v;
    req += r;
    n++;
  }
  if (req === 0) throw new Error('no metrics returned matched known pods');
  const utilization = Math.trunc((usage * 100) / req);
  return { ratio: utilization / target, utilization, rawAverage: n ? Math.trunc(usage / n) : 0 };
}

export interface ReplicaCalc {
  replicas: number;
  utilization: number;
  rawAverage: number;
}

/** Upstream's GetResourceReplicas for a utilisation target. */
export function resourceReplicas(currentReplicas: number, targetUtilization: number, resource: string, pods: Pod[], metricsIn: Map<string, PodMetric>, nowMs: number, tolerance = TOLERANCE): ReplicaCalc {
  if (pods.length === 0) throw new Error('no pods returned by selector while calculating replica count');
  const groups = groupPods(pods, metricsIn, resource, nowMs);
  const metrics = new Map<string, number>();
  for (const [name, m] of metricsIn) if (!groups.ignored.has(name) && !groups.unready.has(name)) metrics.set(name, m.value);
  const requests = podRequests(pods, resource);
  const { ratio, utilization, rawAverage } = utilizationRatio(metrics, requests, targetUtilization);
  const scaleUpWithUnready = groups.unready.size > 0 && ratio > 1.0;
  if (!scaleUpWithUnready && groups.missing.size === 0) {
    if (Math.abs(1.0 - ratio) <= tolerance) return { replicas: currentReplicas, utilization, rawAverage };
    return { replicas: Math.ceil(ratio * groups.ready), utilization, rawAverage };
  }
  if (groups.missing.size > 0) {
    if (ratio < 1.0) {
      const fallback = Math.max(100, targetUtilization);
      for (const name of groups.missing) metrics.set(name, ((requests.get(name) ?? 0) * fallback) / 100);
    } else if (ratio > 1.0) {
      for (const name of groups.missing) metrics.set(name, 0);
    }
  }
  if (scaleUpWithUnready) for (const name of groups.unready) metrics.set(name, 0);
  const second = utilizationRatio(metrics, requests, targetUtilization).ratio;
  if (Math.abs(1.0 - second) <= tolerance || (ratio < 1.0 && second > 1.0) || (ratio > 1.0 && second < 1.0)) {
    return { replicas: currentReplicas, utilization, rawAverage };
  }
  const replicas = Math.ceil(second * metrics.size);
  if ((second < 1.0 && replicas > currentReplicas) || (second > 1.0 && replicas < currentReplicas)) return { replicas: currentReplicas, utilization, rawAverage };
  return { replicas, utilization, rawAverage };
}

// ---- behaviour: stabilisation and rate limits ----

export interface HPAScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

export interface HPAScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: HPAScalingPolicy[];
}

export interface Behavior {
  scaleUp?: HPAScalingRules;
  scaleDown?: HPAScalingRules;
}

/** Upstream's defaults (GenerateHPAScaleUpRules / ScaleDownRules). */
export function withDefaults(b: Behavior | undefined): Required<Behavior> {
  const up: HPAScalingRules = {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ],
    ...(b?.scaleUp ?? {}),
  };
  const down: HPAScalingRules = {
    stabilizationWindowSeconds: 300,
    selectPolicy: 'Max',
    policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
    ...(b?.scaleDown ?? {}),
  };
  if (!up.policies?.length) up.policies = [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }];
  if (!down.policies?.length) down.policies = [{ type: 'Percent', value: 100, periodSeconds: 15 }];
  return { scaleUp: up, scaleDown: down };
}

export interface Recommendation {
  atMs: number;
  replicas: number;
}

export interface ScaleEvent {
  atMs: number;
  change: number; // replicas added (scale up) or removed (scale down), positive
}

/** Upstream's stabilizeRecommendationWithBehaviors; returns the stabilised value and the updated history. */
export function stabilize(current: number, desired: number, history: Recommendation[], behavior: Required<Behavior>, nowMs: number): { replicas: number; history: Recommendation[] } {
  const upCutoff = nowMs - (behavior.scaleUp.stabilizationWindowSeconds ?? 0) * 1000;
  const downCutoff = nowMs - (behavior.scaleDown.stabilizationWindowSeconds ?? 300) * 1000;
  let up = desired;
  let down = desired;
  for (const r of history) {
    if (r.atMs > upCutoff) up = Math.min(up, r.replicas);
    if (r.atMs > downCutoff) down = Math.max(down, r.replicas);
  }
  let rec = current;
  if (rec < up) rec = up;
  if (rec > down) rec = down;
  const keepFrom = Math.min(upCutoff, downCutoff);
  const next = [...history.filter((r) => r.atMs > keepFrom), { atMs: nowMs, replicas: desired }];
  return { replicas: rec, history: next };
}

function changeInPeriod(periodSeconds: number, events: ScaleEvent[], nowMs: number): number {
  const cutoff = nowMs - periodSeconds * 1000;
  return events.filter((e) => e.atMs > cutoff).reduce((s, e) => s + e.change, 0);
}

export function scaleUpLimit(current: number, upEvents: ScaleEvent[], downEvents: ScaleEvent[], rules: HPAScalingRules, nowMs: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const useMin = rules.selectPolicy === 'Min';
  let result = useMin ? Infinity : -Infinity;
  for (const p of rules.policies ?? []) {
    const start = current - changeInPeriod(p.periodSeconds, upEvents, nowMs) + changeInPeriod(p.periodSeconds, downEvents, nowMs);
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = useMin ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

export function scaleDownLimit(current: number, upEvents: ScaleEvent[], downEvents: ScaleEvent[], rules: HPAScalingRules, nowMs: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const useMin = rules.selectPolicy === 'Min';
  let result = useMin ? -Infinity : Infinity;
  for (const p of rules.policies ?? []) {
    const start = current - changeInPeriod(p.periodSeconds, upEvents, nowMs) + changeInPeriod(p.periodSeconds, downEvents, nowMs);
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = useMin ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

export interface Normalized {
  replicas: number;
  /** ScalingLimited condition: [status, reason, message]. */
  limited: ['True' | 'False', string, string];
}

/** Upstream's convertDesiredReplicasWithBehaviorRate: rate limits and min/max bounds. */
export function applyRateLimits(current: number, desired: number, min: number, max: number, upEvents: ScaleEvent[], downEvents: ScaleEvent[], behavior: Required<Behavior>, nowMs: number): Normalized {
  if (desired > current) {
    let limit = scaleUpLimit(current, upEvents, downEvents, behavior.scaleUp, nowMs);
    if (limit < current) limit = current;
    const maxAllowed = Math.min(max, limit);
    if (desired > maxAllowed) {
      return maxAllowed === max
        ? { replicas: max, limited: ['True', 'TooManyReplicas', 'the desired replica count is more than the maximum replica count'] }
        : { replicas: maxAllowed, limited: ['True', 'ScaleUpLimit', 'the desired replica count is increasing faster than the maximum scale rate'] };
    }
  } else if (desired < current) {
    let limit = scaleDownLimit(current, upEvents, downEvents, behavior.scaleDown, nowMs);
    if (limit > current) limit = current;
    const minAllowed = Math.max(min, limit);
    if (desired < minAllowed) {
      return minAllowed === min
        ? { replicas: min, limited: ['True', 'TooFewReplicas', 'the desired replica count is less than the minimum replica count'] }
        : { replicas: minAllowed, limited: ['True', 'ScaleDownLimit', 'the desired replica count is decreasing faster than the maximum scale rate'] };
    }
  }
  return { replicas: desired, limited: ['False', 'DesiredWithinRange', 'the desired count is within the acceptable range'] };
}
