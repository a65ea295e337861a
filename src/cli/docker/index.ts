/**
 * Docker-like client verbs over the Docker Engine API: `skiff ps` behaves like `docker ps` against the same
 * engine. Each verb's module is loaded on demand so a call pays only for its own code (start-up matters for
 * a CLI); nothing here imports a general CLI library.
 *
 * The engine is found like docker finds its daemon: -H/--host, then $DOCKER_HOST, then skiff's default
 * unix:///run/skiff/docker.sock (where `skiff engine` listens by default).
 */
import { parseFlags, usageErrorText, helpText, UsageError } from './flags';
import type { Command, Ctx } from './command';
import type { EngineClient } from './client';

type Loader = () => Promise<Record<string, Command>>;

const system: Loader = async () => (await import('./commands/system')).commands;
const run: Loader = async () => (await import('./commands/run')).commands;
const lifecycle: Loader = async () => (await import('./commands/lifecycle')).commands;
const ps: Loader = async () => (await import('./commands/ps')).commands;
const logs: Loader = async () => (await import('./commands/logs')).commands;
const exec: Loader = async () => (await import('./commands/exec')).commands;
const inspect: Loader = async () => (await import('./commands/inspect')).commands;
const images: Loader = async () => (await import('./commands/images')).commands;
const volume: Loader = async () => (await import('./commands/volume')).commands;
const network: Loader = async () => (await import('./commands/network')).commands;
const stats: Loader = async () => (await import('./commands/stats')).commands;
const pullPush: Loader = async () => (await import('./pull-push')).commands;

/** Top-level verb → [module, command name in it]. */
const TOP: Record<string, [Loader, string]> = {
  version: [system, 'version'],
  info: [system, 'info'],
  events: [system, 'events'],
  run: [run, 'run'],
  create: [run, 'create'],
  start: [run, 'start'],
  attach: [run, 'attach'],
  stop: [lifecycle, 'stop'],
  kill: [lifecycle, 'kill'],
  restart: [lifecycle, 'restart'],
  rm: [lifecycle, 'rm'],
  pause: [lifecycle, 'pause'],
  unpause: [lifecycle, 'unpause'],
  wait: [lifecycle, 'wait'],
  rename: [lifecycle, 'rename'],
  port: [lifecycle, 'port'],
  top: [lifecycle, 'top'],
  ps: [ps, 'ps'],
  logs: [logs, 'logs'],
  exec: [exec, 'exec'],
  inspect: [inspect, 'inspect'],
  stats: [stats, 'stats'],
  images: [images, 'images'],
  rmi: [images, 'rmi'],
  tag: [images, 'tag'],
  history: [images, 'history'],
  import: [images, 'import'],
  save: [images, 'save'],
  load: [images, 'load'],
  pull: [pullPush, 'pull'],
  push: [pullPush, 'push'],
  build: [images, 'build'],
};

/** Management groups (`docker container ls`, `docker image rm`...): sub-verb → [module, command]. */
const GROUPS: Record<string, Record<string, [Loader, string]>> = {
  container: {
    ls: [ps, 'ps'], list: [ps, 'ps'], ps: [ps, 'ps'],
    run: TOP.run, create: TOP.create, start: TOP.start, attach: TOP.attach, stop: TOP.stop, kill: TOP.kill,
    restart: TOP.restart, rm: TOP.rm, remove: TOP.rm, pause: TOP.pause, unpause: TOP.unpause, wait: TOP.wait,
    rename: TOP.rename, port: TOP.port, top: TOP.top, logs: TOP.logs, exec: TOP.exec, stats: TOP.stats,
    inspect: [inspect, 'container inspect'], prune: [lifecycle, 'container prune'],
  },
  image: {
    ls: TOP.images, list: TOP.images, rm: TOP.rmi, remove: TOP.rmi, tag: TOP.tag, history: TOP.history,
    import: TOP.import, save: TOP.save, load: TOP.load, pull: TOP.pull, push: TOP.push, build: TOP.build,
    inspect: [inspect, 'image inspect'], prune: [images, 'image prune'],
  },
  system: { info: TOP.info, events: TOP.events, df: [system, 'system df'] },
  volume: {
    create: [volume, 'volume create'], ls: [volume, 'volume ls'], list: [volume, 'volume ls'],
    inspect: [inspect, 'volume inspect'], rm: [volume, 'volume rm'], remove: [volume, 'volume rm'],
    prune: [volume, 'volume prune'],
  },
  network: {
    create: [network, 'network create'], ls: [network, 'network ls'], list: [network, 'network ls'],
    inspect: [inspect, 'network inspect'], rm: [network, 'network rm'], remove: [network, 'network rm'],
    connect: [network, 'network connect'], disconnect: [network, 'network disconnect'], prune: [network, 'network prune'],
  },
};

function groupUsage(group: string): string {
  const subs = Object.keys(GROUPS[group]);
  return `\nUsage:  skiff ${group} COMMAND\n\nManage ${group}s\n\nCommands:\n${subs.map((s) => `  ${s}`).join('\n')}\n\nRun 'skiff ${group} COMMAND --help' for more information on a command.\n`;
}

export async function runDockerVerb(verb: string, argv: string[]): Promise<number> {
  let entry = TOP[verb];
  let rest = argv;
  if (!entry && GROUPS[verb]) {
    const sub = argv[0];
    if (!sub || sub === '--help' || sub === '-h') {
      process.stdout.write(groupUsage(verb));
      return 0;
    }
    entry = GROUPS[verb][sub];
    if (!entry) {
      process.stderr.write(`skiff: unknown command: skiff ${verb} ${sub}\n\nRun 'skiff ${verb} --help' for more information\n`);
      return 1;
    }
    rest = argv.slice(1);
  }
  if (!entry) {
    process.stderr.write(`skiff: '${verb}' is not a skiff command.\nSee 'skiff --help'\n`);
    return 1;
  }
  const cmd = (await entry[0]())[entry[1]];
  if (!cmd) {
    process.stderr.write(`skiff ${verb}: not supported by this client yet\n`);
    return 1;
  }
  return execute(cmd, rest);
}

/** Parses flags, builds the context, runs, and renders errors the docker way. Exported for tests. */
export async function execute(cmd: Command, argv: string[]): Promise<number> {
  let flags;
  try {
    flags = parseFlags(cmd.spec, argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(usageErrorText(cmd.spec, e));
      return e.exitCode;
    }
    throw e;
  }
  if (flags.help) {
    process.stdout.write(helpText(cmd.spec));
    return 0;
  }
  // A closed reader (`skiff ps | head -1`): Go's docker dies of SIGPIPE quietly; do the same unless a verb
  // handles it itself (run/attach/exec hand the SIGPIPE to the container).
  const onStdoutError = (e: NodeJS.ErrnoException) => {
    if (process.stdout.listenerCount('error') > 1) return;
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  };
  process.stdout.on('error', onStdoutError);
  let client: EngineClient | undefined;
  const ctx: Ctx = {
    get client() {
      if (!client) {
        // Loaded lazily: node:http is the heaviest thing a verb needs.
        const { EngineClient: C, resolveHost } = require('./client') as typeof import('./client');
        client = new C(resolveHost(flags.values.host as string | undefined));
      }
      return client;
    },
    flags,
    v: flags.values as Record<string, any>, // eslint-disable-line @typescript-eslint/no-explicit-any
    args: flags.args,
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
  };
  try {
    return await cmd.run(ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(usageErrorText(cmd.spec, e));
      return e.exitCode;
    }
    const { errorLine } = await import('./command');
    process.stderr.write(errorLine(e) + '\n');
    return (e as { exitCode?: number }).exitCode ?? 1;
  } finally {
    client?.close();
  }
}
