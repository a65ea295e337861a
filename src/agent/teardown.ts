/**
 * When the cleanup after a pod's deletion runs: after the pod starts in flight, within bounds.
 *
 * On a saturated node every millisecond of CPU spent removing a deleted pod's containers, namespace,
 * addresses and volumes is one a new pod's start waits for — and nobody waits for the cleanup (the API
 * object is gone; the processes are already killed, with the usual SIGTERM → grace → SIGKILL, outside this
 * queue). The kubelet likewise kills at once but leaves dead containers and sandboxes to its garbage
 * collector. So cleanups queue here and run:
 *   - freely (up to `idleConcurrency` at once) while no pod start is pending;
 *   - while starts are pending, only once the oldest has waited `maxDeferMs` (then `busyConcurrency` at
 *     once), or when more than `maxBacklog` wait (then `idleConcurrency`): under sustained load nothing
 *     waits for ever and the backlog (namespaces, addresses, disk) stays bounded.
 * Tasks run in arrival order. `poke()` after a start finishes lets waiting cleanups go at once.
 */
export interface TeardownQueueOptions {
  /** Whether pod starts are pending now. */
  busy: () => boolean;
  idleConcurrency?: number;
  busyConcurrency?: number;
  maxDeferMs?: number;
  maxBacklog?: number;
  now?: () => number;
}

interface Task {
  run: () => Promise<void>;
  at: number;
}

export class TeardownQueue {
  private readonly waiting: Task[] = [];
  private running = 0;
  private timer?: NodeJS.Timeout;
  private timerAt = 0;
  /** After close(): everything runs at once (shutdown, tests draining). */
  private flushing = false;
  readonly idleConcurrency: number;
  readonly busyConcurrency: number;
  readonly maxDeferMs: number;
  readonly maxBacklog: number;
  private readonly now: () => number;

  constructor(private readonly opts: TeardownQueueOptions) {
    this.idleConcurrency = opts.idleConcurrency ?? 8;
    this.busyConcurrency = opts.busyConcurrency ?? 4;
    this.maxDeferMs = opts.maxDeferMs ?? 3000;
    this.maxBacklog = opts.maxBacklog ?? 64;
    this.now = opts.now ?? Date.now;
  }

  /** Cleanups waiting to run. */
  get backlog(): number {
    return this.waiting.length;
  }

  /** Cleanups running now. */
  get active(): number {
    return this.running;
  }

  /** Queues a cleanup; the promise settles with it. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        // A cleanup that throws synchronously still settles and frees its slot.
        try {
          return fn().then(resolve, reject);
        } catch (err) {
          reject(err);
          return Promise.resolve();
        }
      };
      this.waiting.push({ run, at: this.now() });
      this.pump();
    });
  }

  /** Re-evaluates now (a start finished: waiting cleanups may go). */
  poke(): void {
    this.pump();
  }

  /** From now on nothing waits (shutdown). */
  flush(): void {
    this.flushing = true;
    this.pump();
  }

  /** How many may run now (pure, given the state). */
  limit(): number {
    if (this.flushing || !this.opts.busy()) return this.idleConcurrency;
    if (this.waiting.length > this.maxBacklog) return this.idleConcurrency;
    const head = this.waiting[0];
    if (head && this.now() - head.at >= this.maxDeferMs) return this.busyConcurrency;
    return 0;
  }

  private pump(): void {
    while (this.waiting.length && this.running < this.limit()) {
      const t = this.waiting.shift()!;
      this.running++;
      void t.run().finally(() => {
        this.running--;
        this.pump();
      });
    }
    // Starts keep the node busy: look again when the oldest cleanup is due. (One already due waits for a
    // running one to finish, which pumps again.)
    const due = this.waiting.length ? this.waiting[0].at + this.maxDeferMs : Infinity;
    if (this.waiting.length && !this.flushing && due > this.now()) {
      if (!this.timer || due < this.timerAt) {
        if (this.timer) clearTimeout(this.timer);
        this.timerAt = due;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, Math.max(1, due - this.now()));
        this.timer.unref();
      }
    } else if (this.timer && (!this.waiting.length || this.flushing)) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
