/**
 * Upstream's ControllerExpectations: after a controller creates or deletes pods it must not act again on
 * the same owner until its informer has seen those changes, or it would create duplicates from a stale
 * cache. Expectations expire (5 minutes upstream) so a lost watch event cannot wedge an owner forever.
 */
import { Clock, realClock } from '../client/clock';

const TTL_MS = 5 * 60_000;

interface Expectation {
  add: number;
  del: Set<string>;
  at: number;
}

export class Expectations {
  private map = new Map<string, Expectation>();
  constructor(private readonly clock: Clock = realClock) {}

  expect(key: string, creations: number, deletionUids: string[] = []): void {
    this.map.set(key, { add: creations, del: new Set(deletionUids), at: this.clock.now() });
  }

  creationObserved(key: string): void {
    const e = this.map.get(key);
    if (e && e.add > 0) e.add--;
  }

  /** A create that failed will never be observed. */
  creationFailed(key: string): void {
    this.creationObserved(key);
  }

  deletionObserved(key: string, uid: string | undefined): void {
    const e = this.map.get(key);
    if (e && uid) e.del.delete(uid);
  }

  satisfied(key: string): boolean {
    const e = this.map.get(key);
    if (!e) return true;
    if ((e.add <= 0 && e.del.size === 0) || this.clock.now() - e.at > TTL_MS) {
      this.map.delete(key);
      return true;
    }
    return false;
  }

  delete(key: string): void {
    this.map.delete(key);
  }
}
