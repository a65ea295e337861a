/**
 * The scheduler loop: watches pods and nodes through informers, takes unscheduled pods (spec.nodeName empty,
 * schedulerName default-scheduler) one at a time from a de-duplicating queue, decides with the pure
 * schedulePod(), and binds through POST pods/<name>/binding. A pod that fits nowhere gets a FailedScheduling
 * event and PodScheduled=False (reason Unschedulable), and is retried with backoff (1 s doubling to 10 s, as
 * upstream) and at once when a node or a bound pod changes.
 *
 * Bound pods are "assumed" on their node until the informer shows the binding, so a burst of pods does not
 * overcommit a node (upstream's scheduler cache does the same).
 */
import { isSkiffError } from '../common/errors';
import { KubeClient } from '../client/client';
import { Clock, realClock } from '../client/clock';
import { EventRecorder } from '../client/events';
import { Informer } from '../client/informer';
import { RESOURCES } from '../client/resources';
import { Condition, KObject, Node, Pod, keyOf, splitKey } from '../client/types';
import { WorkQueue } from '../client/workqueue';
import { buildNodeInfo, isTerminal, NodeInfo } from './nodeinfo';
import { schedulePod } from './schedule';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export interface SchedulerOptions {
  schedulerName?: string;
  clock?: Clock;
  log?: (msg: string) => void;
  /** Shared informers (the controller manager may pass its own so both read one cache). */
  podInformer?: Informer<Pod>;
  nodeInformer?: Informer<Node>;
}

export interface Scheduler {
  stop(): void;
  /** Resolves once the informers have listed. */
  ready: Promise<void>;
}

function responsibleFor(pod: Pod, schedulerName: string): boolean {
  return (
    !pod.spec?.nodeName &&
    (pod.spec?.schedulerName ?? DEFAULT_SCHEDULER_NAME) === schedulerName &&
    !pod.metadata.deletionTimestamp &&
    !isTerminal(pod) &&
    !(pod.spec as { schedulingGates?: unknown[] }).schedulingGates?.length
  );
}

export function startScheduler(client: KubeClient, opts: SchedulerOptions = {}): Scheduler {
  const schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  const clock = opts.clock ?? realClock;
  const log = opts.log ?? (() => {});
  const pods = opts.podInformer ?? new Informer<Pod>(client, RESOURCES.pods, { clock, onError: (e) => log(`pod informer: ${e}`) });
  const nodes = opts.nodeInformer ?? new Informer<Node>(client, RESOURCES.nodes, { clock, onError: (e) => log(`node informer: ${e}`) });
  const ownInformers = [!opts.podInformer && pods, !opts.nodeInformer && nodes].filter(Boolean) as Informer<KObject>[];
  const recorder = new EventRecorder(client, { component: schedulerName, clock, onError: (e) => log(`event: ${e}`) });
  const queue = new WorkQueue({ clock, baseDelayMs: 1000, maxDelayMs: 10_000 });
  /** pod key → node name, for pods bound but not yet seen bound in the cache. */
  const assumed = new Map<string, { node: string; uid?: string; at: number }>();
  /** Pods that failed to fit: retried when the cluster changes. */
  const unschedulable = new Set<string>();
  /** Bindings in flight. */
  const inflight = new Set<string>();
  let stopped = false;

  const retryUnschedulable = () => {
    for (const k of unschedulable) queue.add(k);
  };

  pods.addEventHandler({
    add: (p) => {
      if (responsibleFor(p, schedulerName)) queue.add(keyOf(p));
    },
    update: (oldP, p) => {
      const key = keyOf(p);
      if (p.spec?.nodeName) {
        assumed.delete(key);
        unschedulable.delete(key);
        // A bound pod that finished frees room on its node.
        if (!isTerminal(oldP) && isTerminal(p)) retryUnschedulable();
      } else if (responsibleFor(p, schedulerName)) {
        // Our own status patch (PodScheduled=False) changes nothing relevant; spec/label changes do.
        if (JSON.stringify(oldP.spec) !== JSON.stringify(p.spec) || JSON.stringify(oldP.metadata.labels) !== JSON.stringify(p.metadata.labels)) queue.add(key);
      }
    },
    delete: (p) => {
      const key = keyOf(p);
      assumed.delete(key);
      unschedulable.delete(key);
      if (p.spec?.nodeName) retryUnschedulable();
    },
  });
  nodes.addEventHandler({ add: retryUnschedulable, update: retryUnschedulable });

  function snapshot(): NodeInfo[] {
    const byNode = new Map<string, Pod[]>();
    for (const p of pods.cache.list()) {
      const key = keyOf(p);
      const nodeName = p.spec?.nodeName || assumed.get(key)?.node;
      if (!nodeName) continue;
      let list = byNode.get(nodeName);
      if (!list) byNode.set(nodeName, (list = []));
      list.push(p.spec?.nodeName ? p : { ...p, spec: { ...p.spec, nodeName } });
    }
    return nodes.cache.list().map((n) => buildNodeInfo(n, byNode.get(n.metadata.name!) ?? []));
  }

  async function markUnschedulable(pod: Pod, message: string): Promise<void> {
    recorder.event(pod, 'Warning', 'FailedScheduling', message);
    const conds: Condition[] = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    const prev = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (prev && prev.status === 'False' && prev.reason === 'Unschedulable' && prev.message === message) return;
    const now = new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    conds.push({
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastProbeTime: null,
      lastTransitionTime: prev?.status === 'False' && prev.lastTransitionTime ? prev.lastTransitionTime : now,
    });
    try {
      await client.patch(RESOURCES.pods, pod.metadata.namespace, pod.metadata.name!, { status: { conditions: conds } }, 'merge', { subresource: 'status' });
    } catch (err) {
      if (!isSkiffError(err, 'NotFound')) log(`scheduler: status of ${keyOf(pod)}: ${err}`);
    }
  }

  async function scheduleOne(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = pods.cache.getByName(namespace, name);
    if (!pod || !responsibleFor(pod, schedulerName)) {
      unschedulable.delete(key);
      queue.forget(key);
      return;
    }
    if (assumed.has(key)) return; // bound already, waiting for the informer to catch up
    const result = schedulePod(pod, snapshot());
    if (!result.ok) {
      unschedulable.add(key);
      await markUnschedulable(pod, result.message);
      queue.addRateLimited(key);
      return;
    }
    assumed.set(key, { node: result.node, uid: pod.metadata.uid, at: clock.now() });
    // Like upstream's binding cycle, binding runs asynchronously: the next pod is scheduled against the
    // assumed placement while this one's binding is in flight.
    inflight.add(key);
    void bind(pod, key, namespace, name, result.node).finally(() => inflight.delete(key));
  }

  async function bind(pod: Pod, key: string, namespace: string, name: string, node: string): Promise<void> {
    try {
      await client.create(
        RESOURCES.pods,
        namespace,
        {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name, namespace, uid: pod.metadata.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: node },
        },
        { name, subresource: 'binding' },
      );
      unschedulable.delete(key);
      queue.forget(key);
      recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${node}`);
    } catch (err) {
      assumed.delete(key);
      if (isSkiffError(err, 'NotFound')) return;
      if (isSkiffError(err, 'Conflict') || isSkiffError(err, 'AlreadyExists')) return; // bound by someone else
      log(`scheduler: binding ${key} to ${node}: ${err}`);
      recorder.event(pod, 'Warning', 'FailedScheduling', `Binding rejected: ${(err as Error).message}`);
      queue.addRateLimited(key);
    }
  }

  // Forget assumptions the informer never confirmed (a lost watch event) so capacity is not leaked.
  let sweepTimer: ReturnType<Clock['setTimeout']> | undefined;
  const sweep = () => {
    const now = clock.now();
    for (const [k, a] of assumed) if (now - a.at > 30_000) assumed.delete(k);
    if (!stopped) sweepTimer = clock.setTimeout(sweep, 10_000);
  };

  async function worker(): Promise<void> {
    await Promise.all([pods.waitForSync(), nodes.waitForSync()]);
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await scheduleOne(key);
      } catch (err) {
        log(`scheduler: ${key}: ${err}`);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  }

  for (const inf of ownInformers) inf.start();
  sweep();
  void worker();
  return {
    ready: Promise.all([pods.waitForSync(), nodes.waitForSync()]).then(() => undefined),
    stop() {
      stopped = true;
      if (sweepTimer) clock.clearTimeout(sweepTimer);
      queue.shutDown();
      for (const inf of ownInformers) inf.stop();
    },
  };
}
