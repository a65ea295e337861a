/**
 * Restart policy decisions (pure). Docker's rules: `no` never; `always` unless stopped by hand;
 * `unless-stopped` likewise (the difference shows at engine restart: a hand-stopped unless-stopped
 * container stays down, a hand-stopped always container comes back); `on-failure[:N]` on non-zero exits
 * while fewer than N restarts happened. Back-off starts at 100 ms and doubles, reset once a run lasted 10 s.
 */
import type { RestartPolicy } from './config';

export const BACKOFF_START_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
export const BACKOFF_RESET_AFTER_MS = 10_000;

export function shouldRestart(
  policy: RestartPolicy,
  s: { exitCode: number; manuallyStopped: boolean; restartCount: number; unhealthy?: boolean },
): boolean {
  if (s.manuallyStopped) return false;
  switch (policy.name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      if (s.exitCode === 0 && !s.unhealthy) return false;
      return policy.maxRetries === 0 || s.restartCount < policy.maxRetries;
    default:
      return false;
  }
}

/** Whether a container should be started when the engine starts (it was running, or always/unless-stopped). */
export function startOnBoot(policy: RestartPolicy, s: { hasBeenStarted: boolean; manuallyStopped: boolean }): boolean {
  if (!s.hasBeenStarted) return false;
  if (policy.name === 'always') return true;
  if (policy.name === 'unless-stopped') return !s.manuallyStopped;
  return false;
}

/** Next back-off delay: doubled, or reset when the last run was long enough. */
export function nextBackoff(previousMs: number, ranForMs: number): number {
  if (ranForMs >= BACKOFF_RESET_AFTER_MS || previousMs <= 0) return BACKOFF_START_MS;
  return Math.min(previousMs * 2, BACKOFF_MAX_MS);
}
