/** The DaemonSet reconciler: keeps one pod per eligible node per ./logic.ts and reports status. */
import { isSkiffError } from '../../common/errors';
import { RESOURCES } from '../../client/resources';
import { Node, Pod, controllerRef, keyOf, splitKey } from '../../client/types';
import { ControllerContext } from '../context';
import { Expectations } from '../expectations';
import { adopt, countsEqual, release } from '../owner';
import { claim, controllerRefTo, podFromTemplate } from '../replicaset/logic';
import { Controller } from '../runner';
import { DaemonSet, daemonPodTemplate, pinToNode, planDaemonSet } from './logic';

export const DS_COMPONENT = 'daemonset-controller';

export function startDaemonSetController(ctx: ControllerContext, workers = 2): Controller {
  const dsInf = ctx.informer<DaemonSet>(RESOURCES.daemonsets);
  const podInf = ctx.informer<Pod>(RESOURCES.pods);
  const nodeInf = ctx.informer<Node>(RESOURCES.nodes);
  const recorder = ctx.recorder(DS_COMPONENT);
  const exp = new Expectations(ctx.clock);
  const controller = new Controller('daemonset', reconcile, { workers, clock: ctx.clock, log: ctx.log });
  const ownerKey = (p: Pod) => {
    const ref = controllerRef(p);
    return ref?.kind === 'DaemonSet' ? `${p.metadata.namespace}/${ref.name}` : undefined;
  };
  const all = () => dsInf.cache.list().forEach((d) => controller.enqueue(keyOf(d)));
  dsInf.addEventHandler({ add: (d) => controller.enqueue(keyOf(d)), update: (_o, d) => controller.enqueue(keyOf(d)), delete: (d) => exp.delete(keyOf(d)) });
  nodeInf.addEventHandler({ add: all, update: (o, n) => {
    if (JSON.stringify([o.metadata.labels, o.spec, o.status?.conditions]) !== JSON.stringify([n.metadata.labels, n.spec, n.status?.conditions])) all();
  }, delete: all });
  podInf.addEventHandler({
    add: (p) => {
      const k = ownerKey(p);
      if (k) {
        exp.creationObserved(k);
        controller.enqueue(k);
      }
    },
    update: (_o, p) => {
      const k = ownerKey(p);
      if (k) controller.enqueue(k);
    },
    delete: (p) => {
      const k = ownerKey(p);
      if (k) {
        exp.deletionObserved(k, p.metadata.uid);
        controller.enqueue(k);
      }
    },
  });

  async function reconcile(key: string) {
    const { namespace, name } = splitKey(key);
    const ds = dsInf.cache.getByName(namespace, name);
    if (!ds) return;
    const ref = controllerRefTo(ds, 'apps/v1', 'DaemonSet');
    const c = claim(ds, podInf.cache.byIndex('namespace', namespace));
    for (const p of c.adopt) await adopt(ctx.client, RESOURCES.pods, p, ref);
    for (const p of c.release) await release(ctx.client, RESOURCES.pods, p, ds.metadata.uid!);
    const pods = [...c.owned, ...c.adopt];
    const now = ctx.clock.now();
    const plan = planDaemonSet(ds, nodeInf.cache.list(), pods, now);
    if (exp.satisfied(key) && !ds.metadata.deletionTimestamp) {
      if (plan.createOn.length || plan.remove.length) exp.expect(key, plan.createOn.length, plan.remove.map((p) => p.metadata.uid!));
      const tmpl = daemonPodTemplate(ds);
      for (const nodeName of plan.createOn) {
        try {
          const pod = await ctx.client.create<Pod>(RESOURCES.pods, namespace, podFromTemplate(pinToNode(tmpl, nodeName), ds, ref));
          recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
        } catch (err) {
          exp.creationFailed(key);
          recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
          throw err;
        }
      }
      for (const p of plan.remove) {
        try {
          await ctx.client.delete(RESOURCES.pods, namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
          recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
        } catch (err) {
          exp.deletionObserved(key, p.metadata.uid);
          if (!isSkiffError(err, 'NotFound')) throw err;
        }
      }
    }
    const fields = Object.keys(plan.status);
    if (!countsEqual(ds.status, plan.status, fields)) {
      await ctx.client.patch(RESOURCES.daemonsets, namespace, name, { status: plan.status }, 'merge', { subresource: 'status' }).catch((err) => {
        if (!isSkiffError(err, 'NotFound')) throw err;
      });
    }
    return;
  }
  return controller;
}
