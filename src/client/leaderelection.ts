/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: one holder at
 * a time, renewed every retryPeriod; another candidate takes over only after it has watched the record stay
 * unchanged for leaseDuration (it trusts its own clock, never the holder's timestamps). Lets several skiff
 * servers share one datastore while only one runs the controllers and one the scheduler.
 *
 *   const le = runWithLeaderElection(client, { name: 'skiff-controller-manager', identity: host },
 *                                    () => startControllers({ client }));
 *   ...; await le.stop();   // releases the lease so a peer takes over at once
 */
import { isSkiffError } from '../common/errors';
import { KubeClient } from './client';
import { Clock, realClock, TimerHandle } from './clock';
import { RESOURCES } from './resources';
import { KObject } from './types';

export interface LeaderElectionOptions {
  name: string;
  namespace?: string; // default kube-system, as upstream
  identity: string;
  leaseDurationMs?: number; // 15 s
  renewDeadlineMs?: number; // 10 s
  retryPeriodMs?: number; // 2 s
  clock?: Clock;
  log?: (msg: string) => void;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, 'log'>> & { log: (m: string) => void };
  private observed?: { spec: string; at: number };
  private leader = false;

  constructor(private readonly client: KubeClient, opts: LeaderElectionOptions) {
    this.o = {
      namespace: 'kube-system',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      clock: realClock,
      log: () => {},
      ...opts,
    };
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** One attempt to become or stay the holder; true when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { name, namespace, identity, clock } = this.o;
    const now = clock.now();
    const desired: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    let lease: KObject;
    try {
      lease = await this.client.get(RESOURCES.leases, namespace, name);
    } catch (err) {
      if (!isSkiffError(err, 'NotFound')) throw err;
      try {
        await this.client.create(RESOURCES.leases, namespace, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: desired });
        this.observed = { spec: JSON.stringify(desired), at: now };
        return true;
      } catch (e) {
        if (isSkiffError(e, 'AlreadyExists')) return false;
        throw e;
      }
    }
    const spec = (lease.spec ?? {}) as LeaseSpec;
    const key = JSON.stringify(spec);
    if (!this.observed || this.observed.spec !== key) this.observed = { spec: key, at: now };
    const held = !!spec.holderIdentity && spec.holderIdentity !== identity;
    const duration = (spec.leaseDurationSeconds ?? 15) * 1000;
    if (held && this.observed.at + duration > now) return false; // someone else's, and still fresh
    if (spec.holderIdentity === identity) {
      desired.acquireTime = spec.acquireTime ?? desired.acquireTime;
      desired.leaseTransitions = spec.leaseTransitions ?? 0;
    } else {
      desired.leaseTransitions = (spec.leaseTransitions ?? 0) + 1;
    }
    try {
      // PUT with the resourceVersion we read: two candidates cannot both win.
      await this.client.update(RESOURCES.leases, { ...lease, spec: desired });
      this.observed = { spec: JSON.stringify(desired), at: now };
      return true;
    } catch (err) {
      if (isSkiffError(err, 'Conflict')) return false;
      throw err;
    }
  }

  /** Gives the lease up (holder cleared) so a peer need not wait for it to expire. */
  async release(): Promise<void> {
    if (!this.leader) return;
    this.leader = false;
    try {
      const lease = await this.client.get(RESOURCES.leases, this.o.namespace, this.o.name);
      if ((lease.spec as LeaseSpec | undefined)?.holderIdentity !== this.o.identity) return;
      await this.client.update(RESOURCES.leases, { ...lease, spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(this.o.clock.now()) } });
    } catch (err) {
      this.o.log(`leader election ${this.o.name}: release: ${err}`);
    }
  }

  /**
   * Campaigns until stopped: calls onStarted when leadership is acquired and onStopped when it is lost
   * (renewals failing for renewDeadline) — then campaigns again.
   */
  run(onStarted: () => void, onStopped: () => void): { stop(): Promise<void> } {
    let stopped = false;
    let timer: TimerHandle | undefined;
    let lastRenew = 0;
    const tick = async () => {
      if (stopped) return;
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.o.log(`leader election ${this.o.name}: ${err instanceof Error ? err.message : err}`);
      }
      if (stopped) return;
      const now = this.o.clock.now();
      if (ok) {
        lastRenew = now;
        if (!this.leader) {
          this.leader = true;
          this.o.log(`leader election ${this.o.name}: ${this.o.identity} became leader`);
          onStarted();
        }
      } else if (this.leader && now - lastRenew > this.o.renewDeadlineMs) {
        this.leader = false;
        this.o.log(`leader election ${this.o.name}: ${this.o.identity} lost the lease`);
        onStopped();
      }
      timer = this.o.clock.setTimeout(() => void tick(), this.o.retryPeriodMs);
    };
    void tick();
    return {
      stop: async () => {
        stopped = true;
        if (timer) this.o.clock.clearTimeout(timer);
        if (this.leader) {
          onStopped();
          await this.release();
        }
      },
    };
  }
}

/** Runs a component only while this process holds the lease; restarts it after leadership is regained. */
export function runWithLeaderElection(client: KubeClient, opts: LeaderElectionOptions, start: () => { stop(): void }): { stop(): Promise<void>; elector: LeaderElector } {
  const elector = new LeaderElector(client, opts);
  let running: { stop(): void } | undefined;
  const handle = elector.run(
    () => {
      running = start();
    },
    () => {
      running?.stop();
      running = undefined;
    },
  );
  return { stop: () => handle.stop(), elector };
}
