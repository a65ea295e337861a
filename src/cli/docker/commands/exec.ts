/**
 * exec: `POST /containers/{id}/exec`, then `POST /exec/{id}/start` hijacked (JSON body + Upgrade: tcp), pump
 * the streams, and exit with `GET /exec/{id}/json`'s ExitCode (docker's interactiveExec).
 */
import fs from 'node:fs';
import type { Command } from '../command';
import { enc } from '../command';
import { expandEnv, parseEnvFileText } from '../container-opts';
import { monitorTtySize, pumpHijacked, withRawTerminal } from '../streams';

const exec: Command = {
  spec: {
    usage: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]',
    description: 'Execute a command in a running container',
    interspersed: false,
    minArgs: 2,
    flags: [
      { name: 'detach', short: 'd', kind: 'bool', help: 'Detached mode: run command in the background' },
      { name: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
      { name: 'env', short: 'e', kind: 'list', help: 'Set environment variables' },
      { name: 'env-file', kind: 'list', help: 'Read in a file of environment variables' },
      { name: 'interactive', short: 'i', kind: 'bool', help: 'Keep STDIN open even if not attached' },
      { name: 'privileged', kind: 'bool', help: 'Give extended privileges to the command' },
      { name: 'tty', short: 't', kind: 'bool', help: 'Allocate a pseudo-TTY' },
      { name: 'user', short: 'u', kind: 'string', help: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
      { name: 'workdir', short: 'w', kind: 'string', help: 'Working directory inside the container' },
    ],
  },
  async run(ctx) {
    const [container, ...cmd] = ctx.args;
    const client = ctx.client;
    const env: string[] = [];
    for (const f of ctx.v['env-file'] as string[]) env.push(...parseEnvFileText(fs.readFileSync(f, 'utf8'), process.env));
    for (const e of ctx.v.env as string[]) env.push(expandEnv(e, process.env));
    const tty = Boolean(ctx.v.tty);
    const interactive = Boolean(ctx.v.interactive);
    const detach = Boolean(ctx.v.detach);
    const created = await client.json<{ Id: string }>('POST', `/containers/${enc(container)}/exec`, {
      body: {
        User: ctx.v.user ?? '',
        Privileged: Boolean(ctx.v.privileged),
        Tty: tty,
        AttachStdin: interactive && !detach,
        AttachStdout: !detach,
        AttachStderr: !detach,
        Detach: detach,
        DetachKeys: ctx.v['detach-keys'] ?? '',
        Env: env.length ? env : null,
        WorkingDir: ctx.v.workdir ?? '',
        Cmd: cmd,
      },
    });
    const id = created.Id;
    if (detach) {
      (await client.request('POST', `/exec/${enc(id)}/start`, { body: { Detach: true, Tty: tty } })).resume();
      return 0;
    }
    const out = process.stdout as NodeJS.WriteStream;
    const consoleSize = tty && out.isTTY ? [out.rows, out.columns] : undefined;
    const conn = await client.hijack('POST', `/exec/${enc(id)}/start`, { body: { Detach: false, Tty: tty, ConsoleSize: consoleSize } });
    await withRawTerminal(tty && interactive, async () => {
      const stopResize = tty ? monitorTtySize(client, `/exec/${enc(id)}/resize`) : () => undefined;
      try {
        // A reader that went away ends our side of the session; the exec'd process sees EPIPE on its next write.
        await pumpHijacked({ socket: conn.socket, head: conn.head, tty, stdin: interactive ? process.stdin : null, stdout: process.stdout, stderr: process.stderr, onBrokenPipe: () => conn.socket.destroy() });
      } finally {
        stopResize();
      }
    });
    // The exit code is final once the stream has closed; poll briefly in case the engine records it a moment later.
    for (let i = 0; ; i++) {
      const st = await client.json<{ Running?: boolean; ExitCode: number | null }>('GET', `/exec/${enc(id)}/json`);
      if (!st.Running || i >= 50) return st.ExitCode ?? 0;
      await new Promise((r) => setTimeout(r, 20));
    }
  },
};

export const commands: Record<string, Command> = { exec };
