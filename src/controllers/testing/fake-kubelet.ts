/**
 * TEST ONLY: a stand-in for the node agent in controller tests. There is no kubelet yet, so this marks pods
 * bound to the fake nodes Running and Ready by PATCHing pod status (and deletes terminating pods at once),
 * which is what the controllers and scheduler observe of a real agent. Never used outside tests.
 */
import { KubeClient } from '../../client/client';
import { Informer } from '../../client/informer';
import { RESOURCES } from '../../client/resources';
import { Pod, keyOf } from '../../client/types';
import { rfc3339 } from '../podutil';

export interface FakeKubeletOptions {
  nodes: string[];
  /** Pods this predicate rejects stay Pending (e.g. to stall a rollout). */
  makeReady?: (pod: Pod) => boolean;
  /** Pods that should "run to completion": phase Succeeded (for Jobs). */
  complete?: (pod: Pod) => 'Succeeded' | 'Failed' | undefined;
}

export function startFakeKubelet(client: KubeClient, opts: FakeKubeletOptions): { stop(): void; informer: Informer<Pod> } {
  const inf = new Informer<Pod>(client, RESOURCES.pods, {});
  const busy = new Set<string>();
  const dirty = new Set<string>();
  let stopped = false;
  // Events that arrive while a pod is being handled are not dropped: the pod is handled again from the
  // cache afterwards; failed writes (e.g. a 409 from a concurrent write) are retried.
  const handle = async (p: Pod): Promise<void> => {
    const key = keyOf(p);
    if (!p.spec.nodeName || !opts.nodes.includes(p.spec.nodeName)) return;
    if (busy.has(key)) {
      dirty.add(key);
      return;
    }
    busy.add(key);
    let failed = false;
    const fail = () => {
      failed = true;
    };
    try {
      if (p.metadata.deletionTimestamp) {
        await client.delete(RESOURCES.pods, p.metadata.namespace, p.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => {});
        return;
      }
      const done = opts.complete?.(p);
      if (done && p.status?.phase !== done) {
        const now = rfc3339(Date.now());
        await client.patch(RESOURCES.pods, p.metadata.namespace, p.metadata.name!, {
          status: {
            phase: done,
            conditions: [
              { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
              { type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: now },
            ],
            containerStatuses: p.spec.containers.map((c) => ({ name: c.name, ready: false, restartCount: 0, image: c.image, imageID: '', state: { terminated: { exitCode: done === 'Succeeded' ? 0 : 1, reason: done === 'Succeeded' ? 'Completed' : 'Error' } } })),
          },
        }, 'merge', { subresource: 'status' }).catch(fail);
        return;
      }
      if (done) return;
      const ready = opts.makeReady ? opts.makeReady(p) : true;
      if (p.status?.phase === 'Running' && (p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True') === ready) return;
      const now = rfc3339(Date.now());
      await client.patch(RESOURCES.pods, p.metadata.namespace, p.metadata.name!, {
        status: {
          phase: 'Running',
          hostIP: '127.0.0.1',
          podIP: `10.88.0.${1 + (Math.abs(hashCode(key)) % 250)}`,
          podIPs: [{ ip: `10.88.0.${1 + (Math.abs(hashCode(key)) % 250)}` }],
          startTime: now,
          conditions: [
            { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
            { type: 'Initialized', status: 'True', lastTransitionTime: now },
            { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: now },
            { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now },
          ],
          containerStatuses: p.spec.containers.map((c) => ({ name: c.name, ready, started: true, restartCount: 0, image: c.image, imageID: '', state: { running: { startedAt: now } } })),
        },
      }, 'merge', { subresource: 'status' }).catch(fail);
    } finally {
      busy.delete(key);
      if (!stopped && (failed || dirty.delete(key))) {
        setTimeout(() => {
          const cur = inf.cache.get(key);
          if (cur) void handle(cur);
        }, failed ? 100 : 0);
      }
    }
  };
  inf.addEventHandler({ add: (p) => void handle(p), update: (_o, p) => void handle(p) });
  inf.start();
  // Heartbeat like an agent (Ready condition's lastHeartbeatTime), so the node lifecycle controller keeps the
  // fake nodes Ready through long tests.
  const beat = async () => {
    for (const n of opts.nodes) {
      const now = rfc3339(Date.now());
      await client
        .patch(RESOURCES.nodes, undefined, n, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'fake node for controller tests', lastHeartbeatTime: now, lastTransitionTime: now }] } }, 'merge', { subresource: 'status' })
        .catch(() => {});
    }
  };
  const heart = setInterval(() => void beat(), 10_000);
  heart.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(heart);
      inf.stop();
    },
    informer: inf,
  };
}

function hashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}
