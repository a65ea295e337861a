/**
 * controller-runtime's shape: a reconcile(key) function driven by a de-duplicating work queue with N
 * workers. The key is "namespace/name", never the event; errors requeue with per-key exponential backoff;
 * a result's requeueAfter schedules a re-check.
 */
import { Clock, realClock } from '../client/clock';
import { WorkQueue } from '../client/workqueue';
import { isSkiffError } from '../common/errors';

export interface ReconcileResult {
  requeueAfterMs?: number;
  requeue?: boolean;
}

export type Reconciler = (key: string) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  workers?: number;
  clock?: Clock;
  log?: (msg: string) => void;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly workers: number;
  private readonly log: (msg: string) => void;
  private running: Promise<void>[] = [];

  constructor(readonly name: string, private readonly reconcile: Reconciler, opts: ControllerOptions = {}) {
    this.queue = new WorkQueue({ clock: opts.clock ?? realClock, baseDelayMs: opts.baseDelayMs ?? 5, maxDelayMs: opts.maxDelayMs ?? 30_000 });
    this.workers = opts.workers ?? 2;
    this.log = opts.log ?? (() => {});
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    for (let i = 0; i < this.workers; i++) this.running.push(this.work());
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const res = await this.reconcile(key);
        this.queue.forget(key);
        if (res?.requeueAfterMs !== undefined) this.queue.addAfter(key, res.requeueAfterMs);
        else if (res?.requeue) this.queue.addRateLimited(key);
      } catch (err) {
        // A conflict only means our cache was behind a concurrent write: retry quietly.
        if (!isSkiffError(err, 'Conflict')) this.log(`${this.name}: reconcile ${key}: ${err instanceof Error ? err.message : String(err)}`);
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }
}
