/**
 * Composition root of the engine: builds the services (images, containers, volumes, networks) over one
 * data dir, registers their Docker API routes and serves them.
 *
 * Layering: services never import the API edge; the edge (src/engine/api/routes/*) translates HTTP to
 * service calls. This file is the only place that knows every service.
 *
 * Each area wires itself in its marked block below (images, containers, networks).
 */
import path from 'node:path';
import fs from 'node:fs';
import { Router } from './api/router';
import { DockerApiServer } from './api/server';
import { registerSystemRoutes, type SystemCounts } from './api/routes/system';
import { EventBus } from './events';
import { NetworkManager } from '../network/manager';
import { registerNetworkRoutes } from './api/routes/networks';
import { ImageService, type ImageUser } from './images/service';
import { LayerStore } from './snapshot/layers';
import { OverlaySnapshotter } from './snapshot/overlay';
import { registerImageRoutes } from './api/routes/images';
import { RegistryClient, type RegistryClientOptions } from './registry/service';
import { ContainerManager } from './containers/manager';
import { ExecManager } from './containers/exec';
import { VolumeService } from './volumes/service';
import { registerContainerRoutes } from './api/routes/containers';
import { registerExecRoutes } from './api/routes/exec';
import { registerVolumeRoutes } from './api/routes/volumes';

export interface EngineOptions {
  dataDir: string;
  socketPath: string;
  /** Extra TCP listener on loopback, e.g. "127.0.0.1:2375". */
  tcp?: string;
  runtimePath: string;
  conmonPath: string;
  /** Where runtime state lives (runc --root, conmon sockets, netns): tmpfs in production. */
  runDir: string;
  /** Registry client options (default: from SKIFF_ALLOWED_REGISTRIES / SKIFF_INSECURE_REGISTRIES). */
  registry?: RegistryClientOptions;
}

export const DEFAULTS = {
  dataDir: '/var/lib/skiff',
  socketPath: '/run/skiff/docker.sock',
  runtimePath: '/usr/sbin/runc',
  conmonPath: '/usr/bin/conmon',
  runDir: '/run/skiff',
};

export class EngineDaemon {
  readonly events = new EventBus();
  readonly router = new Router();
  private readonly server = new DockerApiServer(this.router);
  private readonly closers: Array<() => Promise<void> | void> = [];
  /** The container manager (set by start()). */
  containers?: ContainerManager;

  constructor(readonly opts: EngineOptions) {}

  async start(): Promise<void> {
    const { dataDir } = this.opts;
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o711 });
    fs.mkdirSync(this.opts.runDir, { recursive: true, mode: 0o711 });

    const counts: SystemCounts = { containers: { total: 0, running: 0, paused: 0, stopped: 0 }, images: 0 };
    let countsSource = (): SystemCounts => counts;

    // --- images (src/engine/images, src/engine/snapshot) ---
    // Content in DATA_DIR/content, metadata in DATA_DIR/images, layers + writable layers in DATA_DIR/snapshots.
    // For the containers block: `images` (ImageLookup), `snapshotter` (Snapshotter); assign `imageUsers` so
    // that rmi refuses images in use and `docker images` counts containers.
    let imageUsers: (imageId: string) => ImageUser[] = () => [];
    const snapshotRoot = path.join(dataDir, 'snapshots');
    const layerStore = new LayerStore(snapshotRoot);
    const images: ImageService = new ImageService({
      dataDir,
      layers: layerStore,
      usersOf: (id) => imageUsers(id),
      layersInUse: () => snapshotter.layersInUse(),
      onEvent: (action, id, attributes) => void this.events.publish('image', action, id, attributes),
    });
    const snapshotter = new OverlaySnapshotter({ root: snapshotRoot, layersOf: (id) => images.layersOf(id) });
    await images.collectGarbage(); // what a crash left half-made (unreferenced blobs, layers)
    // Registry client (src/engine/registry): loopback registries always, others per SKIFF_ALLOWED_REGISTRIES.
    const registry = new RegistryClient(images, { ...RegistryClient.optionsFromEnv(), ...this.opts.registry });
    images.setPuller((ref, credentials) => registry.pullShared(ref, credentials));
    registerImageRoutes(this.router, { images, registry });
    countsSource = ((prev) => () => ({ ...prev(), images: images.count() }))(countsSource);
    // --- end images ---

    // --- containers, volumes (src/engine/runtime, src/engine/containers, src/engine/volumes) ---
    // runc state, bundles, conmon sockets and exit files under RUN_DIR; records, logs, volumes under DATA_DIR.
    // Networking plugs in with `containers.setNetworking(...)` (bridge sandboxes); without it: own empty netns.
    const publish = (type: 'container' | 'volume') => (action: string, id: string, attributes: Record<string, string>) =>
      void this.events.publish(type, action, id, attributes);
    const volumes: VolumeService = new VolumeService({ dataDir, usersOf: (name): string[] => containers.usersOfVolume(name), onEvent: publish('volume') });
    const containers: ContainerManager = new ContainerManager({
      dataDir,
      runDir: this.opts.runDir,
      runtimePath: this.opts.runtimePath,
      conmonPath: this.opts.conmonPath,
      images,
      snapshotter,
      volumes,
      onEvent: publish('container'),
    });
    const execs = new ExecManager(containers, { runDir: this.opts.runDir, conmonPath: this.opts.conmonPath, runtimePath: this.opts.runtimePath, onEvent: publish('container') });
    imageUsers = (id) => containers.usersOfImage(id).map((r) => ({ id: r.Id, running: r.State.Running }));
    registerContainerRoutes(this.router, { containers });
    registerExecRoutes(this.router, { execs });
    registerVolumeRoutes(this.router, { volumes, usersOf: (name) => containers.usersOfVolume(name) });
    // Loads records now (synchronously); adopts running containers and restarts always/unless-stopped ones
    // once networking is plugged in below (setNetworking), while the API already serves.
    void containers.recover().catch((err) => process.stderr.write(`skiff engine: container recovery: ${String(err)}\n`));
    this.closers.push(() => containers.close());
    this.containers = containers;
    countsSource = ((prev) => () => ({ ...prev(), containers: containers.counts() }))(countsSource);
    // --- end containers ---

    // --- networks (src/network) ---
    // Records and IP leases in DATA_DIR/network, namespaces in RUN_DIR/netns. Containers that no longer run give
    // their sandbox back (reconcile after a crash); running ones keep theirs and get their host ports again.
    const networks = await NetworkManager.open({ dataDir: path.join(dataDir, 'network'), runDir: this.opts.runDir, runner: containers.commandRunner() });
    containers.setNetworking(networks);
    await networks.reconcile(containers.list().filter((r) => r.State.Running).map((r) => r.Id));
    registerNetworkRoutes(this.router, {
      networks,
      containers: {
        resolve: (ref) => {
          const r = containers.get(ref);
          return { id: r.Id, name: r.Name.replace(/^\//, ''), running: r.State.Running };
        },
      },
      emit: (action, n, container) =>
        void this.events.publish('network', action, n.id, { name: n.name, type: n.type, ...(container ? { container } : {}) }),
    });
    this.closers.push(() => networks.close());
    // --- end networks ---

    registerSystemRoutes(this.router, {
      events: this.events,
      dataDir,
      runtimePath: this.opts.runtimePath,
      counts: () => countsSource(),
    });

    await this.server.listen({ socketPath: this.opts.socketPath, tcp: this.opts.tcp });
    this.closers.push(() => this.server.close());
    void path;
  }

  /** Stops serving. Containers keep running under conmon; a later start adopts them. */
  async stop(): Promise<void> {
    for (const close of this.closers.reverse()) await close();
  }
}
