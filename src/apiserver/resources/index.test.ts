import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RESOURCES, findResource, resolveResource, resourceForKind } from './index';
import { parseLabelSelector, matches, formatLabelSelector, parseFieldSelector } from './labels';
import { humanDuration } from './util';
import { validateSchedule } from './workloads';

const deploy = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', creationTimestamp: new Date(Date.now() - 65_000).toISOString() },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }], readinessProbe: { httpGet: { port: 80 } } }] },
    },
  },
});

test('catalogue: names, short names, categories, subresources as upstream', () => {
  const d = findResource('apps', 'v1', 'deployments')!;
  assert.deepEqual([d.kind, d.singular, d.shortNames, d.categories], ['Deployment', 'deployment', ['deploy'], ['all']]);
  assert.ok(d.subresources.includes('scale') && d.subresources.includes('status'));
  const p = findResource('', 'v1', 'pods')!;
  for (const s of ['status', 'binding', 'log', 'exec', 'eviction', 'portforward', 'attach']) assert.ok(p.subresources.includes(s), s);
  assert.equal(resolveResource('svc')?.kind, 'Service');
  assert.equal(resolveResource('deployments.apps')?.kind, 'Deployment');
  assert.equal(resolveResource('events')?.group, ''); // core wins
  assert.equal(resolveResource('hpa')?.version, 'v2');
  assert.equal(resourceForKind('batch/v1', 'CronJob')?.plural, 'cronjobs');
  // One stored resource per group/plural; autoscaling/v1 HPAs are a converted view of the v2 ones.
  const stored = RESOURCES.filter((r) => !r.conversion);
  const keys = new Set(stored.map((r) => `${r.group}/${r.plural}`));
  assert.equal(keys.size, stored.length);
  assert.equal(stored.length, 21);
  assert.deepEqual(RESOURCES.filter((r) => r.conversion).map((r) => `${r.group}/${r.version}/${r.plural}`), ['autoscaling/v1/horizontalpodautoscalers']);
});

test('deployment defaults match upstream and are idempotent', () => {
  const r = findResource('apps', 'v1', 'deployments')!;
  const o: any = deploy();
  r.defaults(o);
  assert.equal(o.spec.replicas, 1);
  assert.deepEqual(o.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(o.spec.revisionHistoryLimit, 10);
  assert.equal(o.spec.progressDeadlineSeconds, 600);
  const ps = o.spec.template.spec;
  assert.deepEqual(
    [ps.restartPolicy, ps.terminationGracePeriodSeconds, ps.dnsPolicy, ps.schedulerName, ps.securityContext],
    ['Always', 30, 'ClusterFirst', 'default-scheduler', {}],
  );
  const c = ps.containers[0];
  assert.deepEqual(
    [c.imagePullPolicy, c.terminationMessagePath, c.terminationMessagePolicy, c.ports[0].protocol],
    ['Always', '/dev/termination-log', 'File', 'TCP'],
  );
  assert.deepEqual(c.readinessProbe, {
    httpGet: { port: 80, path: '/', scheme: 'HTTP' },
    timeoutSeconds: 1,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 3,
  });
  const once = JSON.stringify(o);
  r.defaults(o);
  assert.equal(JSON.stringify(o), once);
  assert.deepEqual(r.validate(o), []);
});

test('image pull policy by tag', () => {
  const r = findResource('', 'v1', 'pods')!;
  for (const [image, want] of [
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1.27', 'IfNotPresent'],
    ['localhost:5000/app', 'Always'],
    ['localhost:5000/app:v1', 'IfNotPresent'],
    ['busybox@sha256:abc', 'IfNotPresent'],
  ]) {
    const o: any = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image }] } };
    r.defaults(o);
    assert.equal(o.spec.containers[0].imagePullPolicy, want, image);
  }
});

test('service defaults: type, affinity, protocol, targetPort', () => {
  const r = findResource('', 'v1', 'services')!;
  const o: any = { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }, { name: 'x', port: 81, targetPort: 'http' }] } };
  r.defaults(o);
  assert.equal(o.spec.type, 'ClusterIP');
  assert.equal(o.spec.sessionAffinity, 'None');
  assert.deepEqual(o.spec.ports[0], { port: 80, protocol: 'TCP', targetPort: 80 });
  assert.equal(o.spec.ports[1].targetPort, 'http');
  const errs = r.validate(o);
  assert.deepEqual(errs.map((e) => e.field), ['spec.ports[0].name']);
});

test('validation messages and fields match upstream', () => {
  const r = findResource('apps', 'v1', 'deployments')!;
  const o: any = deploy();
  o.metadata.name = 'Web_1';
  o.spec.replicas = -1;
  o.spec.template.metadata.labels = { app: 'other' };
  o.spec.template.spec.containers.push({ name: 'nginx', image: '', ports: [{ containerPort: 70000, protocol: 'XYZ' }] });
  o.spec.template.spec.containers[0].volumeMounts = [{ name: 'data', mountPath: '/d' }];
  o.spec.template.spec.containers[0].resources = { limits: { cpu: 'lots' } };
  r.defaults(o);
  const errs = r.validate(o);
  const byField = Object.fromEntries(errs.map((e) => [e.field, e]));
  assert.equal(
    byField['metadata.name'].message,
    `Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  );
  assert.equal(byField['spec.replicas'].message, 'Invalid value: -1: must be greater than or equal to 0');
  assert.equal(byField['spec.template.metadata.labels'].message, 'Invalid value: {"app":"other"}: `selector` does not match template `labels`');
  assert.equal(byField['spec.template.spec.containers[1].name'].reason, 'FieldValueDuplicate');
  assert.equal(byField['spec.template.spec.containers[1].image'].reason, 'FieldValueRequired');
  assert.equal(byField['spec.template.spec.containers[1].ports[0].containerPort'].message, 'Invalid value: 70000: must be between 1 and 65535, inclusive');
  assert.equal(byField['spec.template.spec.containers[1].ports[0].protocol'].message, 'Unsupported value: "XYZ": supported values: "SCTP", "TCP", "UDP"');
  assert.equal(byField['spec.template.spec.containers[0].volumeMounts[0].name'].message, 'Not found: "data"');
  assert.match(byField['spec.template.spec.containers[0].resources.limits[cpu]'].message, /quantities must match the regular expression/);
});

test('selector is immutable on update; restartPolicy for deployments is Always only', () => {
  const r = findResource('apps', 'v1', 'deployments')!;
  const old: any = deploy();
  r.defaults(old);
  const o: any = structuredClone(old);
  o.spec.selector = { matchLabels: { app: 'web', x: 'y' } };
  o.spec.template.metadata.labels.x = 'y';
  o.spec.template.spec.restartPolicy = 'Never';
  const errs = r.validate(o, old);
  assert.ok(errs.some((e) => e.field === 'spec.selector' && e.message.endsWith('field is immutable')));
  assert.ok(errs.some((e) => e.field === 'spec.template.spec.restartPolicy' && e.message === 'Unsupported value: "Never": supported values: "Always"'));
});

test('label keys and values', () => {
  const r = findResource('', 'v1', 'configmaps')!;
  const errs = r.validate({ metadata: { name: 'c', labels: { 'bad key': 'v', ok: 'bad value!', 'example.com/fine': 'x' } }, data: { 'a b': 'x' } });
  assert.deepEqual(errs.map((e) => e.field), ['metadata.labels', 'metadata.labels', 'data']);
  assert.match(errs[0].message, /^Invalid value: "bad key": name part must consist of alphanumeric characters/);
  assert.match(errs[1].message, /^Invalid value: "bad value!": a valid label must be an empty string/);
});

test('job defaults, generated selector and restartPolicy rule', () => {
  const r = findResource('batch', 'v1', 'jobs')!;
  const o: any = { metadata: { name: 'pi', uid: 'u-1' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5' }] } } } };
  r.defaults(o);
  assert.deepEqual([o.spec.completions, o.spec.parallelism, o.spec.backoffLimit, o.spec.completionMode, o.spec.suspend], [1, 1, 6, 'NonIndexed', false]);
  assert.deepEqual(o.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
  assert.equal(o.spec.template.metadata.labels['job-name'], 'pi');
  assert.deepEqual(r.validate(o), []);
  o.spec.template.spec.restartPolicy = 'Always';
  assert.ok(r.validate(o).some((e) => e.field === 'spec.template.spec.restartPolicy'));
  assert.equal(validateSchedule('*/5 * * * *'), undefined);
  assert.equal(validateSchedule('@hourly'), undefined);
  assert.notEqual(validateSchedule('61 * * * *'), undefined);
  assert.notEqual(validateSchedule('* * *'), undefined);
});

test('hpa v2 defaults', () => {
  const r = findResource('autoscaling', 'v2', 'horizontalpodautoscalers')!;
  const o: any = { metadata: { name: 'h' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5, behavior: { scaleDown: { selectPolicy: 'Min' } } } };
  r.defaults(o);
  assert.equal(o.spec.minReplicas, 1);
  assert.deepEqual(o.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
  assert.deepEqual(o.spec.behavior.scaleDown, { selectPolicy: 'Min', stabilizationWindowSeconds: 300, policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] });
  assert.equal(o.spec.behavior.scaleUp.policies.length, 2);
  assert.deepEqual(r.validate(o), []);
  assert.deepEqual(r.table.cells(o).slice(0, 6), ['h', 'Deployment/web', 'cpu: <unknown>/80%', '1', 5, 0]);
});

test('tables: columns and cells', () => {
  const d = findResource('apps', 'v1', 'deployments')!;
  const o: any = deploy();
  d.defaults(o);
  o.status = { readyReplicas: 1, updatedReplicas: 1, availableReplicas: 1 };
  assert.deepEqual(d.table.columns.map((c) => `${c.name}:${c.priority}`), ['Name:0', 'Ready:0', 'Up-to-date:0', 'Available:0', 'Age:0', 'Containers:1', 'Images:1', 'Selector:1']);
  assert.deepEqual(d.table.cells(o), ['web', '1/1', 1, 1, '65s', 'nginx', 'nginx', 'app=web']);
  const p = findResource('', 'v1', 'pods')!;
  assert.deepEqual(p.table.columns.map((c) => c.name), ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates']);
  const pod: any = {
    metadata: { name: 'p', creationTimestamp: new Date().toISOString() },
    spec: { containers: [{ name: 'a' }, { name: 'b' }], nodeName: 'n1' },
    status: { phase: 'Running', podIP: '10.0.0.5', containerStatuses: [{ ready: true, restartCount: 2, state: { running: {} } }, { ready: false, restartCount: 0, state: { waiting: { reason: 'CrashLoopBackOff' } } }] },
  };
  assert.deepEqual(p.table.cells(pod).filter((_, i) => i !== 4), ['p', '1/2', 'CrashLoopBackOff', '2', '10.0.0.5', 'n1', '<none>', '<none>']);
  const s = findResource('', 'v1', 'services')!;
  const svc: any = { metadata: { name: 's' }, spec: { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }], selector: { b: '2', a: '1' } } };
  assert.deepEqual(s.table.cells(svc).filter((_, i) => i !== 5), ['s', 'NodePort', '10.96.0.10', '<none>', '80:30080/TCP,53/UDP', 'a=1,b=2']);
  const n = findResource('', 'v1', 'nodes')!;
  assert.deepEqual(n.table.columns.map((c) => c.name).slice(0, 5), ['Name', 'Status', 'Roles', 'Age', 'Version']);
  const node: any = { metadata: { name: 'n1', labels: { 'node-role.kubernetes.io/control-plane': '' } }, spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0' } } };
  assert.deepEqual(n.table.cells(node).slice(0, 3), ['n1', 'Ready,SchedulingDisabled', 'control-plane']);
  const e = findResource('', 'v1', 'events')!;
  assert.deepEqual(e.table.columns.filter((c) => c.priority === 0).map((c) => c.name), ['Last Seen', 'Type', 'Reason', 'Object', 'Message']);
  const ev: any = { metadata: { name: 'x.1' }, involvedObject: { kind: 'Pod', name: 'p' }, type: 'Normal', reason: 'Scheduled', message: ' hi ', count: 2 };
  const cells = e.table.cells(ev);
  assert.deepEqual([cells[1], cells[2], cells[3], cells[6], cells[8], cells[9]], ['Normal', 'Scheduled', 'pod/p', 'hi', 2, 'x.1']);
  for (const r of RESOURCES) {
    assert.equal(r.table.columns.length, r.table.cells({ metadata: { name: 'x' } }).length, r.plural);
  }
});

test('field selectors', () => {
  const p = findResource('', 'v1', 'pods')!;
  assert.equal(p.fieldSelectors!['spec.nodeName']({ spec: { nodeName: 'n1' } }), 'n1');
  assert.equal(findResource('', 'v1', 'events')!.fieldSelectors!['involvedObject.uid']({ involvedObject: { uid: 'u' } } as any), 'u');
  assert.equal(findResource('events.k8s.io', 'v1', 'events')!.fieldSelectors!['regarding.name']({ regarding: { name: 'r' } } as any), 'r');
  assert.equal(findResource('events.k8s.io', 'v1', 'events')!.fieldSelectors!['regarding.uid']({} as any), '');
  assert.deepEqual(parseFieldSelector('metadata.name=x,status.phase!=Running'), [
    { field: 'metadata.name', operator: '=', value: 'x' },
    { field: 'status.phase', operator: '!=', value: 'Running' },
  ]);
});

test('label selector strings parse and match', () => {
  const reqs = parseLabelSelector('app=web, tier!=db,env in (prod, staging),!legacy,track');
  assert.ok(matches(reqs, { app: 'web', env: 'prod', track: 'x' }));
  assert.ok(!matches(reqs, { app: 'web', env: 'dev', track: 'x' }));
  assert.ok(!matches(reqs, { app: 'web', env: 'prod', track: 'x', legacy: '1' }));
  assert.ok(!matches(reqs, { app: 'web', env: 'prod', track: 'x', tier: 'db' }));
  assert.throws(() => parseLabelSelector('app=web,,'));
  assert.throws(() => parseLabelSelector('app=web,'));
  assert.deepEqual(parseLabelSelector('a in ()'), [{ key: 'a', operator: 'In', values: [''] }]);
  assert.ok(matches(parseLabelSelector('n>2,m<5'), { n: '3', m: '4' }));
  assert.equal(formatLabelSelector({ matchLabels: { b: '1', a: '2' }, matchExpressions: [{ key: 'c', operator: 'In', values: ['y', 'x'] }] }), 'a=2,b=1,c in (x,y)');
});

test('human durations as kubectl prints ages', () => {
  const cases: [number, string][] = [[5, '5s'], [119, '119s'], [125, '2m5s'], [600, '10m'], [3 * 3600 + 60, '3h1m'], [9 * 3600, '9h'], [50 * 3600, '2d2h'], [10 * 86400, '10d'], [800 * 86400, '2y70d']];
  for (const [s, want] of cases) assert.equal(humanDuration(s * 1000), want, String(s));
  // a clock up to 2 s ahead reads "0s" (Go truncates toward zero), further ahead "<invalid>"
  assert.equal(humanDuration(-1500), '0s');
  assert.equal(humanDuration(-2500), '<invalid>');
});
