import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openapiV3Document, openapiV3Index, propertySchema, resolveSchema, schemas, unknownFields } from './index';

test('index lists every served group-version with a hashed server-relative URL', () => {
  const idx = openapiV3Index();
  for (const p of ['api/v1', 'apis/apps/v1', 'apis/batch/v1', 'apis/autoscaling/v2', 'apis/coordination.k8s.io/v1', 'apis/discovery.k8s.io/v1', 'apis/networking.k8s.io/v1', 'apis/events.k8s.io/v1'])
    assert.match(idx.paths[p]?.serverRelativeURL ?? '', new RegExp(`^/openapi/v3/${p.replace(/\./g, '\\.')}\\?hash=[0-9A-F]+$`), p);
  assert.deepEqual(openapiV3Document('apps/v1'), openapiV3Document('apis/apps/v1'));
  assert.equal(openapiV3Document('nope/v9'), undefined);
});

test('PATCH operations carry fieldValidation and the GVK as kubectl looks for them', () => {
  const doc: any = openapiV3Document('apps/v1');
  const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
  assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'apps', kind: 'Deployment', version: 'v1' });
  assert.ok(patch.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query'));
  assert.ok(patch.requestBody.content['application/strategic-merge-patch+json']);
  const scale = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'].patch;
  assert.deepEqual(scale['x-kubernetes-group-version-kind'], { group: 'autoscaling', kind: 'Scale', version: 'v1' });
  const core: any = openapiV3Document('v1');
  assert.ok(core.paths['/api/v1/nodes/{name}'].patch);
  assert.deepEqual(core.components.schemas['io.k8s.api.core.v1.Pod']['x-kubernetes-group-version-kind'], [{ group: '', kind: 'Pod', version: 'v1' }]);
});

test('schemas: descriptions, formats, int-or-string, quantity, merge keys, refs resolvable', () => {
  const doc: any = openapiV3Document('apps/v1');
  const S = doc.components.schemas;
  const strategy = S['io.k8s.api.apps.v1.DeploymentSpec'].properties.strategy;
  assert.match(strategy.description, /DeploymentStrategy|strategy/i);
  assert.equal(strategy.$ref ?? strategy.allOf[0].$ref, '#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy');
  assert.equal(S['io.k8s.api.apps.v1.DeploymentSpec'].properties.replicas.format, 'int32');
  assert.deepEqual(S['io.k8s.api.apps.v1.DeploymentSpec'].required, ['selector', 'template']);
  assert.equal(S['io.k8s.apimachinery.pkg.util.intstr.IntOrString']['x-kubernetes-int-or-string'], true);
  assert.equal(S['io.k8s.api.core.v1.ResourceRequirements'].properties.limits.additionalProperties.$ref, '#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity');
  const containers = S['io.k8s.api.core.v1.PodSpec'].properties.containers;
  assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
  assert.deepEqual(S['io.k8s.api.core.v1.Container'].properties.ports['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
  assert.equal(S['io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry'].properties.fieldsV1.allOf[0].$ref, '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1');
  assert.equal(S['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.creationTimestamp.allOf[0].$ref, '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Time');
  // every $ref in the document resolves inside it
  const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/[^"]+"/g) ?? [];
  for (const r of refs) assert.ok(S[r.slice(29, -1)], r);
});

test('unknown fields are reported with their paths; maps and preserve-unknown subtrees are open', () => {
  const obj = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x', labels: { anything: 'goes' }, managedFields: [{ manager: 'm', fieldsV1: { 'f:spec': {} } }] },
    spec: { replicas: 1, bogus: true, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i', imagee: 'typo', resources: { limits: { cpu: '1' } } }] } } },
  };
  assert.deepEqual(unknownFields(obj, 'io.k8s.api.apps.v1.Deployment'), ['spec.bogus', 'spec.template.spec.containers[0].imagee']);
  assert.deepEqual(unknownFields({ metadata: { name: 'p' }, spec: { containers: [] } }, 'io.k8s.api.core.v1.Pod'), []);
});

test('navigation helpers follow refs', () => {
  const dep = schemas()['io.k8s.api.apps.v1.Deployment'];
  const spec = propertySchema(dep, 'spec');
  const tmpl = propertySchema(propertySchema(spec, 'template'), 'spec');
  const containers = propertySchema(tmpl, 'containers');
  assert.equal(containers?.['x-kubernetes-patch-merge-key'], 'name');
  assert.ok(resolveSchema(containers?.items)?.properties?.image);
});
