/**
 * The node agent (what the kubelet does), level-triggered: registers the Node, renews its Lease, watches
 * the pods bound to this node and converges each through the in-process engine — sandbox, volumes, init
 * containers, sidecars, main containers, restarts with back-off, probes, graceful termination — and
 * reports status. Every trigger (pod change, container exit, probe result, timer) only queues the pod's
 * uid; sync(uid) reads the desired state (informer cache) and the actual one (engine) and acts.
 *
 * Restart safety: all state that matters lives in the engine (containers and their labels survive the
 * agent) and the network library (sandboxes); a restarted agent adopts running pods as they are.
 */
import type { KubeClient } from '../client/client';
import { Informer } from '../client/informer';
import { RESOURCES } from '../client/resources';
import { WorkQueue } from '../client/workqueue';
import { EventRecorder } from '../client/events';
import { isSkiffError } from '../common/errors';
import type { ContainerManager } from '../engine/containers/manager';
import type { ContainerRecord } from '../engine/containers/types';
import type { EventBus } from '../engine/events';
import { CrashBackoff } from './backoff';
import { ConfigError, containerEnv } from './env';
import { runHandler } from './handlers';
import { LABEL_CONTAINER_NAME, LABEL_GRACE, LABEL_POD_UID } from './naming';
import type { PodNetwork } from './network';
import { hostFacts, microTime, nodeLabels, nodeStatus, type HostFacts } from './node-status';
import { ProbeManager } from './probes';
import { ImagePullError, PodRuntime, toRuntime, type ImageCheck } from './runtime';
import { credentialsFromConfig } from '../engine/registry/auth';
import { parseReference } from '../engine/images/reference';
import type { RegistryCredentials } from '../engine/images/types';
import { computePodStatus } from './status';
import { computePodActions, type RuntimeContainer } from './sync';
import { TeardownQueue } from './teardown';
import type { ContainerSpec, PodV1 } from './types';
import { VolumeManager } from './volumes';

export interface NodeAgentOptions {
  client: KubeClient;
  nodeName: string;
  /** Agent state (pod volumes) lives under this directory. */
  dataDir: string;
  containers: ContainerManager;
  engineEvents: EventBus;
  network: PodNetwork;
  runtimeVersion: string;
  workers?: number;
  /** Periodic resync of every pod (ConfigMap/Secret refresh, missed events). */
  resyncMs?: number;
  leaseRenewMs?: number;
  log?: (msg: string) => void;
}

interface PodState {
  waiting: Map<string, { reason: string; message: string }>;
  forceRestart: Set<string>;
  lastStatus?: string;
  /** The same, parsed: the base for the next status (transition times, startTime), as the kubelet's status cache. */
  lastStatusObj?: Obj;
  podIP?: string;
  /** Containers whose start was handled (postStart ran, events sent). */
  handled: Set<string>;
}

const STATUS_NULLABLE = ['reason', 'message', 'podIP', 'podIPs', 'initContainerStatuses', 'nominatedNodeName'];
/** Exited attempts kept per container: the latest (status, --previous) and the one before. */
const KEEP_EXITED = 2;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

export class NodeAgent {
  readonly runtime: PodRuntime;
  readonly probes: ProbeManager;
  readonly volumes: VolumeManager;
  readonly pods: Informer<PodV1>;
  private readonly configMaps: Informer;
  private readonly secrets: Informer;
  private readonly queue = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 30_000 });
  private readonly state = new Map<string, PodState>();
  private readonly byUid = new Map<string, PodV1>();
  private readonly terminating = new Map<string, Promise<void>>();
  /** Last known state of pods deleted from the API whose containers still need stopping. */
  private readonly gone = new Map<string, PodV1>();
  /** Pods seen but not yet through their first sync (their starts are what users wait for). */
  private readonly starting = new Set<string>();
  /** Cleanups after deleted pods wait for the pending starts (see ./teardown.ts). */
  readonly teardowns: TeardownQueue;
  private readonly backoff = new CrashBackoff();
  private readonly pullBackoff = new CrashBackoff();
  private readonly recorder: EventRecorder;
  private facts: HostFacts;
  private stopped = false;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe?: () => void;
  private workersDone: Promise<void>[] = [];
  private readonly log: (msg: string) => void;

  constructor(readonly opts: NodeAgentOptions) {
    this.log = opts.log ?? ((m) => process.stderr.write(`agent: ${m}\n`));
    // Host facts are known before start() (the service proxy asks for the node address early).
    this.facts = hostFacts(opts.dataDir, opts.runtimeVersion);
    this.runtime = new PodRuntime(opts.containers);
    this.probes = new ProbeManager({
      changed: (uid, id, type, ok, output) => {
        if (!ok && type !== 'readiness') {
          const pod = this.byUid.get(uid);
          const name = this.runtime.get(id)?.Config.Labels?.[LABEL_CONTAINER_NAME];
          if (pod) this.recorder.event(pod, 'Warning', 'Unhealthy', `${type[0].toUpperCase()}${type.slice(1)} probe failed: ${output}`.trim());
          void name;
        } else if (!ok) {
          const pod = this.byUid.get(uid);
          if (pod) this.recorder.event(pod, 'Warning', 'Unhealthy', `Readiness probe failed: ${output}`.trim());
        }
        this.queue.add(uid);
      },
    });
    this.volumes = new VolumeManager(`${opts.dataDir}/pods`);
    // SKIFF_NO_TEARDOWN_QUEUE=1: cleanups run at once, as before the queue (A/B measurements).
    const noQueue = !!process.env.SKIFF_NO_TEARDOWN_QUEUE;
    this.teardowns = new TeardownQueue(noQueue ? { busy: () => false, idleConcurrency: Infinity } : { busy: () => this.starting.size > 0 });
    // A terminating pod's containers leave their runtime leftovers (runc state, cgroups) to the removal,
    // which the deferred cleanup does; containers that exit on their own are cleaned up at once as before.
    if (!noQueue) opts.containers.setExitCleanupPolicy((rec) => this.terminating.has(rec.Config.Labels?.[LABEL_POD_UID] ?? ''));
    this.pods = new Informer<PodV1>(opts.client, RESOURCES.pods, {
      fieldSelector: `spec.nodeName=${opts.nodeName}`,
      onError: (e) => this.log(`pod watch: ${(e as Error).message}`),
    });
    const cmRes = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
    const secRes = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
    this.configMaps = new Informer(opts.client, cmRes, { onError: (e) => this.log(`configmap watch: ${(e as Error).message}`) });
    this.secrets = new Informer(opts.client, secRes, { onError: (e) => this.log(`secret watch: ${(e as Error).message}`) });
    // The kubelet's event client limits (eventRecordQPS 50, eventBurst 100): under pod churn, events (four per pod)
    // would otherwise be most of the API server's writes, ahead of the pods' own.
    this.recorder = new EventRecorder(opts.client, { component: 'kubelet', host: opts.nodeName, qps: 50, burst: 100 });
  }

  get nodeName(): string {
    return this.opts.nodeName;
  }

  get hostIP(): string {
    return this.facts.internalIP;
  }

  get hostFacts(): HostFacts {
    return this.facts;
  }

  /** Registers the node, starts the lease, informers, workers and the engine event feed. */
  async start(): Promise<void> {
    await this.registerNode();
    this.startLease();
    this.pods.addEventHandler({
      add: (p) => this.onPod(p),
      update: (_o, p) => this.onPod(p),
      delete: (p) => {
        const uid = p.metadata.uid!;
        this.byUid.delete(uid);
        if (this.starting.delete(uid)) this.teardowns.poke();
        // Its spec still says how to stop it (preStop hooks, grace period).
        if (p.spec) this.gone.set(uid, p);
        this.queue.add(uid);
      },
    });
    const touchNamespace = (o: { metadata: { namespace?: string } }) => {
      for (const p of this.byUid.values()) if (p.metadata.namespace === o.metadata.namespace) this.queue.add(p.metadata.uid!);
    };
    for (const inf of [this.configMaps, this.secrets]) inf.addEventHandler({ update: touchNamespace, delete: touchNamespace, add: touchNamespace });
    this.pods.start();
    this.configMaps.start();
    this.secrets.start();
    await Promise.all([this.pods.waitForSync(), this.configMaps.waitForSync(), this.secrets.waitForSync()]);
    // Leftovers of pods deleted while the agent was down: containers, volumes.
    for (const uid of [...this.runtime.byPod().keys(), ...this.volumes.known()]) if (!this.byUid.has(uid)) this.queue.add(uid);
    const otherIds = this.opts.containers
      .list()
      .filter((r) => !r.Config.Labels?.[LABEL_POD_UID])
      .map((r) => r.Id);
    const liveUids = new Set([...this.byUid.keys(), ...this.runtime.byPod().keys()]);
    await this.opts.network.reconcilePods(liveUids, otherIds).catch((e) => this.log(`network reconcile: ${(e as Error).message}`));
    this.unsubscribe = this.opts.engineEvents.subscribe((ev) => {
      if (ev.Type !== 'container') return;
      const uid = ev.Actor.Attributes[LABEL_POD_UID];
      if (uid && (ev.Action === 'die' || ev.Action === 'oom' || ev.Action === 'destroy')) this.queue.add(uid);
    });
    // Pods in flight at once. A start is mostly waiting (conmon, runc, the kernel), not this process: scaling
    // 10 → 50 pods on the 2-core VM took 5.3/3.7 s with 8, 4.2/4.0 s with 16, 2.6–3.4 s with 32, 3.0–3.5 s
    // with 64 (bench/cluster.ts scale phase, load ~6).
    const workers = this.opts.workers ?? 32;
    for (let i = 0; i < workers; i++) this.workersDone.push(this.work());
    const resync = setInterval(() => {
      for (const uid of this.byUid.keys()) this.queue.add(uid);
    }, this.opts.resyncMs ?? 10_000);
    resync.unref();
    this.timers.push(resync);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.teardowns.flush();
    this.opts.containers.setExitCleanupPolicy(undefined);
    for (const t of this.timers) clearInterval(t);
    this.unsubscribe?.();
    this.pods.stop();
    this.configMaps.stop();
    this.secrets.stop();
    this.probes.stopAll();
    this.queue.shutDown();
    await Promise.allSettled(this.workersDone);
    // Rate-limited events still queued after 2 s are dropped (as a stopping kubelet's would be).
    await Promise.race([this.recorder.flush().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  private onPod(p: PodV1): void {
    const uid = p.metadata.uid!;
    const phase = p.status?.phase;
    if (!this.state.has(uid) && !p.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') this.starting.add(uid);
    this.byUid.set(uid, p);
    this.queue.add(uid);
  }

  /** The pod with this uid as the informer has it. */
  podByUid(uid: string): PodV1 | undefined {
    return this.byUid.get(uid);
  }

  // ------------------------------------------------------------------ node + lease

  private async registerNode(): Promise<void> {
    const name = this.opts.nodeName;
    const status = nodeStatus(this.facts, name, new Date().toISOString());
    const podCIDR = this.opts.network.subnet;
    try {
      await this.opts.client.create(RESOURCES.nodes, undefined, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: nodeLabels(this.facts, name), annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
        spec: { podCIDR, podCIDRs: [podCIDR] },
      });
      this.log(`registered node ${name}`);
    } catch (err) {
      if (!isSkiffError(err, 'AlreadyExists')) throw err;
    }
    await this.opts.client.patch(RESOURCES.nodes, undefined, name, { status }, 'merge', { subresource: 'status' });
    const t = setInterval(() => void this.updateNodeStatus(), 30_000);
    t.unref();
    this.timers.push(t);
  }

  private async updateNodeStatus(): Promise<void> {
    try {
      const node = await this.opts.client.get(RESOURCES.nodes, undefined, this.opts.nodeName);
      const status = nodeStatus(this.facts, this.opts.nodeName, new Date().toISOString(), node.status?.conditions);
      await this.opts.client.patch(RESOURCES.nodes, undefined, this.opts.nodeName, { status }, 'merge', { subresource: 'status' });
    } catch (err) {
      if (isSkiffError(err, 'NotFound')) await this.registerNode().catch(() => undefined);
      else this.log(`node status: ${(err as Error).message}`);
    }
  }

  private startLease(): void {
    const renew = async () => {
      const name = this.opts.nodeName;
      const spec = { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(Date.now()) };
      try {
        await this.opts.client.patch(RESOURCES.leases, 'kube-node-lease', name, { spec }, 'merge');
      } catch (err) {
        if (!isSkiffError(err, 'NotFound')) return this.log(`lease: ${(err as Error).message}`);
        const node = await this.opts.client.get(RESOURCES.nodes, undefined, name).catch(() => undefined);
        const ownerReferences = node ? [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid! }] : undefined;
        await this.opts.client
          .create(RESOURCES.leases, 'kube-node-lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease', ownerReferences }, spec })
          .catch((e) => this.log(`lease create: ${(e as Error).message}`));
      }
    };
    void renew();
    const t = setInterval(() => void renew(), this.opts.leaseRenewMs ?? 10_000);
    t.unref();
    this.timers.push(t);
  }

  // ------------------------------------------------------------------ workers

  private async work(): Promise<void> {
    for (;;) {
      const uid = await this.queue.get();
      if (uid === undefined) return;
      try {
        const again = await this.sync(uid);
        this.queue.forget(uid);
        if (again !== undefined && !this.stopped) this.queue.addAfter(uid, again);
      } catch (err) {
        if (!this.stopped) {
          this.log(`sync pod ${this.byUid.get(uid)?.metadata.name ?? uid}: ${(err as Error).message}`);
          this.queue.addRateLimited(uid);
        }
      } finally {
        this.queue.done(uid);
        if (this.starting.delete(uid)) this.teardowns.poke();
      }
    }
  }

  private stateOf(uid: string): PodState {
    let s = this.state.get(uid);
    if (!s) this.state.set(uid, (s = { waiting: new Map(), forceRestart: new Set(), handled: new Set() }));
    return s;
  }

  /**
   * The kubelet's pull credentials: the first of the pod's imagePullSecrets (in order) whose docker config has
   * an entry for the image's registry. None: the engine's own config.json applies.
   */
  private pullCredentials(pod: PodV1, image: string): RegistryCredentials | undefined {
    const names = (pod.spec.imagePullSecrets ?? []).map((r) => r.name).filter((n): n is string => !!n);
    if (!names.length) return undefined;
    let host: string;
    try {
      host = parseReference(image).domain;
    } catch {
      return undefined; // a malformed reference fails in the pull itself, with the engine's message
    }
    const ns = pod.metadata.namespace ?? 'default';
    for (const name of names) {
      const secret = this.secrets.cache.getByName(ns, name) as Obj | undefined;
      const raw = secret?.data?.['.dockerconfigjson'] ?? secret?.data?.['.dockercfg'];
      if (typeof raw !== 'string') continue;
      try {
        const creds = credentialsFromConfig(JSON.parse(Buffer.from(raw, 'base64').toString('utf8')), host);
        if (creds) return creds;
      } catch {
        /* a secret that is not JSON holds no credentials (upstream skips it too) */
      }
    }
    return undefined;
  }

  private lookups(pod: PodV1, podIP: string | undefined) {
    const ns = pod.metadata.namespace ?? 'default';
    const cm = (name: string) => this.configMaps.cache.getByName(ns, name) as Obj | undefined;
    const sec = (name: string) => this.secrets.cache.getByName(ns, name) as Obj | undefined;
    const node = { cpuMilli: this.facts.cpus * 1000, memory: this.facts.memoryBytes, ephemeral: this.facts.ephemeralBytes };
    return {
      env: {
        configMap: (n: string) => {
          const o = cm(n);
          return o ? { ...(o.data ?? {}), ...Object.fromEntries(Object.entries(o.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()])) } : undefined;
        },
        secret: (n: string) => {
          const o = sec(n);
          return o ? Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()])) : undefined;
        },
        podIP,
        hostIP: this.facts.internalIP,
        node,
      },
      volumes: {
        configMap: (n: string) => {
          const o = cm(n);
          return o ? { data: o.data ?? {}, binaryData: o.binaryData ?? {} } : undefined;
        },
        secret: (n: string) => {
          const o = sec(n);
          return o ? (o.data ?? {}) : undefined;
        },
        podIP,
        hostIP: this.facts.internalIP,
        node,
      },
    };
  }

  /** One level-triggered pass over a pod; returns ms until it wants to look again. */
  private async sync(uid: string): Promise<number | undefined> {
    if (this.terminating.has(uid)) return undefined; // the termination re-queues when done
    const pod = this.byUid.get(uid);
    const records = this.runtime.podContainers(uid);
    if (!pod || pod.metadata.deletionTimestamp) {
      this.terminate(uid, pod, records);
      return undefined;
    }
    if (this.tracing && !this.state.has(uid)) this.trace(pod, 'seen', Date.now());
    const st = this.stateOf(uid);
    const phase = pod.status?.phase;
    const terminal = phase === 'Succeeded' || phase === 'Failed';

    // Containers created but never started (a crash between create and start): remove, they are redone.
    for (const r of records) if (toRuntime(r).state === 'created') await this.runtime.remove(r.Id);

    // Sandbox.
    let podIP: string | undefined;
    let sandboxReady = false;
    let sandboxPending: Promise<{ endpoints: { ipAddress: string }[] }> | undefined;
    if (!terminal) {
      if (pod.spec.hostNetwork) {
        podIP = this.facts.internalIP;
        sandboxReady = true;
      } else {
        const hostPorts = pod.spec.containers.flatMap((c) =>
          (c.ports ?? []).filter((p) => p.hostPort).map((p) => ({ containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP').toLowerCase() as 'tcp', hostIp: p.hostIP ?? '', hostPort: p.hostPort! })),
        );
        const tSb = Date.now();
        const have = this.opts.network.podSandbox(uid);
        if (have) {
          podIP = have.endpoints[0]?.ipAddress;
          sandboxReady = true;
        } else {
          const made = this.opts.network.ensurePod({ uid, name: pod.metadata.name!, hostname: podHostname(pod), namespace: pod.metadata.namespace }, hostPorts);
          made.catch(() => undefined);
          sandboxPending = made.then((sb) => {
            this.trace(pod, 'sandbox', tSb);
            return sb;
          });
          // Volumes, image checks and container creation overlap with the sandbox's setup unless something
          // needs the pod's IP before the containers start (env from status.podIP, downward API files).
          if (needsPodIPEarly(pod)) {
            podIP = (await sandboxPending).endpoints[0]?.ipAddress;
            sandboxPending = undefined;
            sandboxReady = true;
          }
        }
      }
      st.podIP = podIP;
    }
    const lk = this.lookups(pod, podIP);

    // Volumes (refreshed every sync: configMap/secret changes appear in place).
    let volumeError: string | undefined;
    if (!terminal) {
      try {
        await this.volumes.setUp(pod, lk.volumes);
      } catch (err) {
        volumeError = (err as Error).message;
      }
    }

    let containers = this.runtime.podContainers(uid).map(toRuntime);
    const now = Date.now();
    const syncInput = () => ({
      pod,
      containers,
      nowMs: Date.now(),
      backoffRemaining: (name: string, finishedMs: number) => this.backoff.remaining(`${uid}/${name}`, finishedMs, Date.now()),
      started: (id: string) => this.probes.started(id),
      unhealthy: (id: string) => this.probes.unhealthy(id),
      terminal,
      forceRestart: st.forceRestart,
    });
    const actions = computePodActions(syncInput());

    // Kills (spec change, liveness, pod completed).
    const kills = actions.kill.map(async (k) => {
      const spec = findSpec(pod, k.name);
      if (k.reason === 'SpecChanged') st.forceRestart.add(k.id);
      const msg =
        k.reason === 'Unhealthy'
          ? `Container ${k.name} failed liveness probe, will be restarted`
          : k.reason === 'StartupFailed'
            ? `Container ${k.name} failed startup probe, will be restarted`
            : k.reason === 'SpecChanged'
              ? `Container ${k.name} definition changed, will be restarted`
              : `Stopping container ${k.name}`;
      this.recorder.event(pod, 'Normal', 'Killing', msg);
      this.probes.stop(k.id);
      await this.killContainer(pod, spec, k.id, pod.spec.terminationGracePeriodSeconds ?? 30, podIP);
    });
    await Promise.all(kills);

    // Starts.
    let requeue: number | undefined;
    const wantRequeue = (ms: number) => (requeue = requeue === undefined ? ms : Math.min(requeue, ms));
    const volumeWaiting = volumeError ? { reason: 'CreateContainerConfigError', message: volumeError } : undefined;
    await Promise.all(
      actions.start.map(async (s) => {
        const key = `${uid}/${s.spec.name}`;
        if (volumeWaiting) {
          st.waiting.set(s.spec.name, volumeWaiting);
          wantRequeue(2000);
          return;
        }
        // Image.
        const pullLeft = this.pullBackoff.remaining(key, now, now);
        const prevWait = st.waiting.get(s.spec.name);
        if (pullLeft > 0 && prevWait && (prevWait.reason === 'ErrImagePull' || prevWait.reason === 'ImagePullBackOff')) {
          st.waiting.set(s.spec.name, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${s.spec.image}"` });
          wantRequeue(pullLeft);
          return;
        }
        let imageCheck: ImageCheck;
        try {
          imageCheck = await this.runtime.checkImage(s.spec, this.pullCredentials(pod, s.spec.image ?? ''), () =>
            this.recorder.event(pod, 'Normal', 'Pulling', `Pulling image "${s.spec.image}"`),
          );
        } catch (err) {
          if (!(err instanceof ImagePullError)) throw err;
          const reason = err.never ? 'ErrImageNeverPull' : 'ErrImagePull';
          st.waiting.set(s.spec.name, { reason, message: err.message });
          this.pullBackoff.next(key, now);
          this.recorder.event(pod, 'Warning', 'Failed', `Error: ${reason}`);
          this.recorder.event(pod, 'Warning', 'Failed', err.message);
          wantRequeue(this.pullBackoff.delayOf(key));
          return;
        }
        this.pullBackoff.reset(key);
        let env: string[];
        try {
          env = containerEnv(pod, s.spec, lk.env);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          st.waiting.set(s.spec.name, { reason: 'CreateContainerConfigError', message: err.message });
          this.recorder.event(pod, 'Warning', 'Failed', `Error: ${err.message}`);
          wantRequeue(2000);
          return;
        }
        if (!env.some((e) => e.startsWith('HOSTNAME='))) env.push(`HOSTNAME=${podHostname(pod)}`);
        if (s.attempt > 0) this.backoff.next(key, Date.now());
        let id: string | undefined;
        try {
          const mounts = this.volumes.mountsFor(pod, s.spec);
          const tCreate = Date.now();
          id = await this.runtime.create({ pod, spec: s.spec, kind: s.kind, attempt: s.attempt, env, mounts, hostname: podHostname(pod) });
          st.waiting.delete(s.spec.name);
          this.recorder.event(pod, 'Normal', 'Pulled', pulledMessage(s.spec.image ?? '', imageCheck));
          this.recorder.event(pod, 'Normal', 'Created', `Created container ${s.spec.name}`);
          this.trace(pod, `create ${s.spec.name}`, tCreate);
          // (A sandbox that failed leaves this container 'created': the next sync removes it.)
          if (sandboxPending) await sandboxPending;
          const tStart = Date.now();
          await this.runtime.start(id);
          this.trace(pod, `start ${s.spec.name}`, tStart);
          this.recorder.event(pod, 'Normal', 'Started', `Started container ${s.spec.name}`);
        } catch (err) {
          if (err instanceof ConfigError) {
            st.waiting.set(s.spec.name, { reason: 'CreateContainerConfigError', message: err.message });
            wantRequeue(2000);
            return;
          }
          // A start that failed (bad command...): the record stays as an exited attempt (RunContainerError).
          this.recorder.event(pod, 'Warning', 'Failed', `Error: ${(err as Error).message}`);
          if (!id) {
            st.waiting.set(s.spec.name, { reason: 'CreateContainerError', message: (err as Error).message });
            wantRequeue(2000);
          }
          return;
        }
        st.handled.add(id);
        const lc = s.spec.lifecycle?.postStart;
        if (lc) {
          const r = await runHandler(lc, { containerId: id, podIP, container: s.spec, exec: (cid, cmd, t) => this.opts.containers.probe(cid, cmd, t) }, (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000);
          if (!r.ok) {
            this.recorder.event(pod, 'Warning', 'FailedPostStartHook', r.output);
            await this.runtime.stop(id, 0);
          }
        }
      }),
    );
    for (const [name, left] of actions.backoff) {
      wantRequeue(left + 10);
      const latest = containers.filter((c) => c.name === name).sort((a, b) => b.attempt - a.attempt)[0];
      if (latest && !st.handled.has(`backoff:${latest.id}`)) {
        st.handled.add(`backoff:${latest.id}`);
        this.recorder.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${uid})`);
      }
    }

    if (sandboxPending) {
      podIP = (await sandboxPending).endpoints[0]?.ipAddress;
      st.podIP = podIP;
      sandboxReady = true;
    }

    // Refresh the view, garbage-collect old attempts, drive probes.
    containers = this.runtime.podContainers(uid).map(toRuntime);
    await this.gcAttempts(containers);
    containers = this.runtime.podContainers(uid).map(toRuntime);
    const running = containers.filter((c) => c.state === 'running');
    for (const c of running) {
      const spec = findSpec(pod, c.name);
      if (spec && c.hash) this.probes.ensure(uid, { containerId: c.id, podIP, container: spec, exec: (cid, cmd, t) => this.opts.containers.probe(cid, cmd, t) });
      // Back-off resets after a long enough run (upstream: 2 × max delay without a failure).
      const ranMs = Date.now() - (Date.parse(c.startedAt ?? '') || Date.now());
      if (ranMs > 600_000) this.backoff.reset(`${uid}/${c.name}`);
    }
    this.probes.retain(new Set(this.allRunningIds()));
    for (const id of [...st.forceRestart]) if (!containers.some((c) => c.id === id && c.state === 'exited')) st.forceRestart.delete(id);

    // Status.
    const after = computePodActions({ ...syncInput(), containers });
    const status = computePodStatus({
      // Our last written status, not the informer's copy, is the previous state: the informer lags behind our
      // own writes, and computing from its older copy made two in-flight writes flip a condition's
      // lastTransitionTime back and forth forever (upstream's status manager caches its own status likewise).
      pod: st.lastStatusObj ? { ...pod, status: st.lastStatusObj as PodV1['status'] } : pod,
      containers,
      actions: after,
      waiting: st.waiting,
      ready: (id) => this.probes.ready(id),
      started: (id) => this.probes.started(id),
      podIP: st.podIP,
      hostIP: this.facts.internalIP,
      sandboxReady: sandboxReady || !!st.podIP,
      backoffDelay: (name) => this.backoff.delayOf(`${uid}/${name}`),
      nowIso: new Date().toISOString(),
    });
    const tStatus = Date.now();
    const wrote = await this.writeStatus(pod, st, status);
    if (wrote) this.trace(pod, `status ${wrote}`, tStatus);

    // A pod that just finished: stop what still runs (sidecars), free the sandbox.
    if ((status.phase === 'Succeeded' || status.phase === 'Failed') && !pod.spec.hostNetwork) {
      if (containers.some((c) => c.state === 'running')) wantRequeue(500);
      else await this.opts.network.teardownPod(uid).catch(() => undefined);
    }
    if (running.some((c) => !this.probes.ready(c.id) || !this.probes.started(c.id))) wantRequeue(5000);
    return requeue;
  }

  private allRunningIds(): string[] {
    return this.opts.containers
      .list()
      .filter((r) => r.State.Running && r.Config.Labels?.[LABEL_POD_UID])
      .map((r) => r.Id);
  }

  /** Keeps the latest KEEP_EXITED exited attempts per container name; older ones go. */
  private async gcAttempts(containers: RuntimeContainer[]): Promise<void> {
    const byName = new Map<string, RuntimeContainer[]>();
    for (const c of containers) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
    for (const list of byName.values()) {
      const sorted = list.sort((a, b) => b.attempt - a.attempt);
      for (const old of sorted.slice(KEEP_EXITED)) if (old.state === 'exited') await this.runtime.remove(old.id);
    }
  }

  /** Returns what it did, for tracing: undefined when nothing was written. */
  private async writeStatus(pod: PodV1, st: PodState, status: Obj): Promise<string | undefined> {
    const text = JSON.stringify(status);
    if (st.lastStatus === text) return undefined;
    const cur = (pod.status ?? {}) as Obj;
    // Compare with what the API has (minus probe times), so a restarted agent does not rewrite the same status.
    if (st.lastStatus === undefined && JSON.stringify(normalise(cur)) === JSON.stringify(normalise(status))) {
      st.lastStatus = text;
      st.lastStatusObj = status;
      return undefined;
    }
    const why = this.tracing ? `${status.phase} ${st.lastStatusObj === undefined ? 'first' : diffKeys(st.lastStatusObj, status)}` : 'written';
    const patch: Obj = { ...status };
    for (const k of STATUS_NULLABLE) if (!(k in status) && k in cur) patch[k] = null;
    try {
      await this.opts.client.patch(RESOURCES.pods, pod.metadata.namespace, pod.metadata.name!, { metadata: { uid: pod.metadata.uid }, status: patch }, 'merge', {
        subresource: 'status',
      });
      st.lastStatus = text;
      st.lastStatusObj = status;
      return why;
    } catch (err) {
      if (isSkiffError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  // ------------------------------------------------------------------ termination

  /** preStop (within the grace period), then SIGTERM and SIGKILL after what is left (at least 2 s as upstream). */
  private async killContainer(pod: PodV1 | undefined, spec: ContainerSpec | undefined, id: string, graceSec: number, podIP: string | undefined): Promise<void> {
    const rec = this.runtime.get(id);
    if (!rec || !rec.State.Running) return;
    const t0 = Date.now();
    const pre = spec?.lifecycle?.preStop;
    if (pre && graceSec > 0) {
      const r = await runHandler(pre, { containerId: id, podIP, container: spec!, exec: (cid, cmd, t) => this.opts.containers.probe(cid, cmd, t) }, graceSec * 1000);
      if (!r.ok && pod) this.recorder.event(pod, 'Warning', 'FailedPreStopHook', r.output);
    }
    const left = graceSec <= 0 ? 0 : Math.max(2, graceSec - Math.floor((Date.now() - t0) / 1000));
    await this.runtime.stop(id, left);
  }

  /**
   * A pod gone from the API (or marked for deletion): kill its containers with grace (main containers
   * first, then sidecars and init), remove them, free the sandbox and volumes, and finish the deletion.
   * Runs outside the queue worker so long grace periods never hold up other pods.
   */
  private terminate(uid: string, pod: PodV1 | undefined, records: ContainerRecord[]): void {
    const known = pod ?? this.gone.get(uid);
    const p = (async () => {
      const grace = known ? (known.metadata.deletionGracePeriodSeconds ?? known.spec.terminationGracePeriodSeconds ?? 30) : undefined;
      const st = this.state.get(uid);
      const graceOf = (r: ContainerRecord) => grace ?? Number(r.Config.Labels?.[LABEL_GRACE] ?? 30);
      const specOf = (r: ContainerRecord) => (known ? findSpec(known, r.Config.Labels?.[LABEL_CONTAINER_NAME] ?? '') : undefined);
      const running = records.filter((r) => r.State.Running);
      const mains = running.filter((r) => toRuntime(r).kind === 'main');
      const rest = running.filter((r) => toRuntime(r).kind !== 'main');
      for (const r of running) this.probes.stop(r.Id);
      if (known && running.length) for (const r of mains) this.recorder.event(known, 'Normal', 'Killing', `Stopping container ${r.Config.Labels?.[LABEL_CONTAINER_NAME]}`);
      await Promise.all(mains.map((r) => this.killContainer(known, specOf(r), r.Id, graceOf(r), st?.podIP)));
      await Promise.all(rest.map((r) => this.killContainer(known, specOf(r), r.Id, graceOf(r), st?.podIP)));
      const cleanup = async () => {
        const ids = this.runtime.podContainers(uid).map((r) => r.Id);
        for (const id of ids) await this.runtime.remove(id);
        await Promise.all([
          // The engine's part of the removal (runc state, cgroups, rootfs, directories) runs after it answers.
          ...ids.map((id) => this.opts.containers.collected(id)),
          this.opts.network.teardownPod(uid).catch((e) => this.log(`teardown sandbox of ${uid}: ${(e as Error).message}`)),
          this.volumes.tearDown(uid),
        ]);
      };
      // The processes are gone; what is left waits for the pending pod starts, unless someone waits for the
      // API object to go (a pod marked for deletion: it is deleted once its volumes are torn down).
      if (pod) await cleanup();
      else await this.teardowns.run(cleanup);
      this.backoff.forgetPrefix(`${uid}/`);
      this.pullBackoff.forgetPrefix(`${uid}/`);
      this.state.delete(uid);
      this.gone.delete(uid);
      if (pod) {
        await this.opts.client
          .delete(RESOURCES.pods, pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid } })
          .catch((err) => {
            if (!isSkiffError(err, 'NotFound') && !isSkiffError(err, 'Conflict')) this.log(`delete pod ${pod.metadata.name}: ${(err as Error).message}`);
          });
      }
    })();
    this.terminating.set(uid, p);
    void p
      .catch((err) => this.log(`terminate pod ${pod?.metadata.name ?? uid}: ${(err as Error).message}`))
      .finally(() => {
        this.terminating.delete(uid);
        // Something may have changed meanwhile (the pod was re-created with the same uid: never; or leftovers).
        if (!this.stopped && (this.byUid.has(uid) || this.runtime.podContainers(uid).length)) this.queue.add(uid);
      });
  }

  private readonly tracing = !!process.env.SKIFF_AGENT_TRACE;
  private trace(pod: PodV1, what: string, since: number): void {
    // The end time (epoch ms) lets bench/cluster.ts --timeline line the phases up with the API's events.
    if (this.tracing) this.log(`trace ${pod.metadata.name} ${what} ${Date.now() - since}ms @${Date.now()}`);
  }

  /** Waits for the terminations in progress (tests, shutdown). */
  async drainTerminations(): Promise<void> {
    while (this.terminating.size) await Promise.allSettled([...this.terminating.values()]);
  }
}

export function findSpec(pod: PodV1, name: string): ContainerSpec | undefined {
  return pod.spec.containers.find((c) => c.name === name) ?? pod.spec.initContainers?.find((c) => c.name === name);
}

/** Whether anything reads the pod's IP before its containers start (so the sandbox must come first). */
export function needsPodIPEarly(pod: PodV1): boolean {
  const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  const envIP = all.some((c) => (c.env ?? []).some((e) => /^status\.podIPs?$/.test(e.valueFrom?.fieldRef?.fieldPath ?? '')));
  return envIP || (pod.spec.volumes ?? []).some((v) => v.downwardAPI || v.projected);
}

export function podHostname(pod: PodV1): string {
  return (pod.spec.hostname ?? pod.metadata.name ?? 'pod').slice(0, 63);
}

/** Paths where two JSON values differ (trace output only). */
function diffKeys(a: unknown, b: unknown, at = ''): string {
  if (JSON.stringify(a) === JSON.stringify(b)) return '';
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a as Obj), ...Object.keys(b as Obj)]);
    return [...keys]
      .map((k) => diffKeys((a as Obj)[k], (b as Obj)[k], `${at}.${k}`))
      .filter(Boolean)
      .join(' ');
  }
  return at || '.';
}

function normalise(s: Obj): Obj {
  return JSON.parse(JSON.stringify(s, (k, v) => (k === 'lastProbeTime' || k === 'lastTransitionTime' || k === 'lastHeartbeatTime' ? undefined : v)));
}

/** The kubelet's "Pulled" event message: already present, or how long the pull took and the image's size. */
export function pulledMessage(image: string, check: ImageCheck): string {
  if (!check.pulled) return `Container image "${image}" already present on machine`;
  const d = goDuration(check.ms);
  return `Successfully pulled image "${image}" in ${d} (${d} including waiting)${check.size !== undefined ? `. Image size: ${check.size} bytes.` : ''}`;
}

/** Go's time.Duration String() for milliseconds: "850ms", "1.234s", "1m5.5s". */
function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const m = Math.floor(ms / 60_000);
  const sec = (ms % 60_000) / 1000;
  return `${m ? `${m}m` : ''}${sec}s`;
}
