/**
 * `kubectl attach` / `kubectl run -i[t]`: the pods/attach subresource over WebSocket (v5.channel.k8s.io /
 * v4: first byte of each binary message is the channel — 0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize,
 * 255 close), joined to the running container's OWN stdio through the engine (what `docker attach` uses):
 * - output: the container's log from the moment of attaching on (as upstream: earlier output is not
 *   replayed), stdout on 1 and stderr on 2, or everything on 1 with a TTY;
 * - input: conmon's attach socket (ContainerManager.attachStdin), only when the client asks for stdin AND the
 *   container was created with `stdin: true` (otherwise the client's input is read and dropped, as the CRI
 *   runtimes do);
 * - stdinOnce (kubectl run -i): the session's end of input is the container's EOF, and stdin closes when the
 *   session ends. Without stdinOnce, stdin outlives sessions (attach again and type on): conmon closes the
 *   container's stdin when ANY attach-socket client goes away (the engine runs it without
 *   --leave-stdin-open), so such containers get ONE bridge, shared by all sessions and kept until the
 *   container stops;
 * - TTY and resize follow the container's `tty` (the kubelet ignores the request's tty for attach: whether a
 *   process runs on a terminal cannot change after it started);
 * - when the container exits: a Success status on channel 3 (the kubelet's ServeAttach), then close.
 * A container that is not running is refused as upstream's API server reports the kubelet's refusal: an
 * InternalError status on channel 3 right after the upgrade (kubectl prints `error: Internal error occurred:
 * unable to upgrade connection: container c not found in pod p_ns`). A non-WebSocket request is refused
 * before the upgrade (StatusError thrown; the caller writes it as the HTTP answer).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { statusError } from '../apiserver/status';
import type { ContainerManager } from '../engine/containers/manager';
import type { LogEntry } from '../engine/containers/logs';
import type { AttachInput } from '../engine/runtime/attach';

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
/** Output queued on the WebSocket beyond this pauses the log follower (a slow client must not grow our memory). */
const HIGH_WATER = 1 << 20;

export interface AttachTarget {
  /** The engine container of the current attempt, if any. */
  containerId?: string;
  running: boolean;
  /** Container name and the pod's full name (`name_namespace`), for the kubelet's error text. */
  name: string;
  podFullName: string;
}

/** The attach options a client asked for, as the kubelet reads them (stdout defaults on; tty is ignored). */
export function attachOptions(q: URLSearchParams, tty: boolean): { stdin: boolean; stdout: boolean; stderr: boolean } {
  return {
    stdin: q.get('stdin') === 'true' || q.get('input') === '1',
    stdout: q.get('stdout') !== 'false' && q.get('output') !== '0',
    // With a TTY stderr is merged into the terminal: nothing comes separately.
    stderr: !tty && (q.get('stderr') === 'true' || q.get('error') === '1'),
  };
}

/** Takes the upgrade of a pods/attach request, or throws a StatusError (nothing written yet). */
export function acceptAttach(
  wss: WebSocketServer,
  containers: ContainerManager,
  target: AttachTarget,
  q: URLSearchParams,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  const proto = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((s) => s.trim());
  if (!PROTOCOLS.some((p) => proto.includes(p)) || String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
    throw statusError(400, 'BadRequest', 'only WebSocket attach (v5.channel.k8s.io or v4.channel.k8s.io) is supported by this node');
  if (!target.running || !target.containerId) {
    // Upstream's API server takes the WebSocket, then dials the kubelet (SPDY), which refuses a container that
    // is not running; the translator reports that failure as an InternalError status on the error channel.
    const message = `Internal error occurred: unable to upgrade connection: container ${target.name} not found in pod ${target.podFullName}`;
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => ws.terminate());
      ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 }))]));
      ws.close(1000);
    });
    return;
  }
  const id = target.containerId;
  const rec = containers.get(id);
  const tty = rec.Config.Tty;
  const opts = attachOptions(q, tty);
  const stdin = opts.stdin && rec.Config.OpenStdin;
  const once = rec.Config.StdinOnce;
  wss.handleUpgrade(req, socket, head, (ws) => void serve(ws, containers, id, tty, stdin ? { once } : undefined, opts));
}

async function serve(
  ws: WebSocket,
  containers: ContainerManager,
  id: string,
  tty: boolean,
  stdin: { once: boolean } | undefined,
  opts: { stdout: boolean; stderr: boolean },
): Promise<void> {
  const send = (channel: number, data: Buffer | string) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(data) ? data : Buffer.from(data)]));
  };
  let bridge: AttachInput | undefined;
  // Input is held back until the log position is taken: what the container answers must come after it.
  let input: AttachInput | undefined;
  const early: Buffer[] = [];
  let eof = false;
  let closed = false;
  let stop = () => undefined as void;
  // A shared bridge (no stdinOnce) is never closed by a session: that would close the container's stdin.
  const release = () => {
    if (stdin?.once) bridge?.close();
  };
  // A broken peer (bad frame, reset) must not become an unhandled 'error' event in the server.
  ws.on('error', () => ws.terminate());
  ws.on('close', () => {
    closed = true;
    release();
    stop();
  });
  ws.on('message', (raw: Buffer) => {
    const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as unknown as ArrayBuffer);
    if (buf.length === 0) return;
    const ch = buf[0];
    const data = buf.subarray(1);
    if (ch === 0) {
      // The bridge itself buffers in its pipe until it has connected to conmon's socket.
      if (input) input.write(data);
      else if (stdin) early.push(Buffer.from(data));
    } else if (ch === 4 && tty) {
      try {
        const sz = JSON.parse(data.toString()) as { Width?: number; Height?: number };
        containers.resize(id, sz.Height ?? 0, sz.Width ?? 0);
      } catch {
        /* malformed resize, or the container exited meanwhile */
      }
    } else if (ch === 255 && data[0] === 0) {
      // End of the client's input. Without a TTY the container sees EOF on stdin. With one, EOF on a
      // terminal is the user's ^D (already sent as data); the session stays until the container exits.
      // Without stdinOnce the client's EOF ends only its own input (as upstream): stdin stays open.
      if (!tty && stdin?.once) {
        eof = true;
        input?.end();
      }
    }
  });
  try {
    containers.noteAttach(id);
    if (stdin) bridge = stdin.once ? containers.attachStdin(id) : sharedInput(containers, id);
    if (closed) release();
    // From now on: the log's current end. Output written before the attach is not replayed (as upstream).
    const { offset, ino } = await containers.readLogs(id, { stdout: false, stderr: false });
    const write = (e: LogEntry) => {
      if (e.stream === 'stderr' && !tty) {
        if (opts.stderr) send(2, e.data);
      } else if (opts.stdout) send(1, e.data);
    };
    let resumeTimer: NodeJS.Timeout | undefined;
    const f = containers.followOutput(id, { offset, ino }, write, {
      untilExit: true,
      blocked: () => {
        const full = ws.bufferedAmount > HIGH_WATER;
        // `ws` has no drain event: look again shortly.
        if (full && !resumeTimer) resumeTimer = setTimeout(() => ((resumeTimer = undefined), f.resume()), 20);
        return full;
      },
    });
    stop = f.stop;
    if (closed) f.stop();
    input = closed ? undefined : bridge;
    for (const b of early.splice(0)) input?.write(b);
    if (eof) input?.end();
    await f.done;
    if (resumeTimer) clearTimeout(resumeTimer);
    send(3, JSON.stringify({ metadata: {}, status: 'Success' }));
  } catch (err) {
    send(
      3,
      JSON.stringify({ metadata: {}, status: 'Failure', message: `error attaching to container: ${(err as Error).message}`, reason: 'InternalError', code: 500 }),
    );
  }
  release();
  ws.close(1000);
}

/** One stdin bridge per running container without stdinOnce (see the header); dead ones are dropped. */
const shared = new Map<string, AttachInput>();

function sharedInput(containers: ContainerManager, id: string): AttachInput {
  for (const [cid, input] of shared) {
    let running = false;
    try {
      running = containers.get(cid).State.Running;
    } catch {
      /* removed */
    }
    if (!running) {
      input.close();
      shared.delete(cid);
    }
  }
  let input = shared.get(id);
  if (!input) {
    input = containers.attachStdin(id);
    shared.set(id, input);
    // It could not connect (the container stopped meanwhile): the next session makes a new one.
    const made = input;
    made.ready.catch(() => shared.get(id) === made && shared.delete(id));
  }
  return input;
}
