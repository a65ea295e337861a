/**
 * The HorizontalPodAutoscaler reconciler (autoscaling/v2, Resource metrics with Utilization or AverageValue
 * targets): every 15 s reads the target's scale subresource, the pods' usage from the metrics.k8s.io API
 * (served by the node agent), computes the desired replicas with ./algorithm.ts, and writes scale and status.
 */
import { RESOURCES, Resource } from '../../client/resources';
import { Condition, KObject, Pod, keyOf, splitKey } from '../../client/types';
import { milliCpu, quantityToNumber } from '../../client/quantity';
import { ControllerContext } from '../context';
import { rfc3339 } from '../podutil';
import { Controller, ReconcileResult } from '../runner';
import { Behavior, PodMetric, Recommendation, ScaleEvent, applyRateLimits, resourceReplicas, stabilize, withDefaults } from './algorithm';

export const HPA_COMPONENT = 'horizontal-pod-autoscaler';
export const HPA_SYNC_PERIOD_MS = 15_000;

interface MetricSpec {
  type: string;
  resource?: { name: string; target: { type: 'Utilization' | 'AverageValue' | 'Value'; averageUtilization?: number; averageValue?: string } };
}

export interface HPA extends KObject {
  spec: { scaleTargetRef: { apiVersion?: string; kind: string; name: string }; minReplicas?: number; maxReplicas: number; metrics?: MetricSpec[]; behavior?: Behavior };
  status?: { currentReplicas?: number; desiredReplicas?: number; lastScaleTime?: string; conditions?: Condition[]; currentMetrics?: unknown[]; observedGeneration?: number };
}

const STATEFULSETS: Resource = { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true };
const TARGETS: Record<string, Resource> = { Deployment: RESOURCES.deployments, ReplicaSet: RESOURCES.replicasets, StatefulSet: STATEFULSETS };

/** Go duration strings as metrics-server writes them ("30s", "1m0s", "15.5s"). */
function durationMs(s: string | undefined): number {
  if (!s) return 30_000;
  let ms = 0;
  for (const [, n, unit] of s.matchAll(/([\d.]+)(h|ms|m|s)/g)) ms += Number(n) * { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }[unit as 'h' | 'm' | 's' | 'ms'];
  return ms || 30_000;
}

/** Where pod usage comes from: the metrics.k8s.io API by default; tests may inject another source. */
export type PodMetricsSource = (namespace: string, labelSelector: string) => Promise<KObject[]>;

export function apiMetricsSource(ctx: ControllerContext): PodMetricsSource {
  return async (namespace, labelSelector) => (await ctx.client.list<KObject>(RESOURCES.podmetrics, { namespace, labelSelector })).items;
}

export function startHPAController(ctx: ControllerContext, workers = 1, metricsSource: PodMetricsSource = apiMetricsSource(ctx)): Controller {
  const hpaInf = ctx.informer<HPA>(RESOURCES.hpas);
  const recorder = ctx.recorder(HPA_COMPONENT);
  const controller = new Controller('horizontalpodautoscaler', reconcile, { workers, clock: ctx.clock, log: ctx.log });
  const recommendations = new Map<string, Recommendation[]>();
  const upEvents = new Map<string, ScaleEvent[]>();
  const downEvents = new Map<string, ScaleEvent[]>();
  hpaInf.addEventHandler({
    add: (h) => controller.enqueue(keyOf(h)),
    update: (o, h) => {
      if (o.metadata.generation !== h.metadata.generation) controller.enqueue(keyOf(h));
    },
    delete: (h) => {
      recommendations.delete(keyOf(h));
      upEvents.delete(keyOf(h));
      downEvents.delete(keyOf(h));
    },
  });

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const hpa = hpaInf.cache.getByName(namespace, name);
    if (!hpa) return;
    const now = ctx.clock.now();
    const conds: Condition[] = [...(hpa.status?.conditions ?? [])];
    const setCond = (type: string, status: Condition['status'], reason: string, message: string) => {
      const i = conds.findIndex((c) => c.type === type);
      const prev = i >= 0 ? conds[i] : undefined;
      const c: Condition = { type, status, reason, message, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : rfc3339(now) };
      if (i >= 0) conds[i] = c;
      else conds.push(c);
    };
    const writeStatus = async (extra: Partial<NonNullable<HPA['status']>>) => {
      const status = { ...(hpa.status ?? {}), observedGeneration: hpa.metadata.generation, ...extra, conditions: conds };
      await ctx.client.patch(RESOURCES.hpas, namespace, name, { status }, 'merge', { subresource: 'status' }).catch((e) => ctx.log(`hpa ${key}: status: ${e}`));
    };
    const targetRes = TARGETS[hpa.spec.scaleTargetRef.kind];
    if (!targetRes) {
      setCond('AbleToScale', 'False', 'FailedGetScale', `the HPA controller was unable to get the target's current scale: no scale subresource for kind ${hpa.spec.scaleTargetRef.kind}`);
      await writeStatus({});
      return { requeueAfterMs: HPA_SYNC_PERIOD_MS };
    }
    let scale: { spec?: { replicas?: number }; status?: { replicas?: number; selector?: string } };
    try {
      scale = (await ctx.client.get(targetRes, namespace, hpa.spec.scaleTargetRef.name, 'scale')) as typeof scale;
    } catch (err) {
      setCond('AbleToScale', 'False', 'FailedGetScale', `the HPA controller was unable to get the target's current scale: ${(err as Error).message}`);
      recorder.event(hpa, 'Warning', 'FailedGetScale', (err as Error).message);
      await writeStatus({});
      return { requeueAfterMs: HPA_SYNC_PERIOD_MS };
    }
    const current = scale.spec?.replicas ?? 0;
    const min = hpa.spec.minReplicas ?? 1;
    const max = hpa.spec.maxReplicas;
    setCond('AbleToScale', 'True', 'SucceededGetScale', 'the HPA controller was able to get the target\'s current scale');
    if (current === 0 && min !== 0) {
      setCond('ScalingActive', 'False', 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero');
      await writeStatus({ currentReplicas: 0, desiredReplicas: 0 });
      return { requeueAfterMs: HPA_SYNC_PERIOD_MS };
    }

    let desired = current;
    let reason = '';
    const currentMetrics: unknown[] = [];
    if (current > max) {
      desired = max;
      reason = 'Current number of replicas above Spec.MaxReplicas';
    } else if (current < min) {
      desired = min;
      reason = 'Current number of replicas below Spec.MinReplicas';
    } else {
      try {
        const selector = scale.status?.selector ?? '';
        const pods = (await ctx.client.list<Pod>(RESOURCES.pods, { namespace, labelSelector: selector })).items;
        const metricItems = await metricsSource(namespace, selector);
        let proposal = 0;
        let metricName = '';
        for (const spec of hpa.spec.metrics?.length ? hpa.spec.metrics : [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' as const, averageUtilization: 80 } } }]) {
          if (spec.type !== 'Resource' || !spec.resource) continue;
          const res = spec.resource.name;
          const metrics = new Map<string, PodMetric>();
          for (const pm of metricItems) {
            const value = ((pm.containers ?? []) as Array<{ usage?: Record<string, string> }>).reduce((s, c) => s + (res === 'cpu' ? milliCpu(c.usage?.[res]) : quantityToNumber(c.usage?.[res]) ?? 0), 0);
            metrics.set(pm.metadata.name!, { value, timestampMs: Date.parse(pm.timestamp ?? '') || now, windowMs: durationMs(pm.window) });
          }
          const t = spec.resource.target;
          let replicas: number;
          if (t.type === 'Utilization') {
            const calc = resourceReplicas(current, t.averageUtilization ?? 80, res, pods, metrics, now);
            replicas = calc.replicas;
            currentMetrics.push({ type: 'Resource', resource: { name: res, current: { averageUtilization: calc.utilization, averageValue: res === 'cpu' ? `${calc.rawAverage}m` : String(calc.rawAverage) } } });
          } else {
            // AverageValue: usage per pod against the target value (upstream GetRawResourceReplicas).
            const target = res === 'cpu' ? milliCpu(t.averageValue) : quantityToNumber(t.averageValue) ?? 1;
            const vals = [...metrics.values()].map((m) => m.value);
            const avg = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : 0;
            const ratio = avg / target;
            replicas = Math.abs(1 - ratio) <= 0.1 ? current : Math.ceil(ratio * vals.length);
            currentMetrics.push({ type: 'Resource', resource: { name: res, current: { averageValue: res === 'cpu' ? `${Math.trunc(avg)}m` : String(Math.trunc(avg)) } } });
          }
          if (replicas > proposal) {
            proposal = replicas;
            metricName = `${res} resource${t.type === 'Utilization' ? ' utilization (percentage of request)' : ''}`;
          }
        }
        desired = proposal;
        reason = desired > current ? `${metricName} above target` : 'All metrics below target';
        setCond('ScalingActive', 'True', 'ValidMetricFound', `the HPA was able to successfully calculate a replica count from ${metricName || 'cpu resource utilization (percentage of request)'}`);
      } catch (err) {
        setCond('ScalingActive', 'False', 'FailedGetResourceMetric', `the HPA was unable to compute the replica count: ${(err as Error).message}`);
        recorder.event(hpa, 'Warning', 'FailedGetResourceMetric', (err as Error).message);
        await writeStatus({ currentReplicas: current, desiredReplicas: current });
        return { requeueAfterMs: HPA_SYNC_PERIOD_MS };
      }
      const behavior = withDefaults(hpa.spec.behavior);
      const st = stabilize(current, desired, recommendations.get(key) ?? [], behavior, now);
      recommendations.set(key, st.history);
      const norm = applyRateLimits(current, st.replicas, min, max, upEvents.get(key) ?? [], downEvents.get(key) ?? [], behavior, now);
      desired = norm.replicas;
      setCond('ScalingLimited', ...norm.limited);
    }

    let lastScaleTime = hpa.status?.lastScaleTime;
    if (desired !== current) {
      try {
        await ctx.client.patch(targetRes, namespace, hpa.spec.scaleTargetRef.name, { spec: { replicas: desired } }, 'merge', { subresource: 'scale' });
      } catch (err) {
        setCond('AbleToScale', 'False', 'FailedUpdateScale', `the HPA controller was unable to update the target scale: ${(err as Error).message}`);
        recorder.event(hpa, 'Warning', 'FailedRescale', `New size: ${desired}; reason: ${reason}; error: ${(err as Error).message}`);
        await writeStatus({ currentReplicas: current, desiredReplicas: desired, currentMetrics });
        return { requeueAfterMs: HPA_SYNC_PERIOD_MS };
      }
      setCond('AbleToScale', 'True', 'SucceededRescale', `the HPA controller was able to update the target scale to ${desired}`);
      recorder.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${reason}`);
      const events = desired > current ? upEvents : downEvents;
      const keepMs = 30 * 60_000;
      events.set(key, [...(events.get(key) ?? []).filter((e) => now - e.atMs < keepMs), { atMs: now, change: Math.abs(desired - current) }]);
      lastScaleTime = rfc3339(now);
    } else {
      setCond('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');
    }
    await writeStatus({ currentReplicas: current, desiredReplicas: desired, currentMetrics, ...(lastScaleTime ? { lastScaleTime } : {}) });
    return { requeueAfterMs: HPA_SYNC_PERIOD_MS };
  }
  return controller;
}
