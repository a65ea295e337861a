/** `skiff engine`: the container engine in the foreground, serving the Docker Engine API on a unix socket. */
import { parseArgs } from 'node:util';
import path from 'node:path';

export async function runEngine(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      socket: { type: 'string' },
      host: { type: 'string' },
      runtime: { type: 'string' },
      conmon: { type: 'string' },
      'run-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`Usage: skiff engine [--data-dir DIR] [--socket PATH] [--host 127.0.0.1:PORT] [--runtime PATH] [--conmon PATH] [--run-dir DIR]\n`);
    return 0;
  }
  const { EngineDaemon, DEFAULTS } = await import('../engine/daemon');
  const dataDir = path.resolve(values['data-dir'] ?? process.env.SKIFF_DATA_DIR ?? DEFAULTS.dataDir);
  const daemon = new EngineDaemon({
    dataDir,
    socketPath: path.resolve(values.socket ?? DEFAULTS.socketPath),
    tcp: values.host,
    runtimePath: values.runtime ?? DEFAULTS.runtimePath,
    conmonPath: values.conmon ?? DEFAULTS.conmonPath,
    runDir: path.resolve(values['run-dir'] ?? DEFAULTS.runDir),
  });
  await daemon.start();
  process.stderr.write(`skiff engine: serving the Docker Engine API on unix://${daemon.opts.socketPath} (data ${dataDir})\n`);
  const shutdown = async () => {
    await daemon.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  return -1; // keep running
}
