/**
 * An event recorder like client-go's: records core/v1 Events about objects for `kubectl describe`, and
 * aggregates repeats of the same (object, type, reason, message, source) into one Event whose count and
 * lastTimestamp grow, instead of flooding the store. Recording never throws or blocks the caller.
 */
import { KubeClient } from './client';
import { Clock, realClock } from './clock';
import { RESOURCES, apiVersionOf } from './resources';
import { Event, KObject } from './types';

export interface EventRecorderOptions {
  /** source.component / reportingComponent, e.g. "default-scheduler", "deployment-controller". */
  component: string;
  host?: string;
  clock?: Clock;
  onError?: (err: unknown) => void;
  /**
   * Client-side write rate limit, as the kubelet's event client has (eventRecordQPS 50, eventBurst 100):
   * writes then go out one at a time through a token bucket, and events beyond `maxQueue` waiting are
   * dropped (client-go's broadcaster drops when its queue is full). Unset: every event is written at once.
   */
  qps?: number;
  burst?: number;
  maxQueue?: number;
}

interface Seen {
  namespace: string;
  name: string;
  count: number;
  firstTimestamp: string;
}

export type EventType = 'Normal' | 'Warning';

/** Upstream's event name: "<object name>.<unix nanoseconds in hex>". */
export function eventName(objName: string, ms: number, seq = 0): string {
  return `${objName}.${(BigInt(ms) * 1_000_000n + BigInt(seq)).toString(16)}`;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class EventRecorder {
  private seen = new Map<string, Seen>();
  private seq = 0;
  private readonly clock: Clock;
  /** Pending writes, so tests and shutdown can wait for them. */
  private inflight = new Set<Promise<void>>();
  /** Serialises writes per aggregation key so a count never goes backwards. */
  private chains = new Map<string, Promise<void>>();

  /** Rate-limited mode: the token bucket and the one-at-a-time write chain. */
  private tokens: number;
  private lastRefill: number;
  private queued = 0;
  private writer: Promise<void> = Promise.resolve();

  constructor(private readonly client: KubeClient, private readonly opts: EventRecorderOptions) {
    this.clock = opts.clock ?? realClock;
    this.tokens = opts.burst ?? 1;
    this.lastRefill = this.clock.now();
  }

  event(obj: KObject, type: EventType, reason: string, message: string): void {
    const ns = obj.metadata.namespace || 'default';
    const key = [obj.metadata.uid ?? '', ns, obj.metadata.name, type, reason, message, this.opts.component].join('\u0000');
    const prev = this.chains.get(key) ?? Promise.resolve();
    let write = () => this.write(key, obj, ns, type, reason, message);
    if (this.opts.qps) {
      if (this.queued >= (this.opts.maxQueue ?? 1000)) return; // dropped, as client-go does when full
      this.queued++;
      const direct = write;
      write = () => {
        const next = this.writer.then(() => this.takeToken()).then(direct);
        this.writer = next.catch(() => undefined);
        return next.finally(() => this.queued--);
      };
    }
    const p = prev.then(write).catch((err) => this.opts.onError?.(err));
    this.chains.set(key, p);
    this.inflight.add(p);
    void p.finally(() => {
      this.inflight.delete(p);
      if (this.chains.get(key) === p) this.chains.delete(key);
    });
    // Bound the aggregation memory like upstream's LRU (4096 entries).
    if (this.seen.size > 4096) this.seen.delete(this.seen.keys().next().value!);
  }

  /** Waits for a token of the bucket (qps refill, burst capacity). */
  private async takeToken(): Promise<void> {
    const qps = this.opts.qps!;
    const burst = this.opts.burst ?? 1;
    for (;;) {
      const now = this.clock.now();
      this.tokens = Math.min(burst, this.tokens + ((now - this.lastRefill) / 1000) * qps);
      this.lastRefill = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise<void>((r) => this.clock.setTimeout(r, Math.ceil(((1 - this.tokens) / qps) * 1000)));
    }
  }

  async flush(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  private async write(key: string, obj: KObject, ns: string, type: EventType, reason: string, message: string): Promise<void> {
    const now = rfc3339(this.clock.now());
    const seen = this.seen.get(key);
    if (seen) {
      try {
        await this.client.patch(RESOURCES.events, seen.namespace, seen.name, { count: seen.count + 1, lastTimestamp: now }, 'merge');
        seen.count++;
        return;
      } catch {
        this.seen.delete(key); // the Event expired or was deleted: start a new one
      }
    }
    const name = eventName(obj.metadata.name ?? 'unknown', this.clock.now(), this.seq++ % 1000);
    const ev: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: {
        kind: obj.kind,
        namespace: obj.metadata.namespace,
        name: obj.metadata.name,
        uid: obj.metadata.uid,
        apiVersion: obj.apiVersion ?? apiVersionFor(obj.kind),
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      source: { component: this.opts.component, ...(this.opts.host ? { host: this.opts.host } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? '',
    };
    await this.client.create(RESOURCES.events, ns, ev);
    this.seen.set(key, { namespace: ns, name, count: 1, firstTimestamp: now });
  }
}

function apiVersionFor(kind: string | undefined): string | undefined {
  for (const r of Object.values(RESOURCES)) if (r.kind === kind) return apiVersionOf(r);
  return undefined;
}
