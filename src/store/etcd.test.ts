import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSkiffError } from '../common/errors';
import { storeConformance, collectWatch } from './conformance';
import { EtcdStore } from './etcd';
import { startEtcd, type EtcdCluster } from './etcd-process';
import { openStore, parseEndpoint } from './index';

let etcd: EtcdCluster | undefined;
let ns = 0;

describe('etcd backend', () => {
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  // Each test gets its own key namespace in the one etcd (revisions are shared, which the suite allows).
  storeConformance('etcd', async () => ({
    store: await EtcdStore.connect({ hosts: etcd!.clientUrls, namespace: `/t${++ns}-${Date.now()}` }),
  }));

  test('openStore picks etcd for http:// and etcd:// endpoints', async () => {
    const endpoint = etcd!.clientUrls[0].replace('http://', 'etcd://');
    const s = await openStore({ dataDir: '/nonexistent', endpoint });
    try {
      const kv = await s.create(`/open/${Date.now()}`, 'v');
      assert.ok(kv.modRevision > 1);
    } finally {
      await s.close();
    }
  });
});

test('endpoint parsing', () => {
  assert.deepEqual(parseEndpoint('/var/lib/skiff'), { kind: 'sqlite', file: '/var/lib/skiff/store/state.db' });
  assert.deepEqual(parseEndpoint('/d', 'sqlite:///tmp/x.db'), { kind: 'sqlite', file: '/tmp/x.db' });
  assert.deepEqual(parseEndpoint('/d', 'http://127.0.0.1:2379,http://127.0.0.1:2479'), {
    kind: 'etcd',
    hosts: ['http://127.0.0.1:2379', 'http://127.0.0.1:2479'],
  });
  assert.deepEqual(parseEndpoint('/d', 'etcd://10.0.0.1:2379'), { kind: 'etcd', hosts: ['http://10.0.0.1:2379'] });
  assert.throws(() => parseEndpoint('/d', 'mysql://x'), (e) => isSkiffError(e, 'InvalidArgument'));
});

/** Retries an operation while the cluster elects a new leader. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  const end = Date.now() + 60_000;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isSkiffError(e, 'Unavailable') || Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('etcd 3-member cluster', () => {
  let cluster: EtcdCluster | undefined;
  after(async () => {
    await cluster?.stop();
  });

  test('the store keeps working when one member is killed', async () => {
    cluster = await startEtcd({ size: 3 });
    const s = await EtcdStore.connect({ hosts: cluster.clientUrls });
    try {
      const a = await s.create('/ha/a', '1');
      let started!: () => void;
      const ready = new Promise<void>((r) => (started = r));
      const watching = collectWatch(s, '/ha/', a.modRevision - 1, (evs) => evs.length >= 3, {
        started,
        timeoutMs: 120_000,
      });
      await ready;
      // Kill the leader: the worst case (an election follows).
      const statuses = await Promise.all(
        cluster.members.map(async (m) => {
          const res = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' });
          return (await res.json()) as { header: { member_id: string }; leader: string };
        }),
      );
      const leaderIdx = statuses.findIndex((st) => st.header.member_id === st.leader);
      await cluster.kill(cluster.members[leaderIdx >= 0 ? leaderIdx : 0]);
      const a2 = await retrying(() => s.update('/ha/a', '2', a.modRevision));
      const b = await retrying(() => s.create('/ha/b', '1'));
      assert.equal((await retrying(() => s.get('/ha/a')))?.value, '2');
      assert.equal((await retrying(() => s.list('/ha/'))).items.length, 2);
      const { events } = await watching;
      assert.deepEqual(
        events.map((e) => e.kv.modRevision),
        [a.modRevision, a2.modRevision, b.modRevision],
      );
    } finally {
      await s.close();
    }
  });
});
