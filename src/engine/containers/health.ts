/**
 * Health checks: a probe run inside the container every Interval (StartInterval during StartPeriod is not
 * modelled; the first probe runs after Interval like Docker), Timeout per probe, Retries consecutive failures
 * make it unhealthy; failures during StartPeriod do not count. Results keep Docker's last-5 log.
 */
import type { HealthConfig, HealthState } from './types';

const NS = 1e9;
const DEFAULT_INTERVAL = 30 * NS;
const DEFAULT_TIMEOUT = 30 * NS;
const DEFAULT_RETRIES = 3;
const MAX_LOG = 5;

export function healthEnabled(hc: HealthConfig | undefined): boolean {
  return !!hc && !!hc.Test && hc.Test.length > 0 && hc.Test[0] !== 'NONE';
}

/** The probe command: CMD args, or CMD-SHELL through /bin/sh -c. */
export function probeArgs(test: string[]): string[] {
  if (test[0] === 'CMD') return test.slice(1);
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', test.slice(1).join(' ')];
  return test;
}

export interface HealthDeps {
  probe(args: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }>;
  state(): HealthState;
  onChange(status: 'healthy' | 'unhealthy'): void;
  onResult(): void;
}

export class HealthMonitor {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly hc: HealthConfig,
    private readonly deps: HealthDeps,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    const interval = (this.hc.Interval || DEFAULT_INTERVAL) / 1e6;
    this.timer = setTimeout(() => void this.runOnce(), interval);
    this.timer.unref();
  }

  async runOnce(): Promise<void> {
    if (this.stopped) return;
    const timeoutMs = (this.hc.Timeout || DEFAULT_TIMEOUT) / 1e6;
    const start = new Date().toISOString();
    const res = await this.deps.probe(probeArgs(this.hc.Test!), timeoutMs);
    if (this.stopped) return;
    const st = this.deps.state();
    st.Log.push({ Start: start, End: new Date().toISOString(), ExitCode: res.exitCode, Output: res.output });
    while (st.Log.length > MAX_LOG) st.Log.shift();
    const before = st.Status;
    const inStartPeriod = Date.now() - this.startedAt < (this.hc.StartPeriod ?? 0) / 1e6;
    if (res.exitCode === 0) {
      st.FailingStreak = 0;
      st.Status = 'healthy';
    } else if (!inStartPeriod) {
      st.FailingStreak++;
      if (st.FailingStreak >= (this.hc.Retries || DEFAULT_RETRIES)) st.Status = 'unhealthy';
    }
    this.deps.onResult();
    if (st.Status !== before && (st.Status === 'healthy' || st.Status === 'unhealthy')) this.deps.onChange(st.Status);
    this.schedule();
  }
}
