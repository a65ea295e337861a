/**
 * The pod's status as the kubelet reports it (upstream generateAPIPodStatus + getPhase), from the engine's
 * containers, the sync decision, probe results and the worker's waiting reasons. Pure.
 */
import { isSidecar, latestByName, restartPolicyOf, wouldRestart, type PodActions, type RuntimeContainer } from './sync';
import type { ContainerKind } from './naming';
import type { ContainerSpec, PodV1 } from './types';
import { qosClass } from './resources';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

export interface StatusInput {
  pod: PodV1;
  containers: RuntimeContainer[];
  actions: PodActions;
  /** Waiting reasons the worker met (ErrImagePull, ImagePullBackOff, CreateContainerConfigError...). */
  waiting: Map<string, { reason: string; message: string }>;
  ready(id: string): boolean;
  started(id: string): boolean;
  podIP?: string;
  hostIP: string;
  sandboxReady: boolean;
  /** Back-off delay to quote in CrashLoopBackOff messages, ms. */
  backoffDelay(name: string): number;
  nowIso: string;
  /** Set when the pod must fail regardless (activeDeadlineSeconds...). */
  failed?: { reason: string; message: string };
}

export const CONTAINER_ID_PREFIX = 'skiff://';

function terminatedOf(c: RuntimeContainer): Obj {
  const reason = c.oomKilled ? 'OOMKilled' : c.exitCode === 0 ? 'Completed' : c.error && c.exitCode >= 126 ? 'ContainerCannotRun' : 'Error';
  const t: Obj = {
    exitCode: c.exitCode,
    reason,
    startedAt: secs(c.startedAt),
    finishedAt: secs(c.finishedAt),
    containerID: CONTAINER_ID_PREFIX + c.id,
  };
  if (c.error && reason !== 'Completed') t.message = c.error;
  return t;
}

/** RFC3339 with seconds precision, as the API shows times. */
export function secs(iso: string | undefined): string | null {
  if (!iso || iso.startsWith('0001-')) return null;
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return null;
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function containerStatus(spec: ContainerSpec, kind: ContainerKind, all: RuntimeContainer[], latest: RuntimeContainer | undefined, input: StatusInput, defaultWaiting: string): Obj {
  const st: Obj = { name: spec.name, image: spec.image ?? '', imageID: '', ready: false, restartCount: 0, started: false };
  const w = input.waiting.get(spec.name);
  if (!latest) {
    st.state = { waiting: w ?? { reason: defaultWaiting } };
    st.lastState = {};
    return st;
  }
  st.imageID = latest.imageId;
  st.containerID = CONTAINER_ID_PREFIX + latest.id;
  st.restartCount = latest.attempt;
  const previous = all.filter((c) => c.name === spec.name && c.state === 'exited' && c.attempt < latest.attempt).sort((a, b) => b.attempt - a.attempt)[0];
  if (latest.state === 'running') {
    st.state = { running: { startedAt: secs(latest.startedAt) } };
    st.lastState = previous ? { terminated: terminatedOf(previous) } : {};
    st.started = input.started(latest.id);
    st.ready = st.started && input.ready(latest.id);
    return st;
  }
  // Exited.
  const backoffLeft = input.actions.backoff.get(spec.name);
  if (backoffLeft !== undefined) {
    const delay = Math.round(input.backoffDelay(spec.name) / 1000);
    st.state = {
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off ${fmtDuration(delay)} restarting failed container=${spec.name} pod=${input.pod.metadata.name}_${input.pod.metadata.namespace}(${input.pod.metadata.uid})`,
      },
    };
    st.lastState = { terminated: terminatedOf(latest) };
    return st;
  }
  if (w) {
    st.state = { waiting: w };
    st.lastState = { terminated: terminatedOf(latest) };
    return st;
  }
  st.state = { terminated: terminatedOf(latest) };
  st.lastState = previous ? { terminated: terminatedOf(previous) } : {};
  void kind;
  return st;
}

/** Go's time.Duration String() for whole seconds: "10s", "1m20s", "5m0s". */
export function fmtDuration(totalSec: number): string {
  if (totalSec < 60) return `${totalSec}s`;
  const m = Math.floor(totalSec / 60);
  const s = totalSec % 60;
  if (m < 60) return `${m}m${s}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${s}s`;
}

function condition(prev: Obj[] | undefined, type: string, status: boolean, nowIso: string, reason?: string, message?: string): Obj {
  const s = status ? 'True' : 'False';
  const old = prev?.find((c) => c.type === type);
  const c: Obj = { type, status: s, lastProbeTime: null, lastTransitionTime: old && old.status === s ? old.lastTransitionTime : secs(nowIso) };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

export type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** Upstream getPhase over the main containers (init done), with restartPolicy semantics. */
export function podPhase(pod: PodV1, latest: Map<string, RuntimeContainer>, actions: PodActions): Phase {
  const prev = pod.status?.phase;
  if (prev === 'Succeeded' || prev === 'Failed') return prev;
  if (actions.initFailed) return 'Failed';
  if (!actions.initialized) return 'Pending';
  const policy = restartPolicyOf(pod);
  let pending = 0;
  let running = 0;
  let succeeded = 0;
  let failed = 0;
  for (const c of pod.spec.containers) {
    const l = latest.get(c.name);
    if (!l) pending++;
    else if (l.state === 'running') running++;
    else if (wouldRestart('main', policy, l.exitCode) || actions.start.some((s) => s.spec.name === c.name)) running++;
    else if (l.exitCode === 0) succeeded++;
    else failed++;
  }
  if (pending > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (failed > 0) return 'Failed';
  if (succeeded > 0) return 'Succeeded';
  return 'Pending';
}

export function computePodStatus(input: StatusInput): Obj {
  const { pod, actions } = input;
  const latest = latestByName(input.containers);
  const prev = (pod.status ?? {}) as Obj;
  const inits = pod.spec.initContainers ?? [];
  const initStatuses = inits.map((c) =>
    containerStatus(c, isSidecar(c) ? 'sidecar' : 'init', input.containers, latest.get(c.name), input, 'PodInitializing'),
  );
  const mainStatuses = pod.spec.containers.map((c) =>
    containerStatus(c, 'main', input.containers, latest.get(c.name), input, actions.initialized ? 'ContainerCreating' : 'PodInitializing'),
  );
  let phase: Phase = podPhase(pod, latest, actions);
  if (input.failed) phase = 'Failed';
  const terminal = phase === 'Succeeded' || phase === 'Failed';

  const unreadyMain = pod.spec.containers.filter((c, i) => !mainStatuses[i].ready).map((c) => c.name);
  const unreadySidecars = inits.filter((c, i) => isSidecar(c) && !initStatuses[i].ready).map((c) => c.name);
  const unready = [...unreadySidecars, ...unreadyMain];
  const incompleteInit = inits
    .filter((c, i) => {
      const s = initStatuses[i];
      if (isSidecar(c)) return !s.started;
      return !(s.state?.terminated?.exitCode === 0);
    })
    .map((c) => c.name);
  const initialized = actions.initialized || phase === 'Running' || (terminal && incompleteInit.length === 0);
  const conds: Obj[] = [];
  const prevConds = prev.conditions as Obj[] | undefined;
  conds.push(condition(prevConds, 'PodReadyToStartContainers', input.sandboxReady, input.nowIso));
  conds.push(
    initialized
      ? condition(prevConds, 'Initialized', true, input.nowIso)
      : condition(prevConds, 'Initialized', false, input.nowIso, 'ContainersNotInitialized', `containers with incomplete status: [${incompleteInit.join(' ')}]`),
  );
  const ready = unready.length === 0 && !terminal;
  if (terminal) {
    conds.push(condition(prevConds, 'Ready', false, input.nowIso, 'PodCompleted'));
    conds.push(condition(prevConds, 'ContainersReady', false, input.nowIso, 'PodCompleted'));
  } else {
    const msg = `containers with unready status: [${unready.join(' ')}]`;
    conds.push(ready ? condition(prevConds, 'Ready', true, input.nowIso) : condition(prevConds, 'Ready', false, input.nowIso, 'ContainersNotReady', msg));
    conds.push(
      ready ? condition(prevConds, 'ContainersReady', true, input.nowIso) : condition(prevConds, 'ContainersReady', false, input.nowIso, 'ContainersNotReady', msg),
    );
  }
  const scheduled = prevConds?.find((c) => c.type === 'PodScheduled');
  conds.push(scheduled ?? condition(undefined, 'PodScheduled', true, input.nowIso));

  const status: Obj = {
    phase,
    conditions: conds,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    startTime: prev.startTime ?? secs(input.nowIso),
    qosClass: prev.qosClass ?? qosClass(pod),
    containerStatuses: mainStatuses,
  };
  const ip = input.podIP ?? prev.podIP;
  if (ip) {
    status.podIP = ip;
    status.podIPs = [{ ip }];
  }
  if (inits.length) status.initContainerStatuses = initStatuses;
  if (input.failed) {
    status.reason = input.failed.reason;
    status.message = input.failed.message;
  } else if (prev.reason && terminal) {
    status.reason = prev.reason;
    status.message = prev.message;
  }
  return status;
}
