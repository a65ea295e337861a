import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computePodActions, type RuntimeContainer, type SyncInput } from './sync';
import { computePodStatus, fmtDuration, podPhase } from './status';
import { containerHash } from './naming';
import { CrashBackoff } from './backoff';
import type { ContainerSpec, PodV1 } from './types';

const main = (name: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({ name, image: 'busybox', ...extra });

function pod(spec: Partial<PodV1['spec']>, status?: Record<string, unknown>): PodV1 {
  return { metadata: { name: 'p', namespace: 'default', uid: 'u1' }, spec: { containers: [main('a')], ...spec }, status };
}

let seq = 0;
function rc(spec: ContainerSpec, kind: RuntimeContainer['kind'], attempt: number, state: RuntimeContainer['state'], exitCode = 0): RuntimeContainer {
  return {
    id: `id${++seq}`,
    name: spec.name,
    kind,
    attempt,
    hash: containerHash(spec),
    state,
    exitCode,
    oomKilled: false,
    createdAt: '2026-01-01T00:00:00Z',
    startedAt: '2026-01-01T00:00:01Z',
    finishedAt: state === 'exited' ? '2026-01-01T00:00:02Z' : undefined,
    imageId: 'sha256:x',
    image: 'busybox',
  };
}

function input(p: PodV1, containers: RuntimeContainer[], over: Partial<SyncInput> = {}): SyncInput {
  return {
    pod: p,
    containers,
    nowMs: Date.parse('2026-01-01T00:01:00Z'),
    backoffRemaining: () => 0,
    started: () => true,
    unhealthy: () => undefined,
    terminal: false,
    forceRestart: new Set(),
    ...over,
  };
}

test('a new pod starts its main containers together', () => {
  const p = pod({ containers: [main('a'), main('b')] });
  const a = computePodActions(input(p, []));
  assert.deepEqual(a.start.map((s) => `${s.spec.name}/${s.kind}/${s.attempt}`), ['a/main/0', 'b/main/0']);
  assert.equal(a.initialized, true);
});

test('init containers run one at a time, in order, before the main ones', () => {
  const i1 = main('i1');
  const i2 = main('i2');
  const p = pod({ initContainers: [i1, i2] });
  assert.deepEqual(computePodActions(input(p, [])).start.map((s) => s.spec.name), ['i1']);
  assert.deepEqual(computePodActions(input(p, [rc(i1, 'init', 0, 'running')])).start, []);
  const done1 = rc(i1, 'init', 0, 'exited', 0);
  assert.deepEqual(computePodActions(input(p, [done1])).start.map((s) => s.spec.name), ['i2']);
  const a = computePodActions(input(p, [done1, rc(i2, 'init', 0, 'exited', 0)]));
  assert.deepEqual(a.start.map((s) => s.spec.name), ['a']);
  assert.equal(a.initialized, true);
});

test('a failed init container is retried, or fails the pod under restartPolicy Never', () => {
  const i1 = main('i1');
  const failed = rc(i1, 'init', 0, 'exited', 1);
  const retry = computePodActions(input(pod({ initContainers: [i1] }), [failed]));
  assert.deepEqual(retry.start.map((s) => `${s.spec.name}/${s.attempt}`), ['i1/1']);
  const never = computePodActions(input(pod({ initContainers: [i1], restartPolicy: 'Never' }), [failed]));
  assert.equal(never.initFailed, true);
  assert.deepEqual(never.start, []);
  assert.equal(podPhase(pod({ initContainers: [i1], restartPolicy: 'Never' }), new Map(), never), 'Failed');
});

test('sidecars start in order, must be started before the next init, keep running, stop when main is done', () => {
  const side = main('side', { restartPolicy: 'Always' });
  const i2 = main('i2');
  const p = pod({ initContainers: [side, i2], restartPolicy: 'Never' });
  assert.deepEqual(computePodActions(input(p, [])).start.map((s) => `${s.spec.name}/${s.kind}`), ['side/sidecar']);
  const s = rc(side, 'sidecar', 0, 'running');
  assert.deepEqual(computePodActions(input(p, [s], { started: () => false })).start, []);
  assert.deepEqual(computePodActions(input(p, [s])).start.map((x) => x.spec.name), ['i2']);
  // A sidecar that dies while main runs is restarted.
  const dead = rc(side, 'sidecar', 0, 'exited', 1);
  const a = computePodActions(input(p, [dead, rc(i2, 'init', 0, 'exited'), rc(p.spec.containers[0], 'main', 0, 'running')]));
  assert.deepEqual(a.start.map((x) => `${x.spec.name}/${x.attempt}`), ['side/1']);
  // Main done (Never): the sidecar is stopped, not restarted.
  const end = computePodActions(input(p, [s, rc(i2, 'init', 0, 'exited'), rc(p.spec.containers[0], 'main', 0, 'exited', 0)]));
  assert.equal(end.mainDone, true);
  assert.deepEqual(end.kill.map((k) => `${k.name}/${k.reason}`), ['side/PodCompleted']);
  assert.deepEqual(end.start, []);
});

test('restart policies for exited main containers', () => {
  const a = main('a');
  const ok = rc(a, 'main', 0, 'exited', 0);
  const bad = rc(a, 'main', 0, 'exited', 2);
  const starts = (policy: 'Always' | 'OnFailure' | 'Never', c: RuntimeContainer) => computePodActions(input(pod({ restartPolicy: policy }), [c])).start.length;
  assert.equal(starts('Always', ok), 1);
  assert.equal(starts('Always', bad), 1);
  assert.equal(starts('OnFailure', ok), 0);
  assert.equal(starts('OnFailure', bad), 1);
  assert.equal(starts('Never', bad), 0);
  assert.equal(podPhase(pod({ restartPolicy: 'Never' }), new Map([['a', ok]]), computePodActions(input(pod({ restartPolicy: 'Never' }), [ok]))), 'Succeeded');
  assert.equal(podPhase(pod({ restartPolicy: 'Never' }), new Map([['a', bad]]), computePodActions(input(pod({ restartPolicy: 'Never' }), [bad]))), 'Failed');
  assert.equal(podPhase(pod({ restartPolicy: 'Always' }), new Map([['a', bad]]), computePodActions(input(pod({}), [bad]))), 'Running');
});

test('the crash-loop back-off holds a restart and the status says CrashLoopBackOff', () => {
  const a = main('a');
  const p = pod({});
  const dead = rc(a, 'main', 3, 'exited', 1);
  const actions = computePodActions(input(p, [rc(a, 'main', 2, 'exited', 1), dead], { backoffRemaining: () => 15_000 }));
  assert.deepEqual(actions.start, []);
  assert.equal(actions.backoff.get('a'), 15_000);
  const st = computePodStatus({
    pod: p,
    containers: [dead],
    actions,
    waiting: new Map(),
    ready: () => true,
    started: () => true,
    hostIP: '10.0.0.1',
    podIP: '172.20.0.2',
    sandboxReady: true,
    backoffDelay: () => 40_000,
    nowIso: '2026-01-01T00:01:00.000Z',
  });
  const cs = st.containerStatuses[0];
  assert.equal(cs.state.waiting.reason, 'CrashLoopBackOff');
  assert.equal(cs.state.waiting.message, 'back-off 40s restarting failed container=a pod=p_default(u1)');
  assert.equal(cs.lastState.terminated.exitCode, 1);
  assert.equal(cs.restartCount, 3);
  assert.equal(st.phase, 'Running');
  assert.equal(st.conditions.find((c: { type: string }) => c.type === 'Ready').status, 'False');
});

test('a spec change or a failed liveness probe kills the running container', () => {
  const a = main('a');
  const running = rc(a, 'main', 0, 'running');
  const changed = pod({ containers: [main('a', { image: 'busybox:2' })] });
  assert.deepEqual(computePodActions(input(changed, [running])).kill.map((k) => k.reason), ['SpecChanged']);
  const p = pod({});
  assert.deepEqual(computePodActions(input(p, [running], { unhealthy: () => 'liveness' })).kill.map((k) => k.reason), ['Unhealthy']);
  // After a spec-change kill the container restarts whatever the policy.
  const dead = rc(a, 'main', 0, 'exited', 137);
  const never = pod({ restartPolicy: 'Never' });
  assert.equal(computePodActions(input(never, [dead], { forceRestart: new Set([dead.id]) })).start.length, 1);
});

test('status: running container with readiness, conditions and IPs', () => {
  const a = main('a');
  const p = pod({});
  const c = rc(a, 'main', 1, 'running');
  const prev = rc(a, 'main', 0, 'exited', 137);
  const actions = computePodActions(input(p, [prev, c]));
  const base = {
    pod: p,
    containers: [prev, c],
    actions,
    waiting: new Map(),
    started: () => true,
    hostIP: '10.0.0.1',
    podIP: '172.20.0.2',
    sandboxReady: true,
    backoffDelay: () => 0,
    nowIso: '2026-01-01T00:01:00.000Z',
  };
  const notReady = computePodStatus({ ...base, ready: () => false });
  assert.equal(notReady.containerStatuses[0].ready, false);
  assert.equal(notReady.conditions.find((x: { type: string }) => x.type === 'ContainersReady').message, 'containers with unready status: [a]');
  const st = computePodStatus({ ...base, ready: () => true });
  assert.equal(st.phase, 'Running');
  assert.deepEqual(st.podIPs, [{ ip: '172.20.0.2' }]);
  assert.equal(st.containerStatuses[0].containerID, `skiff://${c.id}`);
  assert.equal(st.containerStatuses[0].restartCount, 1);
  assert.equal(st.containerStatuses[0].lastState.terminated.exitCode, 137);
  assert.deepEqual(
    st.conditions.map((x: { type: string; status: string }) => `${x.type}=${x.status}`),
    ['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True'],
  );
  assert.equal(st.qosClass, 'BestEffort');
});

test('waiting reasons: ContainerCreating, PodInitializing, image errors', () => {
  const i1 = main('i1');
  const p = pod({ initContainers: [i1] });
  const actions = computePodActions(input(p, [rc(i1, 'init', 0, 'running')]));
  const st = computePodStatus({
    pod: p,
    containers: [],
    actions,
    waiting: new Map([['a', { reason: 'ErrImagePull', message: 'nope' }]]),
    ready: () => true,
    started: () => true,
    hostIP: '10.0.0.1',
    sandboxReady: true,
    backoffDelay: () => 0,
    nowIso: '2026-01-01T00:01:00.000Z',
  });
  assert.equal(st.phase, 'Pending');
  assert.equal(st.containerStatuses[0].state.waiting.reason, 'ErrImagePull');
  assert.equal(st.conditions.find((x: { type: string }) => x.type === 'Initialized').message, 'containers with incomplete status: [i1]');
});

test('crash back-off: first restart at once, then 10 s doubling to 5 min, reset after 10 min quiet', () => {
  const b = new CrashBackoff();
  const t0 = 1_000_000;
  assert.equal(b.remaining('k', t0, t0), 0);
  b.next('k', t0);
  assert.equal(b.remaining('k', t0, t0), 10_000);
  b.next('k', t0 + 10_000);
  assert.equal(b.delayOf('k'), 20_000);
  for (let i = 0; i < 10; i++) b.next('k', t0 + 20_000);
  assert.equal(b.delayOf('k'), 300_000);
  assert.equal(b.remaining('k', t0 + 20_000, t0 + 20_000 + 600_001), 0);
  assert.equal(fmtDuration(300), '5m0s');
  assert.equal(fmtDuration(20), '20s');
});
