/**
 * Probe workers (upstream prober): one per container and probe type, with upstream's defaults
 * (initialDelay 0, period 10 s, timeout 1 s, success 1, failure 3). Startup gates liveness and readiness;
 * readiness starts as failure, liveness as success. A change of result asks the pod worker to sync.
 */
import { runHandler, type HandlerTarget } from './handlers';
import type { Probe } from './types';

export type ProbeType = 'liveness' | 'readiness' | 'startup';

interface Worker {
  type: ProbeType;
  timer?: NodeJS.Timeout;
  result: boolean;
  successes: number;
  failures: number;
  lastOutput: string;
  stopped: boolean;
  threshold: number;
}

export function probeDefaults(p: Probe): Required<Pick<Probe, 'initialDelaySeconds' | 'timeoutSeconds' | 'periodSeconds' | 'successThreshold' | 'failureThreshold'>> {
  return {
    initialDelaySeconds: p.initialDelaySeconds ?? 0,
    timeoutSeconds: p.timeoutSeconds || 1,
    periodSeconds: p.periodSeconds || 10,
    successThreshold: p.successThreshold || 1,
    failureThreshold: p.failureThreshold || 3,
  };
}

export interface ProbeEvents {
  /** Result flipped (or liveness/startup failed past its threshold): sync the pod. */
  changed(podUid: string, containerId: string, type: ProbeType, ok: boolean, output: string): void;
}

interface ContainerProbes {
  podUid: string;
  workers: Map<ProbeType, Worker>;
  hasStartup: boolean;
  hasReadiness: boolean;
}

export class ProbeManager {
  private readonly byContainer = new Map<string, ContainerProbes>();

  constructor(private readonly events: ProbeEvents) {}

  /** Starts the workers of a running container once (idempotent). */
  ensure(podUid: string, target: HandlerTarget): void {
    if (this.byContainer.has(target.containerId)) return;
    const c = target.container;
    const cp: ContainerProbes = { podUid, workers: new Map(), hasStartup: !!c.startupProbe, hasReadiness: !!c.readinessProbe };
    this.byContainer.set(target.containerId, cp);
    const add = (type: ProbeType, p: Probe | undefined) => {
      if (!p) return;
      const d = probeDefaults(p);
      const w: Worker = { type, result: type === 'liveness', successes: 0, failures: 0, lastOutput: '', stopped: false, threshold: d.failureThreshold };
      cp.workers.set(type, w);
      const tick = async () => {
        if (w.stopped) return;
        // Liveness and readiness wait for the startup probe.
        if (type !== 'startup' && cp.hasStartup && !cp.workers.get('startup')!.result) {
          w.timer = setTimeout(tick, d.periodSeconds * 1000);
          return;
        }
        if (type === 'startup' && w.result) return; // done for this container's life
        const r = await runHandler(p, target, d.timeoutSeconds * 1000);
        if (w.stopped) return;
        w.lastOutput = r.output;
        const before = w.result;
        if (r.ok) {
          w.failures = 0;
          w.successes++;
          if (w.successes >= (type === 'readiness' ? d.successThreshold : 1)) w.result = true;
        } else {
          w.successes = 0;
          w.failures++;
          if (w.failures >= d.failureThreshold) w.result = false;
        }
        if (before !== w.result || (!r.ok && type !== 'readiness' && w.failures === d.failureThreshold)) {
          this.events.changed(podUid, target.containerId, type, w.result, r.output);
        }
        if (!w.stopped) w.timer = setTimeout(tick, d.periodSeconds * 1000);
      };
      w.timer = setTimeout(tick, d.initialDelaySeconds * 1000);
    };
    add('startup', c.startupProbe);
    add('readiness', c.readinessProbe);
    add('liveness', c.livenessProbe);
  }

  started(id: string): boolean {
    const cp = this.byContainer.get(id);
    if (!cp || !cp.hasStartup) return true;
    return cp.workers.get('startup')!.result;
  }

  ready(id: string): boolean {
    const cp = this.byContainer.get(id);
    if (!cp || !cp.hasReadiness) return true;
    return cp.workers.get('readiness')!.result;
  }

  /** 'liveness' or 'startup' when the container must be restarted. */
  unhealthy(id: string): 'liveness' | 'startup' | undefined {
    const cp = this.byContainer.get(id);
    if (!cp) return undefined;
    const l = cp.workers.get('liveness');
    if (l && !l.result) return 'liveness';
    const s = cp.workers.get('startup');
    if (s && !s.result && s.failures >= s.threshold) return 'startup';
    return undefined;
  }

  lastOutput(id: string, type: ProbeType): string {
    return this.byContainer.get(id)?.workers.get(type)?.lastOutput ?? '';
  }

  stop(id: string): void {
    const cp = this.byContainer.get(id);
    if (!cp) return;
    for (const w of cp.workers.values()) {
      w.stopped = true;
      if (w.timer) clearTimeout(w.timer);
    }
    this.byContainer.delete(id);
  }

  /** Stops the workers of containers not in `live`. */
  retain(live: Set<string>): void {
    for (const id of [...this.byContainer.keys()]) if (!live.has(id)) this.stop(id);
  }

  stopAll(): void {
    for (const id of [...this.byContainer.keys()]) this.stop(id);
  }
}
