/**
 * The node half of `skiff server`: the container engine in process (serving the Docker Engine API on
 * --socket, so `docker` works against the node and images can be loaded), the pods' network, the node
 * agent, and the in-process scheduler and controller manager. The API server is started first with a
 * connector slot (logs/exec reach the agent through it once the agent runs).
 *
 * Flags (taken out of the server's argv before the server parses the rest):
 *   --socket PATH                 Docker API socket of the node's engine (default /run/skiff/docker.sock, or
 *                                 RUN_DIR/docker.sock when --run-dir is given)
 *   --run-dir DIR                 runtime state: runc, conmon, netns (default /run/skiff for the default data dir,
 *                                 else /run/skiff-<hash of the data dir>)
 *   --engine-data-dir DIR         images and containers (default DATA_DIR/engine)
 *   --node-name NAME              default: the host name
 *   --pod-subnet CIDR             subnet of the pods' bridge network on first start (default: first free)
 *   --disable-scheduler, --disable-controller-manager
 *
 * With --disable-agent (parsed by server.ts) neither the node nor, for now, the in-process scheduler and
 * controllers run (test harnesses run their own).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeConnector, PodStreamKind } from '../apiserver/node-connector';
import type { KubeObject } from '../apiserver/resource';
import { statusError } from '../apiserver/status';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface NodeFlags {
  socket?: string;
  runDir?: string;
  engineDataDir?: string;
  nodeName?: string;
  podSubnet?: string;
  disableScheduler: boolean;
  disableControllers: boolean;
}

const VALUE_FLAGS: Record<string, keyof NodeFlags> = {
  '--socket': 'socket',
  '--run-dir': 'runDir',
  '--engine-data-dir': 'engineDataDir',
  '--node-name': 'nodeName',
  '--pod-subnet': 'podSubnet',
};

/** Pure: removes the node's flags from argv; the rest goes to the server's parser. */
export function takeNodeFlags(argv: string[]): { node: NodeFlags; rest: string[] } {
  const node: NodeFlags = { disableScheduler: false, disableControllers: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (name in VALUE_FLAGS) {
      const v = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new Error(`flag needs an argument: ${name}`);
      (node as unknown as Record<string, string>)[VALUE_FLAGS[name]] = v;
    } else if (name === '--disable-scheduler') node.disableScheduler = true;
    else if (name === '--disable-controller-manager' || name === '--disable-controllers') node.disableControllers = true;
    else rest.push(a);
  }
  return { node, rest };
}

/** The connector the API server holds from the start; the agent plugs in when it runs. */
export class ConnectorSlot implements NodeConnector {
  target?: NodeConnector;
  podLogs(pod: KubeObject, q: URLSearchParams, res: ServerResponse, signal: AbortSignal): Promise<void> {
    if (!this.target) throw statusError(503, 'ServiceUnavailable', 'the node agent is starting');
    return this.target.podLogs(pod, q, res, signal);
  }
  metrics(resource: string, namespace: string, name: string, q: URLSearchParams): Promise<object> {
    if (!this.target?.metrics) throw statusError(503, 'ServiceUnavailable', 'the node agent is starting');
    return this.target.metrics(resource, namespace, name, q);
  }
  podStream(kind: PodStreamKind, pod: KubeObject, q: URLSearchParams, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.target) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    this.target.podStream(kind, pod, q, req, socket, head);
  }
}

/** Discovery entries the API server must list when the node serves metrics.k8s.io. */
export { METRICS_RESOURCES } from '../agent/metrics';

export function defaultRunDir(dataDir: string): string {
  if (path.resolve(dataDir) === '/var/lib/skiff/server') return '/run/skiff';
  return `/run/skiff-${crypto.createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 10)}`;
}

export interface RunningNode {
  stop(): Promise<void>;
  /** For tests in process. */
  agent?: import('../agent/agent').NodeAgent;
}

export interface StartNodeOptions {
  dataDir: string;
  kubeconfig: string;
  /** The API server's unix socket for in-process clients (plain HTTP, token from the kubeconfig). */
  apiSocket?: string;
  flags: NodeFlags;
  slot: ConnectorSlot;
  log?: (msg: string) => void;
  /** The API server's ClusterIP range (the service proxy refuses unrouted traffic to it). */
  serviceCIDR?: string;
}

/** Starts the engine, the pods' network and the agent (and the scheduler/controllers unless disabled). */
export async function startNode(o: StartNodeOptions): Promise<RunningNode> {
  const log = o.log ?? ((m: string) => process.stderr.write(`skiff server: ${m}\n`));
  const [{ EngineDaemon, DEFAULTS }, { PodNetwork }, { NodeAgent }, { AgentConnector }, { ExecManager }, { KubeClient }, { loadKubeconfig }, { ENGINE_VERSION }, { MetricsSampler }] =
    await Promise.all([
      import('../engine/daemon'),
      import('../agent/network'),
      import('../agent/agent'),
      import('../agent/connector'),
      import('../engine/containers/exec'),
      import('../client/client'),
      import('../client/kubeconfig'),
      import('../engine/api/routes/system'),
      import('../agent/metrics'),
    ]);
  const runDir = path.resolve(o.flags.runDir ?? defaultRunDir(o.dataDir));
  const socketPath = path.resolve(o.flags.socket ?? (o.flags.runDir ? path.join(runDir, 'docker.sock') : DEFAULTS.socketPath));
  const engineDataDir = path.resolve(o.flags.engineDataDir ?? path.join(o.dataDir, 'engine'));
  fs.mkdirSync(path.dirname(socketPath), { recursive: true });
  const daemon = new EngineDaemon({
    dataDir: engineDataDir,
    socketPath,
    runtimePath: DEFAULTS.runtimePath,
    conmonPath: DEFAULTS.conmonPath,
    runDir,
  });
  await daemon.start();
  const containers = daemon.containers;
  if (!containers) throw new Error('the engine has no container manager');
  const agentDir = path.join(o.dataDir, 'agent');
  fs.mkdirSync(agentDir, { recursive: true, mode: 0o700 });
  const network = await PodNetwork.open({
    dataDir: path.join(agentDir, 'network'),
    // Its own netns dir: the engine's network manager reconciles RUN_DIR/netns against ITS containers.
    runDir: path.join(runDir, 'pod-network'),
    inner: containers.opts.networking,
    isPodContainer: (id) => {
      try {
        return !!containers.get(id).Config.Labels?.['io.kubernetes.pod.uid'];
      } catch {
        return false;
      }
    },
    subnet: o.flags.podSubnet,
  });
  containers.setNetworking(network);
  const execs = new ExecManager(containers, { runDir, conmonPath: DEFAULTS.conmonPath, runtimePath: DEFAULTS.runtimePath });
  const client = o.apiSocket ? new KubeClient({ ...loadKubeconfig(o.kubeconfig), socketPath: o.apiSocket }) : KubeClient.fromKubeconfig(o.kubeconfig);
  const agent = new NodeAgent({
    client,
    nodeName: (o.flags.nodeName ?? os.hostname()).toLowerCase(),
    dataDir: agentDir,
    containers,
    engineEvents: daemon.events,
    network,
    runtimeVersion: ENGINE_VERSION,
  });
  const metrics = new MetricsSampler(containers, () => agent.nodeName);
  metrics.start();
  o.slot.target = new AgentConnector({
    containers,
    execs,
    metrics,
    podLabels: (ns, name) => agent.pods.cache.getByName(ns, name)?.metadata.labels,
  });
  let stopLoops: Array<() => void> = [];
  if (!o.flags.disableScheduler || !o.flags.disableControllers) {
    const loopLog = (m: string) => log(m);
    let shared: Pick<import('../scheduler/scheduler').SchedulerOptions, 'podInformer' | 'nodeInformer'> = {};
    if (!o.flags.disableControllers) {
      const [{ startControllers }, { RESOURCES }] = await Promise.all([import('../controllers/manager'), import('../client/resources')]);
      const m = startControllers({ client, log: loopLog });
      stopLoops.push(() => m.stop());
      // One pod watch and one node watch (and one cache of each) for both: every pod event is otherwise
      // serialised, sent, parsed and cached twice in this process. The manager starts and stops them.
      shared = { podInformer: m.context.informer(RESOURCES.pods), nodeInformer: m.context.informer(RESOURCES.nodes) };
    }
    if (!o.flags.disableScheduler) {
      const { startScheduler } = await import('../scheduler/scheduler');
      const s = startScheduler(client, { log: loopLog, ...shared });
      // Stopped before the manager stops the shared informers (stopLoops runs in order).
      stopLoops.unshift(() => s.stop());
    }
  }
  // --- service proxy (src/proxy): Services → nftables table, cluster DNS on the pods' network ---
  const { ServiceProxy } = await import('../proxy/proxy');
  const { DEFAULT_SERVICE_CIDR } = await import('../apiserver/allocators/service');
  const proxy = new ServiceProxy({ client, runDir, serviceCIDR: o.serviceCIDR ?? DEFAULT_SERVICE_CIDR, ingressIP: () => agent.hostIP, log });
  network.manager.addNameSource((name) => proxy.lookup(name));
  await proxy.start().catch((e) => log(`service proxy: ${(e as Error).message}`));
  // --- end service proxy ---
  await agent.start();
  log(`node ${agent.nodeName} ready: engine on unix://${socketPath}, pods on ${network.subnet}, run dir ${runDir}`);
  return {
    agent,
    async stop() {
      for (const s of stopLoops) s();
      stopLoops = [];
      // Production keeps its table across restarts (services keep answering); nodes on their own run dir (tests) remove it.
      await (path.resolve(runDir) === '/run/skiff' ? proxy.stop() : proxy.cleanup()).catch(() => undefined);
      metrics.stop();
      await agent.stop();
      network.close();
      await daemon.stop();
      client.close();
    },
  };
}
