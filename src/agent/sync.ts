/**
 * What a pod needs next, from its spec and the containers the engine has for it (upstream's
 * computePodActions). Pure: the pod worker executes the answer and asks again on the next event.
 *
 * - Regular init containers run one at a time, in order; one that failed is retried (with back-off) unless
 *   the pod's restartPolicy is Never, which fails the pod.
 * - Sidecars (init containers with restartPolicy Always) start in order with the init containers, must be
 *   started (startup probe passed) before the next one starts, and keep running until the main containers
 *   are done.
 * - Main containers start together once the pod is initialized; once any ran, init never reruns.
 * - A container that exited restarts per the pod's restartPolicy, subject to the crash-loop back-off.
 */
import { containerHash, type ContainerKind } from './naming';
import type { ContainerSpec, PodV1 } from './types';

export interface RuntimeContainer {
  id: string;
  name: string;
  kind: ContainerKind;
  attempt: number;
  hash: string;
  state: 'created' | 'running' | 'exited';
  exitCode: number;
  oomKilled: boolean;
  /** ISO times. */
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  imageId: string;
  image: string;
  error?: string;
}

export interface StartAction {
  spec: ContainerSpec;
  kind: ContainerKind;
  attempt: number;
}

export interface KillAction {
  id: string;
  name: string;
  reason: 'SpecChanged' | 'Unhealthy' | 'PodCompleted' | 'StartupFailed';
}

export interface PodActions {
  start: StartAction[];
  kill: KillAction[];
  /** Containers held back by the crash-loop back-off: name → ms left. */
  backoff: Map<string, number>;
  initialized: boolean;
  /** A regular init container failed under restartPolicy Never: the pod fails. */
  initFailed: boolean;
  /** Every main container has exited for good: sidecars stop, the pod is done. */
  mainDone: boolean;
}

export interface SyncInput {
  pod: PodV1;
  /** This pod's engine containers (any attempt, any state). */
  containers: RuntimeContainer[];
  nowMs: number;
  /** ms a restart of this container must still wait (0 = now), given its last finish. */
  backoffRemaining(name: string, finishedMs: number): number;
  /** Startup probe passed (or none). */
  started(id: string): boolean;
  /** Liveness (or startup) probe says restart. */
  unhealthy(id: string): 'liveness' | 'startup' | undefined;
  /** The pod already reached Succeeded/Failed: nothing starts again. */
  terminal: boolean;
  /** Containers killed for a spec change: restarted whatever the policy. */
  forceRestart: Set<string>;
}

export function restartPolicyOf(pod: PodV1): 'Always' | 'OnFailure' | 'Never' {
  return pod.spec.restartPolicy ?? 'Always';
}

export function isSidecar(c: ContainerSpec): boolean {
  return c.restartPolicy === 'Always';
}

/** The latest attempt per container name (created-but-never-started ones are ignored: the worker removes them). */
export function latestByName(containers: RuntimeContainer[]): Map<string, RuntimeContainer> {
  const out = new Map<string, RuntimeContainer>();
  for (const c of containers) {
    if (c.state === 'created') continue;
    const cur = out.get(c.name);
    if (!cur || c.attempt > cur.attempt) out.set(c.name, c);
  }
  return out;
}

/** Whether an exited container of this kind restarts under the pod's policy. */
export function wouldRestart(kind: ContainerKind, policy: string, exitCode: number): boolean {
  if (kind === 'sidecar') return true;
  if (kind === 'init') return exitCode !== 0 && policy !== 'Never';
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

export function computePodActions(input: SyncInput): PodActions {
  const { pod } = input;
  const policy = restartPolicyOf(pod);
  const latest = latestByName(input.containers);
  const out: PodActions = { start: [], kill: [], backoff: new Map(), initialized: false, initFailed: false, mainDone: false };
  const main = pod.spec.containers ?? [];
  const inits = pod.spec.initContainers ?? [];

  // Main containers done for good (all exited and none restarts)?
  out.mainDone =
    main.length > 0 &&
    main.every((c) => {
      const l = latest.get(c.name);
      return !!l && l.state === 'exited' && !input.forceRestart.has(l.id) && !wouldRestart('main', policy, l.exitCode);
    });
  const stopping = input.terminal || out.mainDone;

  // Restart (or start anew) a container whose latest run exited, honouring the back-off.
  const restartOrWait = (spec: ContainerSpec, kind: ContainerKind, l: RuntimeContainer): void => {
    if (input.forceRestart.has(l.id)) {
      out.start.push({ spec, kind, attempt: l.attempt + 1 });
      return;
    }
    const wait = input.backoffRemaining(spec.name, Date.parse(l.finishedAt ?? '') || input.nowMs);
    if (wait > 0) out.backoff.set(spec.name, wait);
    else out.start.push({ spec, kind, attempt: l.attempt + 1 });
  };

  // Probes and spec changes on running containers.
  const checkRunning = (spec: ContainerSpec, l: RuntimeContainer): boolean => {
    if (l.hash !== containerHash(spec)) {
      out.kill.push({ id: l.id, name: spec.name, reason: 'SpecChanged' });
      return false;
    }
    const bad = input.unhealthy(l.id);
    if (bad) {
      out.kill.push({ id: l.id, name: spec.name, reason: bad === 'startup' ? 'StartupFailed' : 'Unhealthy' });
      return false;
    }
    return true;
  };

  if (stopping) {
    for (const c of [...inits, ...main]) {
      const l = latest.get(c.name);
      if (l?.state === 'running') out.kill.push({ id: l.id, name: c.name, reason: 'PodCompleted' });
    }
    out.initialized = inits.every((c) => isSidecar(c) || latest.get(c.name)?.exitCode === 0 || main.some((m) => latest.has(m.name)));
    return out;
  }

  // ---- init containers (skipped once any main container exists: init never reruns) ----
  const mainStarted = main.some((c) => latest.has(c.name));
  let initialized = true;
  for (const c of inits) {
    const l = latest.get(c.name);
    if (isSidecar(c)) {
      if (!l) {
        out.start.push({ spec: c, kind: 'sidecar', attempt: 0 });
        if (!mainStarted) initialized = false;
        if (!mainStarted) break;
        continue;
      }
      if (l.state === 'running') {
        if (!checkRunning(c, l)) {
          if (!mainStarted) initialized = false;
          if (!mainStarted) break;
          continue;
        }
        if (!input.started(l.id) && !mainStarted) {
          initialized = false;
          break;
        }
        continue;
      }
      restartOrWait(c, 'sidecar', l);
      if (!mainStarted) {
        initialized = false;
        break;
      }
      continue;
    }
    if (mainStarted) continue;
    if (!l) {
      out.start.push({ spec: c, kind: 'init', attempt: 0 });
      initialized = false;
      break;
    }
    if (l.state === 'running') {
      if (!checkRunning(c, l)) {
        initialized = false;
        break;
      }
      initialized = false;
      break;
    }
    if (l.exitCode === 0 && !input.forceRestart.has(l.id)) continue;
    if (policy === 'Never' && !input.forceRestart.has(l.id)) {
      out.initFailed = true;
      initialized = false;
      break;
    }
    restartOrWait(c, 'init', l);
    initialized = false;
    break;
  }
  out.initialized = initialized;
  if (!initialized) return out;

  // ---- main containers ----
  for (const c of main) {
    const l = latest.get(c.name);
    if (!l) {
      out.start.push({ spec: c, kind: 'main', attempt: 0 });
      continue;
    }
    if (l.state === 'running') {
      checkRunning(c, l);
      continue;
    }
    if (input.forceRestart.has(l.id) || wouldRestart('main', policy, l.exitCode)) restartOrWait(c, 'main', l);
  }
  return out;
}
