/**
 * `kubectl port-forward` on this node: the kubelet's portforward.k8s.io protocol over SPDY/3.1, reached
 * either as a plain SPDY upgrade (`Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version: portforward.k8s.io`) or
 * tunnelled in WebSocket binary messages (subprotocol `SPDY/3.1+portforward.k8s.io`, kubectl ≥ 1.31's
 * default). Every forwarded connection is a pair of streams sharing a `requestID`: `streamType: error` (we
 * write a message there if the connection fails, then FIN) and `streamType: data` (the bytes). The target is
 * the pod's IP on the node's pod bridge (the kubelet dials localhost inside the pod's network namespace,
 * so unlike upstream a server bound only to 127.0.0.1 inside the pod is not reachable here).
 */
import type { IncomingMessage } from 'node:http';
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
}

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
    const rid = s.header('requestid') ?? String(type === 'data' ? s.id - 2 : s.id);
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
  const fail = (msg: string) => {
    const text = `error forwarding port ${portText} to pod ${t.uid}, uid : ${msg}`;
    opts.log?.(`port-forward ${t.namespace}/${t.name}: ${text}`);
    errorStream.end(text);
    data.resume();
    data.end();
  };
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) return fail(`invalid port ${JSON.stringify(portText)}`);

  const sock = opts.dial ? opts.dial(port) : net.connect({ host: t.podIP, port, allowHalfOpen: true });
  let connected = false;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    if (!errorStream.destroyed && !errorStream.writableEnded) errorStream.end();
    if (!data.destroyed && !data.writableEnded) data.end();
  };
  sock.once('connect', () => {
    connected = true;
    // Both directions with backpressure; a FIN either way half-closes the other side.
    sock.pipe(data);
    data.pipe(sock);
  });
  sock.on('error', (err: NodeJS.ErrnoException) => {
    if (!connected) return fail(dialError(err, t.podIP, port));
    sock.destroy();
  });
  sock.on('close', finish);
  // The client resets the data stream once the remote side is done (or on a local error): drop the socket.
  data.on('close', () => {
    sock.destroy();
    finish();
  });
}
