/**
 * CronJob end to end without waiting for wall-clock minutes: the cronjob and job controllers run here with a
 * fake clock set ahead of real time, against a real `skiff server`; kubectl sees the Job created on schedule,
 * the CronJob's status, and concurrencyPolicy Forbid holding back the next run. The TEST-ONLY fake kubelet
 * is not needed: no scheduler runs, the job's pods simply stay Pending (active).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../client/clock';
import { startTestServer, eventually, TestServer } from '../client/testing/server';
import { startControllers, ControllerManager } from './manager';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

let srv: TestServer;
let mgr: ControllerManager;
let clock: FakeClock;
const kubectl = (...args: string[]) =>
  execFileSync('kubectl', ['--kubeconfig', srv.kubeconfig, '--cache-dir', path.join(srv.dir, 'kube-cache'), ...args], { encoding: 'utf8', input: '' });

before(async () => {
  srv = await startTestServer();
  clock = new FakeClock(Date.now());
  mgr = startControllers({ client: srv.client, controllers: ['cronjob', 'job'], clock, log: () => {} });
  await mgr.ready;
});
after(async () => {
  mgr?.stop();
  await srv?.stop();
});

test('a CronJob starts a Job when its schedule is due; Forbid holds back the next run while one is active', async () => {
  execFileSync('kubectl', ['--kubeconfig', srv.kubeconfig, '--cache-dir', path.join(srv.dir, 'kube-cache'), 'apply', '-f', '-'], {
    encoding: 'utf8',
    input: `apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/1 * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox, command: [date]}]
`,
  });
  // Two minutes later (fake time): exactly one run is due (the most recent one), as upstream.
  clock.advance(2 * 60_000 + 1000);
  const cj = await eventually(() => {
    const j = JSON.parse(kubectl('get', 'jobs', '-o', 'json'));
    return j.items.length === 1 && j.items[0];
  }, 'job created by the cronjob');
  assert.match(cj.metadata.name, /^tick-\d+$/);
  assert.equal(cj.metadata.ownerReferences[0].kind, 'CronJob');
  const status = await eventually(() => {
    const c = JSON.parse(kubectl('get', 'cronjob', 'tick', '-o', 'json'));
    return c.status?.lastScheduleTime && c.status.active?.length === 1 && c.status;
  }, 'cronjob status');
  assert.equal(status.active[0].name, cj.metadata.name);
  // Next minute: the job is still active (no kubelet runs its pods) → Forbid skips the run.
  clock.advance(60_000);
  await eventually(() => {
    const ev = JSON.parse(kubectl('get', 'events', '--field-selector', 'involvedObject.name=tick', '-o', 'json'));
    return ev.items.some((e: { reason: string }) => e.reason === 'JobAlreadyActive');
  }, 'JobAlreadyActive event');
  assert.equal(JSON.parse(kubectl('get', 'jobs', '-o', 'json')).items.length, 1);
});
