/**
 * The kubelet's crash-loop back-off (flowcontrol.Backoff as the kubelet configures it): per pod+container,
 * the first restart is immediate, each later one waits 10 s doubling up to 5 min, measured from the
 * container's finish time; an entry is forgotten after the container ran 10 min without crashing
 * (upstream: twice the max delay without an update). Pure over an injected clock value.
 */
export const INITIAL_BACKOFF_MS = 10_000;
export const MAX_BACKOFF_MS = 300_000;
/** Upstream resets after 2 × max back-off (10 min) without a failure. */
export const RESET_AFTER_MS = 2 * MAX_BACKOFF_MS;

interface Entry {
  delayMs: number;
  lastUpdateMs: number;
}

export class CrashBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly initialMs = INITIAL_BACKOFF_MS, private readonly maxMs = MAX_BACKOFF_MS) {}

  /**
   * Whether a restart of `key` must still wait, given the last run finished at `finishedMs`; returns the
   * remaining wait in ms (0 = may restart now).
   */
  remaining(key: string, finishedMs: number, nowMs: number): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    if (nowMs - e.lastUpdateMs > 2 * this.maxMs) {
      this.entries.delete(key);
      return 0;
    }
    return Math.max(0, finishedMs + e.delayMs - nowMs);
  }

  /** Records a restart: the next one waits longer. */
  next(key: string, nowMs: number): void {
    const e = this.entries.get(key);
    if (!e || nowMs - e.lastUpdateMs > 2 * this.maxMs) this.entries.set(key, { delayMs: this.initialMs, lastUpdateMs: nowMs });
    else this.entries.set(key, { delayMs: Math.min(e.delayMs * 2, this.maxMs), lastUpdateMs: nowMs });
  }

  /** The delay the next wait would use (for messages: "back-off 20s restarting failed container"). */
  delayOf(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** A container that ran long enough starts over. */
  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Drops the entries of a pod that is gone. */
  forgetPrefix(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
