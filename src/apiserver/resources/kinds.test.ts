import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource } from './index';

const fields = (r: string, group: string, version: string, obj: any, old?: any) => {
  const res = findResource(group, version, r)!;
  res.defaults(obj);
  if (old) res.defaults(old);
  return res.validate(obj, old).map((c) => `${c.field}|${c.reason}`);
};

test('services: name is a DNS-1035 label, ports need names when several, nodePort forbidden on ClusterIP, clusterIP immutable', () => {
  assert.deepEqual(fields('services', '', 'v1', { metadata: { name: '1svc' }, spec: { ports: [{ port: 80 }] } }), ['metadata.name|FieldValueInvalid']);
  assert.deepEqual(fields('services', '', 'v1', { metadata: { name: 's' }, spec: {} }), ['spec.ports|FieldValueRequired']);
  assert.deepEqual(fields('services', '', 'v1', { metadata: { name: 's' }, spec: { ports: [{ port: 80, nodePort: 30000 }] } }), ['spec.ports[0].nodePort|FieldValueForbidden']);
  assert.deepEqual(fields('services', '', 'v1', { metadata: { name: 's' }, spec: { ports: [{ port: 0 }] } }), ['spec.ports[0].port|FieldValueInvalid', 'spec.ports[0].targetPort|FieldValueInvalid']);
  assert.deepEqual(
    fields('services', '', 'v1', { metadata: { name: 's' }, spec: { clusterIP: '10.0.0.2', ports: [{ port: 80 }] } }, { metadata: { name: 's' }, spec: { clusterIP: '10.0.0.1', ports: [{ port: 80 }] } }),
    ['spec.clusterIPs[0]|FieldValueInvalid'],
  );
  assert.deepEqual(fields('services', '', 'v1', { metadata: { name: 's' }, spec: { type: 'ExternalName', externalName: 'example.com' } }), []);
});

test('secrets, configmaps, PVCs, namespaces', () => {
  const s: any = { metadata: { name: 's' }, stringData: { user: 'me' } };
  assert.deepEqual(fields('secrets', '', 'v1', s), []);
  assert.deepEqual([s.type, s.data, s.stringData], ['Opaque', { user: 'bWU=' }, undefined]);
  assert.deepEqual(fields('secrets', '', 'v1', { metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==' } }), ['data[tls.key]|FieldValueRequired']);
  assert.deepEqual(fields('secrets', '', 'v1', { metadata: { name: 's' }, data: { a: 'not base64!' } }), ['data[a]|FieldValueInvalid']);
  assert.deepEqual(fields('configmaps', '', 'v1', { metadata: { name: 'c' }, data: { a: 'x' } }, { metadata: { name: 'c' }, immutable: true, data: { a: 'y' } }), [
    'immutable|FieldValueForbidden',
    'data|FieldValueForbidden',
  ]);
  assert.deepEqual(fields('persistentvolumeclaims', '', 'v1', { metadata: { name: 'p' }, spec: {} }), ['spec.accessModes|FieldValueRequired', 'spec.resources[storage]|FieldValueRequired']);
  const pvc: any = { metadata: { name: 'p' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1024Mi' } } } };
  assert.deepEqual(fields('persistentvolumeclaims', '', 'v1', pvc), []);
  assert.equal(pvc.spec.resources.requests.storage, '1Gi');
  const ns: any = { metadata: { name: 'team-a' } };
  assert.deepEqual(fields('namespaces', '', 'v1', ns), []);
  assert.equal(ns.metadata.labels['kubernetes.io/metadata.name'], 'team-a');
  assert.deepEqual(fields('namespaces', '', 'v1', { metadata: { name: 'a.b' } }), ['metadata.name|FieldValueInvalid']);
});

test('pods: spec updates limited to images; quantities, probes, env names', () => {
  const pod = () => ({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'a:1' }] } });
  const newer: any = pod();
  newer.spec.containers[0].image = 'a:2';
  assert.deepEqual(fields('pods', '', 'v1', newer, pod()), []);
  const bound: any = pod();
  bound.spec.nodeName = 'n1';
  assert.deepEqual(fields('pods', '', 'v1', bound, pod()), []); // binding
  const moved: any = structuredClone(bound);
  moved.spec.nodeName = 'n2';
  assert.deepEqual(fields('pods', '', 'v1', moved, bound), ['spec|FieldValueForbidden']);
  const bad: any = pod();
  bad.spec.containers[0].env = [{ name: '1BAD' }];
  assert.deepEqual(fields('pods', '', 'v1', bad, pod()), ['spec.containers[0].env[0].name|FieldValueInvalid', 'spec|FieldValueForbidden']);
  const q: any = pod();
  q.spec.containers[0].resources = { requests: { cpu: '2' }, limits: { cpu: '1', memory: '1e3' } };
  q.spec.containers[0].livenessProbe = { exec: { command: ['true'] }, httpGet: { port: 80 } };
  assert.deepEqual(fields('pods', '', 'v1', q), ['spec.containers[0].resources.requests|FieldValueInvalid', 'spec.containers[0].livenessProbe.httpGet|FieldValueForbidden']);
  const p: any = pod();
  p.spec.containers[0].resources = { limits: { cpu: '0.5', memory: '128Mi' } };
  findResource('', 'v1', 'pods')!.defaults(p);
  assert.deepEqual(p.spec.containers[0].resources, { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '500m', memory: '128Mi' } });
  assert.equal(p.status.qosClass, 'Guaranteed');
  assert.equal(p.spec.enableServiceLinks, true);
});

test('ingress, hpa, lease, endpointslice, statefulset, daemonset, cronjob', () => {
  assert.deepEqual(fields('ingresses', 'networking.k8s.io', 'v1', { metadata: { name: 'i' }, spec: {} }), ['spec|FieldValueInvalid']);
  assert.deepEqual(
    fields('ingresses', 'networking.k8s.io', 'v1', { metadata: { name: 'i' }, spec: { rules: [{ host: 'foo.com', http: { paths: [{ path: '/bar', backend: { service: { name: 'svc', port: { number: 80 } } } }] } }] } }),
    ['spec.rules[0].http.paths[0].pathType|FieldValueRequired'],
  );
  assert.deepEqual(fields('horizontalpodautoscalers', 'autoscaling', 'v2', { metadata: { name: 'h' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'w' }, minReplicas: 3, maxReplicas: 2 } }), ['spec.maxReplicas|FieldValueInvalid']);
  assert.deepEqual(fields('leases', 'coordination.k8s.io', 'v1', { metadata: { name: 'l' }, spec: { leaseDurationSeconds: 0 } }), ['spec.leaseDurationSeconds|FieldValueInvalid']);
  assert.deepEqual(fields('endpointslices', 'discovery.k8s.io', 'v1', { metadata: { name: 'e' }, addressType: 'IPv4', endpoints: [{ addresses: [] }], ports: [{ port: 80 }] }), ['endpoints[0].addresses|FieldValueRequired']);
  const tmpl = { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  const sts: any = { metadata: { name: 's' }, spec: { selector: { matchLabels: { a: 'b' } }, template: tmpl, serviceName: 'x' } };
  assert.deepEqual(fields('statefulsets', 'apps', 'v1', structuredClone(sts)), []);
  const sts2 = structuredClone(sts);
  sts2.spec.serviceName = 'y';
  assert.deepEqual(fields('statefulsets', 'apps', 'v1', sts2, structuredClone(sts)), ['spec|FieldValueForbidden']);
  const ds: any = { metadata: { name: 'd' }, spec: { selector: { matchLabels: { a: 'b' } }, template: structuredClone(tmpl) } };
  assert.deepEqual(fields('daemonsets', 'apps', 'v1', ds), []);
  assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  const cj: any = { metadata: { name: 'c' }, spec: { schedule: 'bad', jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'i' }] } } } } } };
  assert.deepEqual(fields('cronjobs', 'batch', 'v1', cj), ['spec.schedule|FieldValueInvalid']);
  assert.deepEqual([cj.spec.concurrencyPolicy, cj.spec.successfulJobsHistoryLimit, cj.spec.failedJobsHistoryLimit, cj.spec.suspend], ['Allow', 3, 1, false]);
});

test('autoscaling/v1 HPA converts to and from v2 storage without loss', async () => {
  const { hpaV1ToV2, hpaV2ToV1, horizontalpodautoscalersV1 } = await import('./others');
  const v1: any = { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5 } };
  horizontalpodautoscalersV1.defaults(v1);
  assert.deepEqual(v1.spec, { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 80 });
  assert.deepEqual(horizontalpodautoscalersV1.validate(v1), []);
  const v2: any = hpaV1ToV2(v1);
  assert.equal(v2.apiVersion, 'autoscaling/v2');
  assert.deepEqual(v2.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
  v2.spec.metrics.push({ type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } });
  v2.status = { currentReplicas: 2, desiredReplicas: 3, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 42 } } }] };
  const back: any = hpaV2ToV1(v2);
  assert.equal(back.status.currentCPUUtilizationPercentage, 42);
  assert.ok(back.metadata.annotations['autoscaling.alpha.kubernetes.io/metrics']);
  assert.deepEqual(hpaV1ToV2(back), v2);
  assert.deepEqual(horizontalpodautoscalersV1.table.cells(back).slice(1, 6), ['Deployment/web', 'cpu: 42%/80%, <unknown>/10', '1', 5, 2]);
});

test('pod table: a started sidecar counts in READY and does not hold the pod in Init', () => {
  const pods = findResource('', 'v1', 'pods')!;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', creationTimestamp: new Date().toISOString() },
    spec: {
      initContainers: [{ name: 'setup', image: 'busybox' }, { name: 'proxy', image: 'busybox', restartPolicy: 'Always' }],
      containers: [{ name: 'app', image: 'busybox' }],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      initContainerStatuses: [
        { name: 'setup', ready: true, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        { name: 'proxy', ready: true, started: true, restartCount: 0, state: { running: {} } },
      ],
      containerStatuses: [{ name: 'app', ready: true, started: true, restartCount: 0, state: { running: {} } }],
    },
  };
  const cols = pods.table.columns.map((c) => c.name);
  const cells = pods.table.cells(pod);
  assert.equal(cells[cols.indexOf('Ready')], '2/2');
  assert.equal(cells[cols.indexOf('Status')], 'Running');
  // Before the sidecar has started, the pod is still initialising.
  pod.status.initContainerStatuses[1] = { name: 'proxy', ready: false, started: false, restartCount: 0, state: { running: {} } };
  assert.equal(pods.table.cells(pod)[cols.indexOf('Status')], 'Init:1/2');
});
