/**
 * The one binary. Roles (engine, server, agent) run long-lived components; client verbs talk to the
 * Docker Engine API (container verbs) or the Kubernetes API (cluster verbs) like `docker` and `kubectl` do.
 *
 * Modules are loaded lazily so a client verb pays only for what it uses (CLI start-up matters).
 */

type Entry = (argv: string[]) => Promise<number>;

/** Container verbs: thin client of the Docker Engine API (src/cli/docker). */
const DOCKER_VERBS = new Set([
  'run', 'create', 'start', 'stop', 'kill', 'restart', 'pause', 'unpause', 'rm', 'wait', 'inspect', 'ps',
  'rename', 'logs', 'attach', 'exec', 'stats', 'top', 'port', 'events', 'version', 'info',
  'images', 'image', 'rmi', 'tag', 'history', 'import', 'save', 'load', 'pull', 'push', 'build',
  'volume', 'network', 'container', 'system',
]);

/** Cluster verbs: thin client of the Kubernetes API (src/cli/kube), plus Swarm-style `service`. */
const KUBE_VERBS = new Set(['apply', 'get', 'describe', 'delete', 'scale', 'service', 'node', 'rollout']);

const ROLES: Record<string, () => Promise<Entry>> = {
  engine: async () => (await import('./engine')).runEngine,
  server: async () => (await import('./server')).runServer,
};

const USAGE = `Usage: skiff COMMAND [ARGS...]

Roles:
  engine      Run the container engine (Docker Engine API on a unix socket)
  server      Run the control plane (Kubernetes API) and, by default, a node agent

Container commands (Docker Engine API; DOCKER_HOST or --host):
  ${[...DOCKER_VERBS].join(', ')}

Cluster commands (Kubernetes API; KUBECONFIG or --kubeconfig):
  ${[...KUBE_VERBS].join(', ')}
`;

export async function main(argv: string[]): Promise<void> {
  argv = takeLeadingHost(argv);
  const [verb, ...rest] = argv;
  let code: number;
  try {
    if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
      process.stdout.write(USAGE);
      code = verb ? 0 : 1;
    } else if (ROLES[verb]) {
      code = await (await ROLES[verb]())(rest);
    } else if (DOCKER_VERBS.has(verb)) {
      code = await (await import('../cli/docker')).runDockerVerb(verb, rest);
    } else if (KUBE_VERBS.has(verb)) {
      code = await (await import('../cli/kube')).runKubeVerb(verb, rest);
    } else {
      process.stderr.write(`skiff: '${verb}' is not a skiff command.\nSee 'skiff --help'\n`);
      code = 1;
    }
  } catch (err) {
    process.stderr.write(`skiff: ${err instanceof Error ? err.message : String(err)}\n`);
    code = 1;
  }
  if (code !== -1) process.exitCode = code; // -1: a long-running role manages its own exit
}

/** `skiff -H unix:///x.sock ps` as docker allows: a leading -H/--host becomes DOCKER_HOST for the verb. */
function takeLeadingHost(argv: string[]): string[] {
  const [first, second] = argv;
  if ((first === '-H' || first === '--host') && second !== undefined) {
    process.env.DOCKER_HOST = second;
    return argv.slice(2);
  }
  const m = /^(?:-H|--host)=(.+)$/.exec(first ?? '');
  if (m) {
    process.env.DOCKER_HOST = m[1];
    return argv.slice(1);
  }
  return argv;
}
