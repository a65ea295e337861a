/**
 * What every controller gets: the API client, shared informers (one watch per resource for the whole
 * manager), an event recorder per component, a clock and a logger.
 */
import { byOwnerUid } from '../client/cache';
import { KubeClient } from '../client/client';
import { Clock, realClock } from '../client/clock';
import { EventRecorder } from '../client/events';
import { Informer } from '../client/informer';
import { Resource, RESOURCES } from '../client/resources';
import { KObject } from '../client/types';

export class ControllerContext {
  private informers = new Map<string, Informer<KObject>>();
  private recorders = new Map<string, EventRecorder>();
  private started = false;

  constructor(
    readonly client: KubeClient,
    readonly clock: Clock = realClock,
    readonly log: (msg: string) => void = () => {},
  ) {}

  /** The shared informer for a resource (created on first use, indexed by namespace and owner uid). */
  informer<T extends KObject>(res: Resource): Informer<T> {
    const key = `${res.group}/${res.plural}`;
    let inf = this.informers.get(key);
    if (!inf) {
      // Informers back off on the real clock: their retries are I/O, not controller logic a test drives.
      inf = new Informer<KObject>(this.client, res, {
        indexers: { owner: byOwnerUid },
        onError: (e) => this.log(`informer ${res.plural}: ${e instanceof Error ? e.message : e}`),
      });
      this.informers.set(key, inf);
      // Asked for after startInformers() (e.g. by a scheduler sharing the manager's cache): it runs too.
      if (this.started) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  recorder(component: string): EventRecorder {
    let r = this.recorders.get(component);
    if (!r) {
      r = new EventRecorder(this.client, { component, clock: this.clock, onError: (e) => this.log(`event: ${e}`) });
      this.recorders.set(component, r);
    }
    return r;
  }

  startInformers(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  stopInformers(): void {
    this.started = false;
    for (const inf of this.informers.values()) inf.stop();
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  async flushEvents(): Promise<void> {
    await Promise.all([...this.recorders.values()].map((r) => r.flush()));
  }

  get pods() {
    return this.informer(RESOURCES.pods);
  }
}
