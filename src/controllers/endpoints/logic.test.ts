import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pod } from '../../client/types';
import { Service, findPort, slicesFor, subsetsFor } from './logic';

const svc: Service = {
  metadata: { name: 'web', namespace: 'default' },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'metrics', port: 9090, targetPort: 9090 }] },
};
function pod(name: string, ip: string | undefined, ready: boolean, httpPort = 8080, labels = { app: 'web' }): Pod {
  return {
    metadata: { name, namespace: 'default', uid: `${name}-uid`, labels },
    spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: httpPort }] }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

test('target ports by name and number', () => {
  assert.equal(findPort(pod('a', '1.1.1.1', true), svc.spec.ports![0]), 8080);
  assert.equal(findPort(pod('a', '1.1.1.1', true), svc.spec.ports![1]), 9090);
  assert.equal(findPort(pod('a', '1.1.1.1', true), { port: 80, targetPort: 'nope' }), undefined);
  assert.equal(findPort(pod('a', '1.1.1.1', true), { port: 80 }), 80, 'targetPort defaults to port');
});

test('subsets: ready vs not ready, no IP skipped, other labels skipped, grouped by resolved ports', () => {
  const subsets = subsetsFor(svc, [
    pod('b', '10.0.0.2', true),
    pod('a', '10.0.0.1', true),
    pod('c', '10.0.0.3', false),
    pod('d', undefined, true),
    pod('e', '10.0.0.5', true, 8080, { app: 'db' } as never),
    pod('f', '10.0.0.6', true, 8081),
  ]);
  assert.equal(subsets.length, 2);
  const main = subsets.find((s) => s.ports?.some((p) => p.port === 8080))!;
  assert.deepEqual(main.addresses?.map((a) => a.ip), ['10.0.0.1', '10.0.0.2']);
  assert.deepEqual(main.notReadyAddresses?.map((a) => a.ip), ['10.0.0.3']);
  assert.deepEqual(main.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }]);
  assert.equal(main.addresses?.[0].targetRef.name, 'a');
  const other = subsets.find((s) => s.ports?.some((p) => p.port === 8081))!;
  assert.deepEqual(other.addresses?.map((a) => a.ip), ['10.0.0.6']);
});

test('slices carry ready/serving conditions; a selector-less service has none', () => {
  const slices = slicesFor(svc, [pod('a', '10.0.0.1', true), pod('c', '10.0.0.3', false)]);
  assert.equal(slices.length, 1);
  assert.deepEqual(slices[0].endpoints.map((e) => [e.addresses[0], e.conditions.ready]), [['10.0.0.1', true], ['10.0.0.3', false]]);
  assert.deepEqual(subsetsFor({ ...svc, spec: { ...svc.spec, selector: undefined } }, [pod('a', '10.0.0.1', true)]), []);
  const pub = subsetsFor({ ...svc, spec: { ...svc.spec, publishNotReadyAddresses: true } }, [pod('c', '10.0.0.3', false)]);
  assert.deepEqual(pub[0].addresses?.map((a) => a.ip), ['10.0.0.3']);
});
