/**
 * Docker Engine API routes for exec: create, start (hijacked; its JSON body arrives after the headers, in
 * `head` or on the socket, so we read Content-Length bytes ourselves), inspect, resize.
 */
import type { Duplex } from 'node:stream';
import type { Router } from '../router';
import { readJson, sendJson } from '../http';
import { frame, writeUpgraded } from '../server';
import { invalid } from '../../../common/errors';
import type { ExecConfig, ExecManager } from '../../containers/exec';
import type { LogEntry } from '../../containers/logs';

interface StartBody {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

export function registerExecRoutes(router: Router, deps: { execs: ExecManager }): void {
  const execs = deps.execs;

  router.post('/containers/{id}/exec', async ({ req, res, params }) => {
    const body = await readJson<ExecConfig>(req);
    sendJson(res, 201, { Id: execs.create(params.id, body) });
  });

  router.get('/exec/{id}/json', ({ res, params }) => {
    sendJson(res, 200, execs.inspect(params.id));
  });

  router.post('/exec/{id}/resize', ({ res, params, query }) => {
    execs.resize(params.id, Number(query.get('h') ?? 0), Number(query.get('w') ?? 0));
    sendJson(res, 200, {});
  });

  // Detached start (`docker exec -d`) is an ordinary request.
  router.post('/exec/{id}/start', async ({ req, res, params }) => {
    const body = await readJson<StartBody>(req, {});
    const s = execs.get(params.id);
    if (body.ConsoleSize) s.config.ConsoleSize = body.ConsoleSize;
    await execs.start(params.id, { detach: true, tty: body.Tty }, () => undefined);
    if (body.Detach) return sendJson(res, 200, {});
    sendJson(res, 200, {});
  });

  router.hijack('POST', '/exec/{id}/start', async ({ req, socket, head, params }) => {
    const { body, rest } = await readHijackBody(req.headers['content-length'], socket, head);
    let start: StartBody = {};
    if (body.length) {
      try {
        start = JSON.parse(body.toString('utf8')) as StartBody;
      } catch {
        throw invalid('invalid JSON in exec start body');
      }
    }
    const s = execs.get(params.id);
    if (start.ConsoleSize) s.config.ConsoleSize = start.ConsoleSize;
    const tty = start.Tty ?? !!s.config.Tty;
    let upgraded = false;
    const pending: LogEntry[] = [];
    const write = (e: LogEntry) => {
      if (!upgraded) return void pending.push(e);
      if (!socket.writable) return;
      if ((e.stream === 'stdout' && s.config.AttachStdout === false) || (e.stream === 'stderr' && s.config.AttachStderr === false)) return;
      socket.write(tty ? e.data : frame(e.stream === 'stdout' ? 1 : 2, e.data));
    };
    const { done, input, resume } = await execs.start(
      params.id,
      { detach: !!start.Detach, tty, blocked: () => socket.writableLength > 4 * 1024 * 1024 },
      write,
    );
    socket.on('drain', resume);
    writeUpgraded(socket, tty);
    upgraded = true;
    pending.splice(0).forEach(write);
    if (input) {
      if (rest.length) input.write(rest);
      socket.on('data', (d: Buffer) => input.write(d));
      socket.on('end', () => input.end());
      socket.on('close', () => input.close());
    }
    // readHijackBody may have paused the socket explicitly (when the JSON body came in its own packet); a
    // 'data' listener does not undo an explicit pause, so stdin would never flow and `exec -i` would hang.
    socket.resume();
    let closed = false;
    socket.on('close', () => (closed = true));
    await done;
    if (!closed) socket.end();
  });
}

/** Reads a request body of Content-Length bytes from `head` and then the raw socket; returns any extra bytes. */
export async function readHijackBody(
  lengthHeader: string | undefined,
  socket: Duplex,
  head: Buffer,
): Promise<{ body: Buffer; rest: Buffer }> {
  const length = Number(lengthHeader ?? 0);
  if (!Number.isFinite(length) || length <= 0) return { body: Buffer.alloc(0), rest: head };
  let buf = head;
  while (buf.length < length) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (d: Buffer) => {
        cleanup();
        resolve(d);
      };
      const onEnd = () => {
        cleanup();
        resolve(null);
      };
      const cleanup = () => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        socket.pause();
      };
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('close', onEnd);
      socket.resume();
    });
    if (!chunk) break;
    buf = Buffer.concat([buf, chunk]);
  }
  return { body: buf.subarray(0, length), rest: buf.subarray(length) };
}
