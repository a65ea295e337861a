/**
 * The scheduler on the controller manager's informers (as src/cmd/node.ts runs them): one pod watch and one
 * node watch serve both, the node informer the manager had not started yet runs once the scheduler asks for
 * it, and a ReplicaSet's pods get created (manager) and bound (scheduler) from that one cache. Real
 * `skiff server --disable-agent`; the watches are counted on the client.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KubeClient } from '../client/client';
import { RESOURCES, type Resource } from '../client/resources';
import { startTestServer, eventually, type TestServer } from '../client/testing/server';
import type { Pod } from '../client/types';
import { startScheduler, type Scheduler } from '../scheduler/scheduler';
import { startControllers, type ControllerManager } from './manager';
import { addFakeNode } from './testing/cluster';

let server: TestServer;
let client: KubeClient;
let mgr: ControllerManager | undefined;
let sched: Scheduler | undefined;
const watches = new Map<string, number>();

before(async () => {
  server = await startTestServer();
  client = KubeClient.fromKubeconfig(server.kubeconfig);
  const watch = client.watch.bind(client);
  client.watch = ((res: Resource, opts) => {
    watches.set(res.plural, (watches.get(res.plural) ?? 0) + 1);
    return watch(res, opts);
  }) as KubeClient['watch'];
  await addFakeNode(server.client, 'node-1');
});

after(async () => {
  sched?.stop();
  mgr?.stop();
  client?.close();
  await server?.stop();
});

test('scheduler and controller manager share one pod and one node informer', async () => {
  // The replicaset controller alone does not use nodes: the manager creates that informer on the scheduler's request.
  mgr = startControllers({ client, controllers: ['replicaset'], log: () => {} });
  const podInformer = mgr.context.informer<Pod>(RESOURCES.pods);
  const nodeInformer = mgr.context.informer(RESOURCES.nodes);
  sched = startScheduler(client, { podInformer, nodeInformer: nodeInformer as never });
  await Promise.all([mgr.ready, sched.ready]);
  assert.ok(nodeInformer.hasSynced(), 'the node informer asked for after start runs');

  await client.create(RESOURCES.replicasets, 'default', {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'shared' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'shared' } },
      template: { metadata: { labels: { app: 'shared' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    },
  });
  const bound = await eventually(() => {
    const pods = podInformer.cache.list().filter((p) => p.metadata.labels?.app === 'shared');
    return pods.length === 3 && pods.every((p) => p.spec?.nodeName === 'node-1') && pods;
  }, 'three pods created and bound');
  for (const p of bound) assert.equal(p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True');
  assert.equal(watches.get('pods'), 1, 'one pod watch');
  assert.equal(watches.get('nodes'), 1, 'one node watch');
});
