/**
 * The official JavaScript client (@kubernetes/client-node 1.4) against `skiff server`: typed list calls and an
 * informer (list + watch) that sees adds, updates and deletes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ServerProc, pollUntil } from './testutil';

// client-node 1.x is ESM-only; keep a real dynamic import in this CommonJS build.
const esmImport = new Function('s', 'return import(s)') as (s: string) => Promise<any>;

describe('@kubernetes/client-node against skiff server', () => {
  const srv = new ServerProc();
  let k8s: any;
  let kc: any;

  before(async () => {
    await srv.start();
    k8s = await esmImport('@kubernetes/client-node');
    kc = new k8s.KubeConfig();
    kc.loadFromFile(srv.kubeconfig);
  });
  after(async () => {
    await srv.cleanup();
  });

  it('lists with the typed API over HTTPS with the generated CA', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const nss = await core.listNamespace();
    const names = nss.items.map((n: any) => n.metadata.name);
    for (const n of ['default', 'kube-system']) assert.ok(names.includes(n));
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'from-js' }, data: { a: 'b' } } });
    const cm = await core.readNamespacedConfigMap({ name: 'from-js', namespace: 'default' });
    assert.equal(cm.data.a, 'b');
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const list = await apps.listDeploymentForAllNamespaces();
    assert.deepEqual(list.items, []);
  });

  it('informer sees add, update and delete', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
    const seen: string[] = [];
    informer.on('add', (o: any) => seen.push(`add ${o.metadata.name}`));
    informer.on('update', (o: any) => seen.push(`update ${o.metadata.name} ${o.data?.v ?? ''}`));
    informer.on('delete', (o: any) => seen.push(`delete ${o.metadata.name}`));
    informer.on('error', () => undefined);
    await informer.start();
    try {
      await pollUntil(async () => seen.includes('add from-js'), 'initial list delivered');
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'inf' }, data: { v: '1' } } });
      await pollUntil(async () => seen.includes('add inf'), 'add event');
      await core.replaceNamespacedConfigMap({ name: 'inf', namespace: 'default', body: { metadata: { name: 'inf' }, data: { v: '2' } } });
      await pollUntil(async () => seen.includes('update inf 2'), 'update event');
      await core.deleteNamespacedConfigMap({ name: 'inf', namespace: 'default' });
      await pollUntil(async () => seen.includes('delete inf'), 'delete event');
      const cached = informer.list('default').map((o: any) => o.metadata.name);
      assert.ok(cached.includes('from-js') && !cached.includes('inf'));
    } finally {
      await informer.stop();
    }
  });
});
