/**
 * `skiff server`: the control plane (Kubernetes API over the store) and, unless disabled, a node agent
 * (the agent arrives with the workloads issue; --disable-agent is accepted now).
 *
 *   skiff server --data-dir DIR [--listen-port 6443] [--bind-address 0.0.0.0] [--write-kubeconfig PATH]
 *                [--datastore-endpoint URL] [--insecure-port N] [--disable-agent]
 *                [--service-cidr 10.43.0.0/16] [--service-node-port-range 30000-32767]
 */
import fs from 'node:fs';
import path from 'node:path';
import { invalid } from '../common/errors';

export interface ServerFlags {
  dataDir: string;
  listenPort: number;
  bindAddress: string;
  writeKubeconfig?: string;
  datastoreEndpoint?: string;
  insecurePort?: number;
  disableAgent: boolean;
  /** ClusterIP range and NodePort range (src/apiserver/allocators). */
  serviceCidr?: string;
  serviceNodePortRange?: string;
}

/** Pure: argv → flags (accepts `--flag value` and `--flag=value`). */
export function parseServerFlags(argv: string[]): ServerFlags {
  const f: ServerFlags = { dataDir: '/var/lib/skiff/server', listenPort: 6443, bindAddress: '0.0.0.0', disableAgent: false };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) (v = a.slice(eq + 1)), (a = a.slice(0, eq));
    const val = () => {
      if (v !== undefined) return v;
      const n = argv[++i];
      if (n === undefined) throw invalid(`flag needs an argument: ${a}`);
      return n;
    };
    const port = (s: string) => {
      const p = Number(s);
      if (!Number.isInteger(p) || p < 0 || p > 65535) throw invalid(`invalid port "${s}" for ${a}`);
      return p;
    };
    switch (a) {
      case '--data-dir':
      case '-d':
        f.dataDir = path.resolve(val());
        break;
      case '--listen-port':
      case '--https-listen-port':
        f.listenPort = port(val());
        break;
      case '--bind-address':
        f.bindAddress = val();
        break;
      case '--write-kubeconfig':
      case '-o':
        f.writeKubeconfig = path.resolve(val());
        break;
      case '--datastore-endpoint':
        f.datastoreEndpoint = val();
        break;
      case '--insecure-port':
        f.insecurePort = port(val());
        break;
      case '--service-cidr':
        f.serviceCidr = val();
        break;
      case '--service-node-port-range':
        f.serviceNodePortRange = val();
        break;
      case '--disable-agent':
        f.disableAgent = v === undefined || v !== 'false';
        break;
      default:
        throw invalid(`unknown flag: ${a}`);
    }
  }
  return f;
}

const SERVER_USAGE = `Usage: skiff server [flags]

Runs the control plane (Kubernetes API over the store, scheduler, controllers) and, unless --disable-agent,
a node: the container engine (Docker Engine API on --socket) and the node agent.

Control plane:
  --data-dir DIR                 state, PKI, kubeconfig (default /var/lib/skiff/server)
  --listen-port N                HTTPS port of the Kubernetes API (default 6443)
  --bind-address IP              address to listen on (default 0.0.0.0)
  --insecure-port N              also serve plain HTTP on 127.0.0.1:N (loopback only)
  --write-kubeconfig PATH        admin kubeconfig (default DATA_DIR/kubeconfig.yaml)
  --datastore-endpoint URL       sqlite://PATH (default: embedded SQLite) or http://host:2379[,...] for etcd
  --service-cidr CIDR            virtual IPs of Services (default 10.43.0.0/16)
  --service-node-port-range A-B  NodePort range (default 30000-32767)
Node:
  --disable-agent                control plane only (no engine, agent, scheduler or controllers)
  --socket PATH                  the engine's Docker Engine API socket (default /run/skiff/docker.sock,
                                 or RUN_DIR/docker.sock when --run-dir is given)
  --run-dir DIR                  runtime state: runc root, netns, conmon sockets (default /run/skiff for the
                                 default data dir, else /run/skiff-<hash of the data dir>)
  --engine-data-dir DIR          images, containers, volumes (default DATA_DIR/engine)
  --node-name NAME               the Node's name (default: host name)
  --pod-subnet CIDR              pod addresses on this node
  --disable-scheduler, --disable-controller-manager
`;

export async function runServer(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(SERVER_USAGE);
    return 0;
  }
  // --- node (src/cmd/node.ts, node-agent engineer): engine + agent flags are taken out first ---
  const nodeMod = await import('./node');
  const { node: nodeFlags, rest } = nodeMod.takeNodeFlags(argv);
  const slot = new nodeMod.ConnectorSlot();
  // --- end node ---
  const flags = parseServerFlags(rest);
  fs.mkdirSync(flags.dataDir, { recursive: true });
  const [{ openStore }, { startApiServer }, { loadOrCreateCredentials, kubeconfigYaml }, wiring] = await Promise.all([
    import('../store/index'),
    import('../apiserver/server'),
    import('../apiserver/pki'),
    import('../apiserver/wiring'),
  ]);
  const creds = loadOrCreateCredentials(flags.dataDir);
  // The node's in-process clients (scheduler, controllers, agent, proxy) talk plain HTTP over a root-only
  // unix socket in the run dir: TLS on loopback cost every request and watch event an encryption and a
  // decryption. Skipped when the path would not fit a sockaddr_un (they then use the HTTPS port).
  const apiSocket = flags.disableAgent ? undefined : path.join(path.resolve(nodeFlags.runDir ?? nodeMod.defaultRunDir(flags.dataDir)), 'apiserver.sock');
  const unixSocket = apiSocket && Buffer.byteLength(apiSocket) < 100 ? apiSocket : undefined;
  const store = await openStore({ dataDir: flags.dataDir, endpoint: flags.datastoreEndpoint });
  const server = await startApiServer({
    store,
    resources: flags.disableAgent ? wiring.resources() : [...wiring.resources(), ...nodeMod.METRICS_RESOURCES],
    patcher: wiring.patcher(),
    openapi: wiring.openapi(),
    tokens: () => [creds.adminToken],
    tls: { cert: creds.serverCert, key: creds.serverKey, port: flags.listenPort, host: flags.bindAddress },
    insecurePort: flags.insecurePort,
    unixSocket,
    nodeConnector: flags.disableAgent ? undefined : slot,
    extensions: wiring.extensions({
      serviceNetwork: {
        serviceCIDR: flags.serviceCidr,
        nodePortRange: flags.serviceNodePortRange,
        apiServer: { bindAddress: flags.bindAddress, port: flags.listenPort },
        log: (m) => process.stderr.write(`skiff server: ${m}\n`),
      },
    }),
    // Idle time between watch bookmarks (upstream: about a minute); tests shorten it.
    bookmarkIntervalMs: Number(process.env.SKIFF_WATCH_BOOKMARK_MS) || undefined,
  });
  const kcPath = flags.writeKubeconfig ?? path.join(flags.dataDir, 'kubeconfig.yaml');
  const kc = kubeconfigYaml(`https://127.0.0.1:${server.securePort}`, creds.caCert, creds.adminToken);
  fs.mkdirSync(path.dirname(kcPath), { recursive: true });
  fs.writeFileSync(kcPath + '.tmp', kc, { mode: 0o600 });
  fs.renameSync(kcPath + '.tmp', kcPath);
  process.stderr.write(
    `skiff server: Kubernetes API listening on https://${flags.bindAddress}:${server.securePort}` +
      (server.insecurePort !== undefined ? ` and http://127.0.0.1:${server.insecurePort}` : '') +
      `\nskiff server: wrote admin kubeconfig to ${kcPath}\n` +
      '',
  );
  // --- node: engine, agent, scheduler, controllers (src/cmd/node.ts) ---
  const node = flags.disableAgent ? undefined : await nodeMod.startNode({ dataDir: flags.dataDir, kubeconfig: kcPath, apiSocket: server.unixSocket, flags: nodeFlags, slot, serviceCIDR: flags.serviceCidr });
  // --- end node ---
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // A store flushing a large WAL must not keep a stopped server around forever.
    setTimeout(() => process.exit(0), 15_000).unref();
    await node?.stop().catch(() => undefined);
    await server.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  return -1;
}
