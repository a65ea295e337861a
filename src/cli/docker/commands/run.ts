/**
 * run, create, start, attach — the attached flow is docker's (cli/command/container/run.go):
 * create (pulling on "No such image"), hijack `POST /attach` (101 + stdcopy), `POST /wait?condition=
 * next-exit|removed` BEFORE start so the exit cannot be missed, start, pump the streams, exit with the
 * container's status. Errors before the container runs exit 125 (126/127 for exec failures) like docker.
 */
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Command, Ctx } from '../command';
import { CliError, enc, errorLine } from '../command';
import { readBody, type EngineClient } from '../client';
import { buildCreateRequest, CONTAINER_FLAGS, RUN_ONLY_FLAGS } from '../container-opts';
import { monitorTtySize, proxySignals, pumpHijacked, withRawTerminal } from '../streams';
import { pullImage, splitRef } from './pull';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** docker's toStatusError: the message with the run hint, and 125/126/127 by what failed. */
function runError(e: unknown, verb = 'run'): CliError {
  const msg = errorLine(e);
  let code = 125;
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(msg)) code = 127;
  else if (/permission denied|is a directory/.test(msg)) code = 126;
  return new CliError(`skiff: ${msg}\n\nRun 'skiff ${verb} --help' for more information`, code);
}

/** POST /containers/create, pulling the image first when the daemon doesn't have it (per --pull). */
async function createContainer(ctx: Ctx, verb: string): Promise<{ id: string; body: Json }> {
  let req;
  try {
    req = buildCreateRequest({
      values: ctx.v,
      changed: ctx.flags.changed,
      args: ctx.args,
      env: process.env,
      cwd: process.cwd(),
      readFile: (p) => fs.readFileSync(p, 'utf8'),
      detach: verb === 'run' ? Boolean(ctx.v.detach) : true,
    });
  } catch (e) {
    throw runError(e, verb);
  }
  if (verb === 'create') {
    // create attaches nothing itself; `start -a` decides later. docker keeps the stdout/stderr defaults.
    req.body.AttachStdout = true;
    req.body.AttachStderr = true;
    req.body.AttachStdin = Boolean(ctx.v.interactive);
    req.body.StdinOnce = Boolean(ctx.v.interactive);
  }
  if (ctx.v.cidfile && fs.existsSync(ctx.v.cidfile)) {
    throw runError(new Error(`container ID file found, make sure the other container isn't running or delete ${ctx.v.cidfile}`), verb);
  }
  const image = String(req.body.Image);
  const pull = String(ctx.v.pull ?? 'missing');
  if (!['always', 'missing', 'never'].includes(pull)) throw runError(new Error(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`), verb);
  const quiet = Boolean(ctx.v.quiet);
  const create = () =>
    ctx.client.json<{ Id: string; Warnings?: string[] | null }>('POST', '/containers/create', {
      query: { name: req.name, platform: req.platform },
      body: req.body,
    });
  try {
    if (pull === 'always') await pullImage(ctx, image, quiet);
    let res;
    try {
      res = await create();
    } catch (e) {
      const notFound = (e as { status?: number }).status === 404 && /No such image/i.test((e as Error).message);
      if (!notFound || pull === 'never') throw e;
      const { name, tag } = splitRef(image);
      ctx.err(`Unable to find image '${name}:${tag ?? 'latest'}' locally\n`);
      await pullImage(ctx, image, quiet);
      res = await create();
    }
    for (const w of res.Warnings ?? []) ctx.err(`WARNING: ${w}\n`);
    if (ctx.v.cidfile) fs.writeFileSync(ctx.v.cidfile, res.Id);
    return { id: res.Id, body: req.body };
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw runError(e, verb);
  }
}

/** Sends `POST /wait` and resolves once its headers arrive (the daemon is then watching); `.status` yields the code. */
async function startWait(client: EngineClient, id: string, condition: string): Promise<{ status: Promise<number> }> {
  const res: IncomingMessage = await client.request('POST', `/containers/${enc(id)}/wait`, { query: { condition } });
  const status = readBody(res).then((b) => {
    const j = JSON.parse(b.toString() || '{}') as { StatusCode?: number; Error?: { Message?: string } | null };
    if (j.Error?.Message) throw new CliError(`skiff: Error response from daemon: ${j.Error.Message}`, 125);
    return j.StatusCode ?? 0;
  });
  status.catch(() => undefined); // observed later
  return { status };
}

interface AttachPlan {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

async function hijackAttach(client: EngineClient, id: string, p: AttachPlan) {
  return client.hijack('POST', `/containers/${enc(id)}/attach`, {
    query: { stream: true, stdin: p.stdin || undefined, stdout: p.stdout || undefined, stderr: p.stderr || undefined },
  });
}

/** Attach → wait → start → pump → status: shared by `run` and `start -a`. */
async function attachStartWait(ctx: Ctx, id: string, p: AttachPlan, autoRemove: boolean, verb: string, sigProxy: boolean): Promise<number> {
  const client = ctx.client;
  const [conn, wait] = await Promise.all([
    hijackAttach(client, id, p),
    startWait(client, id, autoRemove ? 'removed' : 'next-exit'),
  ]);
  return withRawTerminal(p.tty && p.stdin, async () => {
    const pump = pumpHijacked({
      socket: conn.socket,
      head: conn.head,
      tty: p.tty,
      stdin: p.stdin ? process.stdin : null,
      stdout: process.stdout,
      stderr: process.stderr,
      // Like docker's signal proxy forwarding the SIGPIPE it receives: the container gets it and ends.
      onBrokenPipe: () => void client.request('POST', `/containers/${enc(id)}/kill`, { query: { signal: 'PIPE' } }).then((r) => r.resume(), () => undefined),
    });
    pump.catch(() => undefined);
    try {
      const r = await client.request('POST', `/containers/${enc(id)}/start`);
      r.resume();
    } catch (e) {
      conn.socket.destroy();
      if (autoRemove) await wait.status.catch(() => undefined);
      throw verb === 'run' ? runError(e, verb) : e;
    }
    const stopResize = p.tty ? monitorTtySize(client, `/containers/${enc(id)}/resize`) : () => undefined;
    const stopSignals = sigProxy && !p.tty ? proxySignals(client, id) : () => undefined;
    try {
      await pump;
      return await wait.status;
    } finally {
      stopResize();
      stopSignals();
    }
  });
}

const run: Command = {
  spec: {
    usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]',
    description: 'Create and run a new container from an image',
    interspersed: false,
    minArgs: 1,
    flags: [...CONTAINER_FLAGS, ...RUN_ONLY_FLAGS].sort((a, b) => a.name.localeCompare(b.name)),
  },
  async run(ctx) {
    const { id, body } = await createContainer(ctx, 'run');
    const detached = !body.AttachStdout && !body.AttachStderr && !body.AttachStdin;
    if (detached) {
      ctx.out(id + '\n');
      try {
        (await ctx.client.request('POST', `/containers/${enc(id)}/start`)).resume();
      } catch (e) {
        throw runError(e);
      }
      return 0;
    }
    const plan: AttachPlan = { stdin: Boolean(body.AttachStdin), stdout: Boolean(body.AttachStdout), stderr: Boolean(body.AttachStderr), tty: Boolean(body.Tty) };
    return attachStartWait(ctx, id, plan, Boolean((body.HostConfig as Json).AutoRemove), 'run', ctx.v['sig-proxy'] !== false);
  },
};

const create: Command = {
  spec: {
    usage: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]',
    description: 'Create a new container',
    interspersed: false,
    minArgs: 1,
    flags: CONTAINER_FLAGS,
  },
  async run(ctx) {
    const { id } = await createContainer(ctx, 'create');
    ctx.out(id + '\n');
    return 0;
  },
};

const start: Command = {
  spec: {
    usage: 'start [OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Start one or more stopped containers',
    minArgs: 1,
    flags: [
      { name: 'attach', short: 'a', kind: 'bool', help: 'Attach STDOUT/STDERR and forward signals' },
      { name: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
      { name: 'interactive', short: 'i', kind: 'bool', help: "Attach container's STDIN" },
    ],
  },
  async run(ctx) {
    if (ctx.v.attach || ctx.v.interactive) {
      if (ctx.args.length > 1) throw new CliError('you cannot start and attach multiple containers at once');
      const c = await ctx.client.json<Json>('GET', `/containers/${enc(ctx.args[0])}/json`);
      if (c.State?.Running) throw new CliError(`cannot start and attach container ${ctx.args[0]}: container is already running`);
      const plan: AttachPlan = { stdin: Boolean(ctx.v.interactive && c.Config?.OpenStdin), stdout: true, stderr: true, tty: Boolean(c.Config?.Tty) };
      return attachStartWait(ctx, c.Id, plan, Boolean(c.HostConfig?.AutoRemove), 'start', true);
    }
    const failed: string[] = [];
    for (const name of ctx.args) {
      try {
        (await ctx.client.request('POST', `/containers/${enc(name)}/start`)).resume();
        ctx.out(name + '\n');
      } catch (e) {
        failed.push(name);
        ctx.err(errorLine(e) + '\n');
      }
    }
    if (failed.length) throw new CliError(`Error: failed to start containers: ${failed.join(', ')}`);
    return 0;
  },
};

const attach: Command = {
  spec: {
    usage: 'attach [OPTIONS] CONTAINER',
    description: "Attach local standard input, output, and error streams to a running container",
    minArgs: 1,
    maxArgs: 1,
    flags: [
      { name: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
      { name: 'no-stdin', kind: 'bool', help: 'Do not attach STDIN' },
      { name: 'sig-proxy', kind: 'bool', help: 'Proxy all received signals to the process', default: true },
    ],
  },
  async run(ctx) {
    const client = ctx.client;
    const c = await client.json<Json>('GET', `/containers/${enc(ctx.args[0])}/json`);
    if (!c.State?.Running) throw new CliError('You cannot attach to a stopped container, start it first');
    if (c.State?.Paused) throw new CliError('You cannot attach to a paused container, unpause it first');
    const tty = Boolean(c.Config?.Tty);
    const stdin = !ctx.v['no-stdin'] && Boolean(c.Config?.OpenStdin);
    const wait = await startWait(client, c.Id, 'not-running');
    const conn = await hijackAttach(client, c.Id, { stdin, stdout: true, stderr: true, tty });
    return withRawTerminal(tty && stdin, async () => {
      const stopResize = tty ? monitorTtySize(client, `/containers/${enc(c.Id)}/resize`) : () => undefined;
      const stopSignals = ctx.v['sig-proxy'] && !tty ? proxySignals(client, c.Id) : () => undefined;
      try {
        await pumpHijacked({ socket: conn.socket, head: conn.head, tty, stdin: stdin ? process.stdin : null, stdout: process.stdout, stderr: process.stderr });
        return await wait.status;
      } finally {
        stopResize();
        stopSignals();
      }
    });
  },
};

export const commands: Record<string, Command> = { run, create, start, attach };
