/**
 * A level-triggered reconcile loop: trigger() asks for a pass; passes never overlap, triggers during a pass
 * coalesce into one more pass, failures retry with backoff, and an optional period re-checks anyway.
 */
export class ReconcileLoop {
  private running = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private failures = 0;
  /** Resolves when the loop is idle (tests). */
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly pass: () => Promise<boolean | void>,
    private readonly opts: { debounceMs?: number; periodMs?: number; onError?: (e: unknown) => void } = {},
  ) {}

  start(): void {
    if (this.opts.periodMs) this.periodic = setInterval(() => this.trigger(), this.opts.periodMs).unref();
    this.trigger();
  }

  trigger(delayMs = this.opts.debounceMs ?? 0): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delayMs);
    this.timer.unref?.();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    this.running = true;
    this.again = false;
    let retryMs = 0;
    try {
      // A pass returning true asks for another pass soon (work still in progress).
      const more = await this.pass();
      this.failures = 0;
      if (more) retryMs = 250;
    } catch (e) {
      this.failures++;
      retryMs = Math.min(30_000, 100 * 2 ** Math.min(this.failures, 8));
      this.opts.onError?.(e);
    } finally {
      this.running = false;
    }
    if (this.again) this.trigger();
    else if (retryMs) this.trigger(retryMs);
    else {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.periodic) clearInterval(this.periodic);
    for (const f of this.idleWaiters) f();
    this.idleWaiters = [];
  }
}
