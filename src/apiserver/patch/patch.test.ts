import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSkiffError } from '../../common/errors';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, serverSideApply, updateManagedFields, fieldSet, encodeFieldsV1, decodeFieldsV1 } from './index';

const DEP = 'io.k8s.api.apps.v1.Deployment';
const POD = 'io.k8s.api.core.v1.Pod';

test('JSON patch: RFC 6902 ops, test failures and missing paths are InvalidArgument', () => {
  const obj = { metadata: { name: 'a', labels: { x: '1' } }, spec: { replicas: 1, list: [1, 2] } };
  const out = applyJsonPatch(obj, [
    { op: 'replace', path: '/spec/replicas', value: 3 },
    { op: 'add', path: '/spec/list/-', value: 3 },
    { op: 'remove', path: '/metadata/labels/x' },
    { op: 'test', path: '/metadata/name', value: 'a' },
  ]);
  assert.deepEqual(out, { metadata: { name: 'a', labels: {} }, spec: { replicas: 3, list: [1, 2, 3] } });
  assert.equal(obj.spec.replicas, 1); // input untouched
  for (const bad of [[{ op: 'test', path: '/metadata/name', value: 'b' }], [{ op: 'remove', path: '/nope' }], { op: 'add' }, [{ op: 'bogus', path: '/a' }]]) {
    assert.throws(() => applyJsonPatch(obj, bad), (e: unknown) => isSkiffError(e, 'InvalidArgument'));
  }
});

test('merge patch: RFC 7386 examples', () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [t, p, want] of cases) assert.deepEqual(applyMergePatch(t, p), want, JSON.stringify([t, p]));
});

const deployment = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' }, finalizers: ['a'] },
  spec: {
    replicas: 1,
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'nginx', image: 'nginx:1', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], args: ['x', 'y'] },
          { name: 'side', image: 'busybox' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    },
  },
});

test('strategic merge patch: merge keys, directives and ordering (upstream cases)', () => {
  const cases: { name: string; patch: any; check: (o: any) => void }[] = [
    {
      name: 'containers merge by name, unknown name appended',
      patch: { spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:2' }, { name: 'new', image: 'x' }] } } } },
      check: (o) => {
        // upstream's mergeSortedSlice: patch order first, server-only items after the patch items they followed
        assert.deepEqual(o.spec.template.spec.containers.map((c: any) => [c.name, c.image]), [['nginx', 'nginx:2'], ['new', 'x'], ['side', 'busybox']]);
        assert.deepEqual(o.spec.template.spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP' }]);
      },
    },
    {
      name: '$patch: delete removes a list item by key',
      patch: { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } },
      check: (o) => assert.deepEqual(o.spec.template.spec.containers.map((c: any) => c.name), ['nginx']),
    },
    {
      name: '$patch: replace on a list replaces it',
      patch: { spec: { template: { spec: { containers: [{ name: 'only', image: 'o' }, { $patch: 'replace' }] } } } },
      check: (o) => assert.deepEqual(o.spec.template.spec.containers, [{ name: 'only', image: 'o' }]),
    },
    {
      name: '$patch: replace on a map replaces it',
      patch: { metadata: { labels: { $patch: 'replace', fresh: 'yes' } } },
      check: (o) => assert.deepEqual(o.metadata.labels, { fresh: 'yes' }),
    },
    {
      name: '$patch: delete on a map empties it',
      patch: { spec: { template: { metadata: { $patch: 'delete' } } } },
      check: (o) => assert.deepEqual(o.spec.template.metadata, {}),
    },
    {
      name: 'null deletes a field; atomic list (args) replaced',
      patch: { spec: { replicas: null, template: { spec: { containers: [{ name: 'nginx', args: ['z'] }] } } } },
      check: (o) => {
        assert.equal('replicas' in o.spec, false);
        assert.deepEqual(o.spec.template.spec.containers[0].args, ['z']);
      },
    },
    {
      name: 'env merged by name',
      patch: { spec: { template: { spec: { containers: [{ name: 'nginx', $setElementOrder_env: undefined, env: [{ name: 'C', value: '3' }] }], $setElementOrder_containers: undefined } } } },
      // without $setElementOrder upstream puts patch items before server-only ones
      check: (o) => assert.deepEqual(o.spec.template.spec.containers[0].env.map((e: any) => e.name), ['C', 'A', 'B']),
    },
    {
      name: '$setElementOrder reorders merged items',
      patch: {
        spec: {
          template: {
            spec: {
              '$setElementOrder/containers': [{ name: 'side' }, { name: 'nginx' }],
              containers: [{ name: 'nginx', image: 'nginx:3' }],
            },
          },
        },
      },
      check: (o) => assert.deepEqual(o.spec.template.spec.containers.map((c: any) => c.name + ':' + c.image), ['side:busybox', 'nginx:nginx:3']),
    },
    {
      name: 'primitive list with merge strategy (finalizers) unions; $deleteFromPrimitiveList removes',
      patch: { metadata: { finalizers: ['b'], '$deleteFromPrimitiveList/finalizers': ['a'] } },
      check: (o) => assert.deepEqual(o.metadata.finalizers, ['b']),
    },
    {
      name: '$retainKeys on a volume drops other keys',
      patch: { spec: { template: { spec: { volumes: [{ name: 'data', $retainKeys: ['configMap', 'name'], configMap: { name: 'cm' } }] } } } },
      check: (o) => assert.deepEqual(o.spec.template.spec.volumes, [{ name: 'data', configMap: { name: 'cm' } }]),
    },
    {
      name: 'ports merge by containerPort',
      patch: { spec: { template: { spec: { containers: [{ name: 'nginx', ports: [{ containerPort: 443 }] }] } } } },
      check: (o) => assert.deepEqual(o.spec.template.spec.containers[0].ports.map((p: any) => p.containerPort), [443, 80]),
    },
  ];
  for (const c of cases) {
    const patch = JSON.parse(JSON.stringify(c.patch).replace(/"\$setElementOrder_\w+":null,?/g, ''));
    const before = deployment();
    const out = applyStrategicMergePatch(before, patch, DEP);
    c.check(out);
    assert.deepEqual(before, deployment(), `${c.name}: input untouched`);
    assert.ok(!JSON.stringify(out).includes('$'), `${c.name}: no directive left`);
  }
  assert.throws(() => applyStrategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, DEP), /does not contain declared merge key: name/);
});

test('the patch kubectl client-side apply sends for a changed image and a removed env var', () => {
  // as CreateThreeWayMergePatch emits it
  const patch = {
    spec: {
      template: {
        spec: {
          $setElementOrder_containers: undefined,
          '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'side' }],
          containers: [{ '$setElementOrder/env': [{ name: 'A' }], env: [{ $patch: 'delete', name: 'B' }], image: 'nginx:2', name: 'nginx' }],
        },
      },
    },
  };
  const out: any = applyStrategicMergePatch(deployment(), JSON.parse(JSON.stringify(patch)), DEP);
  assert.equal(out.spec.template.spec.containers[0].image, 'nginx:2');
  assert.deepEqual(out.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }]);
  assert.equal(out.spec.template.spec.containers[1].name, 'side');
});

test('field sets encode as fieldsV1 and round-trip', () => {
  const set = fieldSet(deployment(), undefined);
  void set;
  const s = fieldSet(deployment(), require('../schema/index').schemas()[DEP], { scope: 'main' });
  const f = encodeFieldsV1(s) as any;
  const c = f['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}'];
  assert.deepEqual(c['.'], {});
  assert.deepEqual(c['f:ports']['k:{"containerPort":80,"protocol":"TCP"}'], { '.': {}, 'f:containerPort': {}, 'f:protocol': {} });
  assert.deepEqual(c['f:args'], {});
  assert.deepEqual(f['f:metadata']['f:finalizers'], { 'v:"a"': {} });
  assert.equal(f['f:metadata']['f:name'], undefined);
  assert.deepEqual(decodeFieldsV1(f), s);
});

test('server-side apply: create, conflict, force, removal of no-longer-applied fields', () => {
  const opts = { manager: 'kubectl', force: false, schemaName: DEP, apiVersion: 'apps/v1' };
  const applied: any = deployment();
  const created: any = serverSideApply(undefined, applied, opts);
  assert.equal(created.metadata.managedFields.length, 1);
  assert.equal(created.metadata.managedFields[0].operation, 'Apply');
  assert.ok(created.metadata.managedFields[0].fieldsV1['f:spec']['f:replicas']);

  // another manager scales with an Update: takes ownership of replicas
  const scaled: any = structuredClone(created);
  scaled.spec.replicas = 5;
  updateManagedFields(created, scaled, 'kubectl-scale');
  const scaleEntry = scaled.metadata.managedFields.find((e: any) => e.manager === 'kubectl-scale');
  assert.deepEqual(scaleEntry.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
  assert.equal(scaled.metadata.managedFields.find((e: any) => e.manager === 'kubectl').fieldsV1['f:spec']['f:replicas'], undefined);

  // re-apply with replicas 2: conflict with kubectl-scale
  const again: any = deployment();
  again.spec.replicas = 2;
  assert.throws(
    () => serverSideApply(scaled, again, opts),
    (e: any) =>
      isSkiffError(e, 'Conflict') &&
      e.message === 'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas' &&
      ((e.details as any).causes as any[])[0].field === '.spec.replicas' &&
      ((e.details as any).causes as any[])[0].reason === 'FieldManagerConflict',
  );
  // same value: no conflict, shared ownership
  const same: any = deployment();
  same.spec.replicas = 5;
  const shared: any = serverSideApply(scaled, same, opts);
  assert.equal(shared.spec.replicas, 5);
  // force: ownership moves
  const forced: any = serverSideApply(scaled, again, { ...opts, force: true });
  assert.equal(forced.spec.replicas, 2);
  assert.equal(forced.metadata.managedFields.find((e: any) => e.manager === 'kubectl-scale'), undefined);

  // dropping the side container and a label from the applied config removes them
  const smaller: any = deployment();
  smaller.spec.replicas = 2;
  smaller.spec.template.spec.containers.pop();
  delete smaller.metadata.labels;
  const pruned: any = serverSideApply(forced, smaller, opts);
  assert.deepEqual(pruned.spec.template.spec.containers.map((c: any) => c.name), ['nginx']);
  assert.equal(pruned.metadata.labels?.app, undefined);
  assert.equal(pruned.metadata.name, 'web');
});

test('server-side apply keeps fields owned by others when the applier drops them, and merges list-map items', () => {
  const opts = { manager: 'a', force: false, schemaName: POD, apiVersion: 'v1' };
  const pod: any = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { x: '1' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  const live: any = serverSideApply(undefined, pod, opts);
  const b: any = serverSideApply(live, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { y: '2' } }, spec: { containers: [{ name: 'c', env: [{ name: 'E', value: 'v' }] }] } } as any, { ...opts, manager: 'b' });
  assert.deepEqual(b.metadata.labels, { x: '1', y: '2' });
  assert.deepEqual(b.spec.containers[0], { name: 'c', image: 'i', env: [{ name: 'E', value: 'v' }] });
  const c: any = serverSideApply(b, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } } as any, opts);
  assert.deepEqual(c.metadata.labels, { y: '2' }); // a's label x removed, b's kept
  assert.deepEqual(c.spec.containers[0].env, [{ name: 'E', value: 'v' }]);
  assert.deepEqual(c.metadata.managedFields.map((e: any) => e.manager), ['a', 'b']);
});
