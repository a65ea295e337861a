/**
 * The controller manager: one entry the server role calls. It builds one client and one set of shared
 * informers, starts the requested controllers, and returns stop().
 *
 *   const mgr = await startControllers({ kubeconfig: '/var/lib/skiff/server/kubeconfig.yaml' });
 *   ...
 *   mgr.stop();
 */
import { KubeClient } from '../client/client';
import { Clock, realClock } from '../client/clock';
import { ControllerContext } from './context';
import { Controller } from './runner';
import { startReplicaSetController } from './replicaset/controller';
import { startDeploymentController } from './deployment/controller';
import { startJobController } from './job/controller';
import { startCronJobController } from './cronjob/controller';
import { startHPAController, PodMetricsSource } from './hpa/controller';
import { startEndpointsController } from './endpoints/controller';
import { startDaemonSetController } from './daemonset/controller';
import { startNodeLifecycleController } from './nodelifecycle/controller';

export type ControllerName = 'replicaset' | 'deployment' | 'daemonset' | 'job' | 'cronjob' | 'hpa' | 'endpoints' | 'nodelifecycle';

export const ALL_CONTROLLERS: ControllerName[] = ['replicaset', 'deployment', 'daemonset', 'job', 'cronjob', 'hpa', 'endpoints', 'nodelifecycle'];

export interface ControllerManagerOptions {
  /** Path of a kubeconfig (e.g. DATA_DIR/kubeconfig.yaml) — or pass `client`. */
  kubeconfig?: string;
  client?: KubeClient;
  /** Which controllers to run (default: all). */
  controllers?: ControllerName[];
  /** Workers per controller (default 2). */
  workers?: number;
  clock?: Clock;
  log?: (msg: string) => void;
  /** HPA's pod usage source (default: the metrics.k8s.io API served by the node agent). */
  podMetrics?: PodMetricsSource;
}

export interface ControllerManager {
  stop(): void;
  /** Resolves when every informer has listed (controllers act from then on). */
  ready: Promise<void>;
  context: ControllerContext;
  controllers: Map<ControllerName, Controller>;
}

type Starter = (ctx: ControllerContext, workers: number) => Controller;

/** Controllers register here; the ones not implemented yet are simply absent. */
export const STARTERS: Partial<Record<ControllerName, Starter>> = {
  replicaset: startReplicaSetController,
  deployment: startDeploymentController,
  job: startJobController,
  cronjob: startCronJobController,
  endpoints: startEndpointsController,
  daemonset: startDaemonSetController,
  nodelifecycle: startNodeLifecycleController,
};

export function startControllers(opts: ControllerManagerOptions): ControllerManager {
  const client = opts.client ?? (opts.kubeconfig ? KubeClient.fromKubeconfig(opts.kubeconfig) : undefined);
  if (!client) throw new Error('startControllers: pass kubeconfig or client');
  const ctx = new ControllerContext(client, opts.clock ?? realClock, opts.log ?? ((m) => process.stderr.write(`controllers: ${m}\n`)));
  const controllers = new Map<ControllerName, Controller>();
  for (const name of opts.controllers ?? ALL_CONTROLLERS) {
    if (name === 'hpa') {
      controllers.set(name, startHPAController(ctx, 1, opts.podMetrics));
      continue;
    }
    const start = STARTERS[name];
    if (start) controllers.set(name, start(ctx, opts.workers ?? 2));
  }
  ctx.startInformers();
  const ready = ctx.waitForSync();
  // Workers start after the first list so no controller acts on an empty cache (it would recreate everything).
  void ready.then(() => {
    for (const c of controllers.values()) c.start();
  });
  return {
    ready,
    context: ctx,
    controllers,
    stop() {
      for (const c of controllers.values()) c.stop();
      ctx.stopInformers();
      if (!opts.client) client.close();
    },
  };
}
