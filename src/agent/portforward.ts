/**
 * `kubectl port-forward` on this node: the kubelet's portforward.k8s.io protocol over SPDY/3.1, reached
 * either as a plain SPDY upgrade (`Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version: portforward.k8s.io`) or
 * tunnelled in WebSocket binary messages (subprotocol `SPDY/3.1+portforward.k8s.io`, kubectl ≥ 1.31's
 * default). Every forwarded connection is a pair of streams sharing a `requestID`: `streamType: error` (we
 * write a message there if the connection fails, then FIN) and `streamType: data` (the bytes). The target is
 * the pod's IP on the node's pod bridge, in process; when that is refused, localhost inside the pod's network
 * namespace as the kubelet dials it (servers bound to 127.0.0.1 only), through a helper process.
 */
import type { IncomingMessage } from 'node:http';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { SpdySession, type SpdyStream } from '../common/spdy/session';
import { statusError } from '../apiserver/status';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
export const WEBSOCKET_TUNNEL_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;
/** Upstream kubelet's default: a stream waits this long for its partner before the pair is given up. */
const STREAM_PAIR_TIMEOUT_MS = 30_000;

export interface PortForwardTarget {
  name: string;
  namespace: string;
  uid: string;
  podIP: string;
  /** A process inside the pod's network namespace (any running container's init), for localhost-only servers. */
  netnsPid?(): number | undefined;
}

/** The host's static busybox (installed with the project): its nc carries connections inside a pod's netns. */
const BUSYBOX = '/bin/busybox';

export interface PortForwardOptions {
  log?(msg: string): void;
  /** Where a port is dialled (tests); default net.connect to the pod IP. */
  dial?(port: number): net.Socket;
}

// ws refuses "SPDY/3.1+portforward.k8s.io" in Sec-WebSocket-Protocol ('/' is not an RFC 7230 token
// character), so the request's header is swapped for this token and the real name is echoed back.
const TUNNEL_ALIAS = 'skiff-spdy-portforward';
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has(TUNNEL_ALIAS) ? WEBSOCKET_TUNNEL_PROTOCOL : false),
});

/**
 * Takes over an upgrade request for pods/NAME/portforward. Throws a StatusError before touching the socket
 * when the request is neither form (the caller writes the HTTP error; kubectl's WebSocket dialer then falls
 * back to SPDY).
 */
export function acceptPortForward(target: PortForwardTarget, req: IncomingMessage, socket: Duplex, head: Buffer, opts: PortForwardOptions = {}): void {
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (upgrade === 'websocket') {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim());
    if (!offered.includes(WEBSOCKET_TUNNEL_PROTOCOL))
      throw statusError(400, 'BadRequest', `unable to upgrade connection: port-forward over WebSocket needs subprotocol ${WEBSOCKET_TUNNEL_PROTOCOL}`);
    req.headers['sec-websocket-protocol'] = TUNNEL_ALIAS;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws, { allowHalfOpen: false });
      stream.on('error', () => stream.destroy());
      servePortForward(new SpdySession(stream, { onError: (e) => opts.log?.(`port-forward ${target.namespace}/${target.name}: ${e.message}`) }), target, opts);
    });
    return;
  }
  if (!upgrade.includes('spdy/3.1')) throw statusError(400, 'BadRequest', 'unable to upgrade connection: Upgrade: SPDY/3.1 or websocket expected');
  // httpstream.Handshake: a client that names protocol versions must share one with us.
  const versions = String(req.headers['x-stream-protocol-version'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (versions.length && !versions.includes(PORT_FORWARD_PROTOCOL))
    throw statusError(403, 'Forbidden', `unable to upgrade: unable to negotiate protocol: client supports [${versions.join(' ')}], server supports [${PORT_FORWARD_PROTOCOL}]`);
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      (versions.length ? `X-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n` : '') +
      '\r\n',
  );
  if (head.length) socket.unshift(head);
  servePortForward(new SpdySession(socket, { onError: (e) => opts.log?.(`port-forward ${target.namespace}/${target.name}: ${e.message}`) }), target, opts);
}

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** Pairs the session's streams by request and forwards each pair to the pod. */
export function servePortForward(session: SpdySession, target: PortForwardTarget, opts: PortForwardOptions = {}): void {
  const pairs = new Map<string, Pair>();
  session.on('stream', (s: SpdyStream) => {
    const type = s.header('streamtype');
    if (type !== 'error' && type !== 'data') {
      opts.log?.(`port-forward: stream ${s.id} with streamType ${JSON.stringify(type)} refused`);
      s.reset();
      return;
    }
    // Clients before requestID paired by order: the data stream follows its error stream (ids step by 2).
    const rid = s.header('requestid') ?? `stream-${type === 'data' ? s.id - 2 : s.id}`;
    let p = pairs.get(rid);
    if (!p) {
      p = {
        timer: setTimeout(() => {
          pairs.delete(rid);
          const lone = p!.error ?? p!.data;
          if (p!.error) p!.error.end(`timed out waiting for streams of request ${rid}`);
          else lone?.reset();
        }, STREAM_PAIR_TIMEOUT_MS),
      };
      p.timer.unref();
      pairs.set(rid, p);
    }
    if (p[type]) {
      s.reset();
      return;
    }
    p[type] = s;
    if (p.error && p.data) {
      clearTimeout(p.timer);
      pairs.delete(rid);
      forward(p.error, p.data, target, opts);
    }
  });
  session.on('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
}

/** Go's wording for the common dial failures (kubectl prints the message as is). */
function dialError(err: NodeJS.ErrnoException, host: string, port: number): string {
  const base = `dial tcp4 ${host}:${port}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `${base}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `${base}: connect: no route to host`;
    case 'ENETUNREACH':
      return `${base}: connect: network is unreachable`;
    case 'ETIMEDOUT':
      return `${base}: i/o timeout`;
    default:
      return `${base}: ${err.message}`;
  }
}

function forward(errorStream: SpdyStream, data: SpdyStream, t: PortForwardTarget, opts: PortForwardOptions): void {
  const portText = data.header('port') ?? '';
  const port = Number(portText);
  // The client half-closes the error stream at once (it never writes to it): drain it.
  errorStream.resume();
  errorStream.on('error', () => {});
  data.on('error', () => {});
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    if (!errorStream.destroyed && !errorStream.writableEnded) errorStream.end();
    if (!data.destroyed && !data.writableEnded) data.end();
  };
  const fail = (msg: string) => {
    if (finished) return;
    const text = `error forwarding port ${portText} to pod ${t.uid}, uid : ${msg}`;
    opts.log?.(`port-forward ${t.namespace}/${t.name}: ${text}`);
    errorStream.end(text);
    data.resume();
    finish();
  };
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) return fail(`invalid port ${JSON.stringify(portText)}`);

  // The client resets the data stream once the remote side is done (or on a local error): drop the peer,
  // whose end then finishes the pair (so a dial error still reaches the error stream first).
  let drop = () => {};
  data.on('close', () => drop());

  const sock = opts.dial ? opts.dial(port) : net.connect({ host: t.podIP, port, allowHalfOpen: true });
  drop = () => sock.destroy();
  let connected = false;
  sock.once('connect', () => {
    connected = true;
    // Both directions with backpressure; a FIN either way half-closes the other side.
    sock.pipe(data);
    data.pipe(sock);
  });
  sock.on('error', (err: NodeJS.ErrnoException) => {
    if (connected) return sock.destroy();
    const pid = err.code === 'ECONNREFUSED' && !data.destroyed ? t.netnsPid?.() : undefined;
    if (pid && fs.existsSync(BUSYBOX)) drop = viaNetns(pid, port, data, fail, finish);
    else fail(dialError(err, t.podIP, port));
  });
  sock.on('close', () => {
    if (connected || data.destroyed) finish();
  });
}

/**
 * The kubelet dials localhost inside the pod's network namespace, so servers bound to 127.0.0.1 there are
 * reachable too. Node cannot enter a namespace, so when the pod IP refuses, a `busybox nc 127.0.0.1 PORT`
 * started in the namespace carries the connection (it half-closes on our FIN, as the socket would).
 * Returns how to drop it.
 */
function viaNetns(pid: number, port: number, data: SpdyStream, fail: (msg: string) => void, finish: () => void): () => void {
  const cp = spawn('nsenter', ['-t', String(pid), '-n', BUSYBOX, 'nc', '127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let answered = false;
  let stderr = '';
  cp.stdout.once('data', () => (answered = true));
  cp.stderr.on('data', (d) => (stderr += d));
  cp.stdin.on('error', () => {});
  cp.on('error', (e) => fail(`dial tcp4 127.0.0.1:${port}: ${e.message}`));
  cp.stdout.pipe(data);
  data.pipe(cp.stdin);
  cp.on('close', (code) => {
    // "nc: can't connect to remote host (127.0.0.1): Connection refused"
    const m = /can't connect to remote host[^:]*: (.*)/.exec(stderr);
    if (code !== 0 && !answered && m) fail(`dial tcp4 127.0.0.1:${port}: connect: ${m[1].trim().toLowerCase()}`);
    else finish();
  });
  // nc ends by itself once both sides are done; a peer that keeps its side open is cut after a grace period.
  return () => {
    cp.stdin.end();
    setTimeout(() => {
      if (cp.exitCode === null && cp.signalCode === null) cp.kill('SIGKILL');
    }, 2000).unref();
  };
}
