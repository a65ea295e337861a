/**
 * TEST ONLY: a real `skiff server` child process (temp data dir, free ports) with the scheduler, the
 * controllers and the fake kubelet stand-in running in the test process, plus a kubectl runner with a
 * fresh cache dir. Everything is torn down in stop(), also when the test failed.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { KubeClient } from '../../client/client';
import { startTestServer, eventually } from '../../client/testing/server';
import { RESOURCES } from '../../client/resources';
import { startScheduler, Scheduler } from '../../scheduler/scheduler';
import { startControllers, ControllerManager } from '../manager';
import { startFakeKubelet, FakeKubeletOptions } from './fake-kubelet';
import type { PodMetricsSource } from '../hpa/controller';

export interface TestCluster {
  dir: string;
  kubeconfig: string;
  client: KubeClient;
  kubectl(args: string[], opts?: { input?: string; allowFail?: boolean; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
  logs(): string;
}

export async function addFakeNode(client: KubeClient, name: string, alloc: { cpu?: string; memory?: string; pods?: string } = {}): Promise<void> {
  const allocatable = { cpu: alloc.cpu ?? '4', memory: alloc.memory ?? '8Gi', pods: alloc.pods ?? '110' };
  const status = {
    capacity: allocatable,
    allocatable,
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'fake node for controller tests', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
  };
  await client.create(RESOURCES.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } }, status });
  // Upstream may drop status on create: set it through the status subresource as a kubelet does.
  await client.patch(RESOURCES.nodes, undefined, name, { status }, 'merge', { subresource: 'status' });
}

export async function startTestCluster(
  opts: { nodes?: string[]; kubelet?: Omit<FakeKubeletOptions, 'nodes'>; scheduler?: boolean; controllers?: boolean; podMetrics?: PodMetricsSource } = {},
): Promise<TestCluster> {
  const server = await startTestServer();
  const { dir, kubeconfig, client } = server;
  const nodes = opts.nodes ?? ['node-1'];
  try {
    for (const n of nodes) await addFakeNode(client, n);
  } catch (err) {
    await server.stop();
    throw err;
  }
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  const sched: Scheduler | undefined = opts.scheduler === false ? undefined : startScheduler(client, { log });
  const mgr: ControllerManager | undefined = opts.controllers === false ? undefined : startControllers({ client, log, podMetrics: opts.podMetrics });
  const kubelet = startFakeKubelet(client, { nodes, ...(opts.kubelet ?? {}) });
  await Promise.all([sched?.ready, mgr?.ready]);
  const cacheDir = path.join(dir, 'kube-cache');
  const c = client;
  return {
    dir,
    kubeconfig,
    client: c,
    logs: () => `${server.output()}\n${logs.join('\n')}`,
    kubectl(args, o = {}) {
      return new Promise((resolve, reject) => {
        const p = execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], { timeout: o.timeoutMs ?? 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
          if (code !== 0 && !o.allowFail) reject(new Error(`kubectl ${args.join(' ')} failed (${code}): ${stderr}${stdout}`));
          else resolve({ code, stdout, stderr });
        });
        if (o.input !== undefined) p.stdin!.end(o.input);
      });
    },
    async stop() {
      kubelet.stop();
      mgr?.stop();
      sched?.stop();
      await server.stop();
    },
  };
}

export { eventually };
