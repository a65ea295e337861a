/**
 * Node lifecycle against a real `skiff server`, on a fake clock (no 50 s wait): a node whose heartbeat stops
 * goes Ready=Unknown with the unreachable taints, kubectl shows it NotReady, and a heartbeat brings it back
 * (the taints go away). The "agent" here is the test writing the node's Ready condition.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../client/clock';
import { RESOURCES } from '../client/resources';
import { Node } from '../client/types';
import { startTestServer, eventually, TestServer } from '../client/testing/server';
import { addFakeNode } from './testing/cluster';
import { startControllers, ControllerManager } from './manager';

let srv: TestServer;
let mgr: ControllerManager;
let clock: FakeClock;
before(async () => {
  srv = await startTestServer();
  clock = new FakeClock(Date.now());
  mgr = startControllers({ client: srv.client, controllers: ['nodelifecycle'], clock, log: () => {} });
  await mgr.ready;
});
after(async () => {
  mgr?.stop();
  await srv?.stop();
});

test('a silent node goes Unknown with unreachable taints; a heartbeat brings it back', async () => {
  await addFakeNode(srv.client, 'quiet');
  await addFakeNode(srv.client, 'alive');
  const getNode = (n: string) => srv.client.get<Node>(RESOURCES.nodes, undefined, n);
  // Let the controller observe both nodes, then let 51 s pass on its clock with a heartbeat only from "alive".
  await new Promise((r) => setTimeout(r, 500));
  clock.advance(30_000);
  await srv.client.patch(RESOURCES.nodes, undefined, 'alive', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date(clock.now()).toISOString().replace(/\.\d+Z$/, 'Z') }] } }, 'merge', { subresource: 'status' });
  await new Promise((r) => setTimeout(r, 500));
  clock.advance(21_000);
  const quiet = await eventually(async () => {
    const n = await getNode('quiet');
    return n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown' && (n.spec?.taints?.length ?? 0) === 2 && n;
  }, 'quiet node Unknown and tainted');
  assert.deepEqual(quiet.spec!.taints!.map((t) => `${t.key}:${t.effect}`), ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
  assert.equal(quiet.status!.conditions!.find((c) => c.type === 'Ready')!.reason, 'NodeStatusUnknown');
  assert.equal((await getNode('alive')).status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  // The agent comes back and reports Ready: taints are removed.
  await srv.client.patch(RESOURCES.nodes, undefined, 'quiet', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date(clock.now()).toISOString().replace(/\.\d+Z$/, 'Z') }] } }, 'merge', { subresource: 'status' });
  await eventually(async () => ((await getNode('quiet')).spec?.taints ?? []).length === 0, 'taints removed');
});
