/**
 * The node lifecycle reconciler: marks silent nodes Unknown and keeps the not-ready/unreachable taints in
 * line with each node's Ready condition (./logic.ts). Pod eviction from dead nodes is not done (yet).
 */
import { isSkiffError } from '../../common/errors';
import { RESOURCES } from '../../client/resources';
import { KObject, Node } from '../../client/types';
import { ControllerContext } from '../context';
import { jsonEqual } from '../owner';
import { Controller, ReconcileResult } from '../runner';
import { HeartbeatTracker, NODE_MONITOR_GRACE_MS, desiredTaints, heartbeatOf, unknownConditions } from './logic';

export const NODE_LIFECYCLE_COMPONENT = 'node-controller';

export function startNodeLifecycleController(ctx: ControllerContext, workers = 1, graceMs = NODE_MONITOR_GRACE_MS): Controller {
  const nodeInf = ctx.informer<Node>(RESOURCES.nodes);
  const leaseInf = ctx.informer<KObject>(RESOURCES.leases);
  const recorder = ctx.recorder(NODE_LIFECYCLE_COMPONENT);
  const beats = new HeartbeatTracker();
  const controller = new Controller('nodelifecycle', reconcile, { workers, clock: ctx.clock, log: ctx.log });
  nodeInf.addEventHandler({
    add: (n) => controller.enqueue(n.metadata.name!),
    update: (_o, n) => controller.enqueue(n.metadata.name!),
    delete: (n) => beats.forget(n.metadata.name!),
  });
  leaseInf.addEventHandler({
    add: (l) => l.metadata.namespace === 'kube-node-lease' && controller.enqueue(l.metadata.name!),
    update: (_o, l) => l.metadata.namespace === 'kube-node-lease' && controller.enqueue(l.metadata.name!),
  });

  async function reconcile(name: string): Promise<ReconcileResult | void> {
    const node = nodeInf.cache.getByName(undefined, name);
    if (!node) return;
    const now = ctx.clock.now();
    const lease = leaseInf.cache.getByName('kube-node-lease', name);
    beats.observe(name, heartbeatOf(node, lease?.spec?.renewTime), now);
    const silent = beats.silentFor(name, now);
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    let current = node;
    if (silent > graceMs && ready?.status !== 'Unknown') {
      const conditions = unknownConditions(node, now);
      try {
        current = await ctx.client.patch<Node>(RESOURCES.nodes, undefined, name, { status: { conditions } }, 'merge', { subresource: 'status' });
      } catch (err) {
        if (isSkiffError(err, 'NotFound')) return;
        throw err;
      }
      recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
    }
    const taints = desiredTaints(current, now);
    if (!jsonEqual(current.spec?.taints ?? [], taints)) {
      await ctx.client
        .patch(RESOURCES.nodes, undefined, name, { metadata: { resourceVersion: current.metadata.resourceVersion }, spec: { taints: taints.length ? taints : null } }, 'merge')
        .catch((err) => {
          if (!isSkiffError(err, 'NotFound')) throw err;
        });
    }
    if (ready?.status === 'Unknown' || silent > graceMs) return { requeueAfterMs: graceMs };
    return { requeueAfterMs: graceMs - silent + 1000 };
  }
  return controller;
}
