/**
 * The Endpoints and EndpointSlice reconciler for Services with a selector: keeps one Endpoints object
 * (same name as the Service) and the Service's EndpointSlices (label kubernetes.io/service-name, managed-by
 * endpointslice-controller.k8s.io, owned by the Service) equal to ./logic.ts's view of the matching pods.
 */
import { isSkiffError } from '../../common/errors';
import { labelsMatchMap } from '../../client/labels';
import { RESOURCES } from '../../client/resources';
import { KObject, Pod, keyOf, splitKey } from '../../client/types';
import { ControllerContext } from '../context';
import { jsonEqual } from '../owner';
import { Controller } from '../runner';
import { Expectations } from '../expectations';
import { Service, slicesFor, subsetsFor } from './logic';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';

export function startEndpointsController(ctx: ControllerContext, workers = 2): Controller {
  const svcInf = ctx.informer<Service>(RESOURCES.services);
  const podInf = ctx.informer<Pod>(RESOURCES.pods);
  const epInf = ctx.informer<KObject>(RESOURCES.endpoints);
  const sliceInf = ctx.informer<KObject>(RESOURCES.endpointslices);
  const controller = new Controller('endpoints', reconcile, { workers, clock: ctx.clock, log: ctx.log });
  const client = ctx.client;
  // Slices are created with generateName: wait to see our creations before deciding again (no duplicates).
  const exp = new Expectations(ctx.clock);

  svcInf.addEventHandler({
    add: (s) => controller.enqueue(keyOf(s)),
    update: (_o, s) => controller.enqueue(keyOf(s)),
    delete: (s) => controller.enqueue(keyOf(s)),
  });
  const onPod = (p: Pod, old?: Pod) => {
    for (const s of svcInf.cache.byIndex('namespace', p.metadata.namespace ?? '')) {
      if (!s.spec.selector) continue;
      if (labelsMatchMap(s.spec.selector, p.metadata.labels) || (old && labelsMatchMap(s.spec.selector, old.metadata.labels))) controller.enqueue(keyOf(s));
    }
  };
  podInf.addEventHandler({ add: (p) => onPod(p), update: (o, p) => onPod(p, o), delete: (p) => onPod(p) });
  // Someone else changed or deleted our objects: put them back.
  epInf.addEventHandler({ update: (_o, e) => controller.enqueue(keyOf(e)), delete: (e) => controller.enqueue(keyOf(e)) });
  sliceInf.addEventHandler({
    add: (s) => {
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      if (svc) {
        exp.creationObserved(`${s.metadata.namespace}/${svc}`);
        controller.enqueue(`${s.metadata.namespace}/${svc}`);
      }
    },
    delete: (s) => {
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      if (svc) controller.enqueue(`${s.metadata.namespace}/${svc}`);
    },
  });

  const ignoreNotFound = (err: unknown) => {
    if (!isSkiffError(err, 'NotFound')) throw err;
  };

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = svcInf.cache.getByName(namespace, name);
    if (!svc || !svc.spec.selector || Object.keys(svc.spec.selector).length === 0) {
      // Selector-less services have user-managed endpoints: only clean up what we created for a deleted service.
      if (!svc) {
        const ep = epInf.cache.getByName(namespace, name);
        if (ep && ep.metadata.labels?.[MANAGED_BY_LABEL] === 'skiff-endpoints-controller') await client.delete(RESOURCES.endpoints, namespace, name).catch(ignoreNotFound);
      }
      return;
    }
    const pods = podInf.cache.byIndex('namespace', namespace);

    // Endpoints
    const subsets = subsetsFor(svc, pods);
    const labels = { ...(svc.metadata.labels ?? {}), [MANAGED_BY_LABEL]: 'skiff-endpoints-controller' };
    const existing = epInf.cache.getByName(namespace, name);
    if (!existing) {
      await client
        .create(RESOURCES.endpoints, namespace, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels }, subsets })
        .catch((err) => {
          if (!isSkiffError(err, 'AlreadyExists')) throw err;
        });
    } else if (!jsonEqual(existing.subsets ?? [], subsets) || !jsonEqual(existing.metadata.labels ?? {}, labels)) {
      await client.update(RESOURCES.endpoints, { ...existing, metadata: { ...existing.metadata, labels }, subsets }).catch(ignoreNotFound);
    }

    // EndpointSlices: reuse existing slices in order, create or delete the difference.
    if (!exp.satisfied(key)) return;
    const want = slicesFor(svc, pods);
    const have = sliceInf.cache
      .byIndex('namespace', namespace)
      .filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY)
      .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    const sliceLabels = { ...(svc.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY };
    const owner = [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }];
    if (want.length === 0) want.push({ ports: [], endpoints: [] }); // upstream keeps one (empty) slice per service
    if (want.length > have.length) exp.expect(key, want.length - have.length);
    for (let i = 0; i < want.length; i++) {
      const w = want[i];
      const cur = have[i];
      if (!cur) {
        await client.create(RESOURCES.endpointslices, namespace, {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { generateName: `${name}-`, namespace, labels: sliceLabels, ownerReferences: owner },
          addressType: 'IPv4',
          endpoints: w.endpoints,
          ports: w.ports,
        }).catch((err) => {
          exp.creationFailed(key);
          throw err;
        });
      } else if (!jsonEqual(cur.endpoints ?? [], w.endpoints) || !jsonEqual(cur.ports ?? [], w.ports) || !jsonEqual(cur.metadata.labels ?? {}, sliceLabels)) {
        await client.update(RESOURCES.endpointslices, { ...cur, metadata: { ...cur.metadata, labels: sliceLabels }, endpoints: w.endpoints, ports: w.ports }).catch(ignoreNotFound);
      }
    }
    for (const extra of have.slice(want.length)) await client.delete(RESOURCES.endpointslices, namespace, extra.metadata.name!).catch(ignoreNotFound);
  }
  return controller;
}
