/**
 * The API server's NodeConnector for this node: `kubectl logs` (follow, previous, tail, timestamps,
 * sinceSeconds) read from the engine's container logs, and `kubectl exec` over WebSocket
 * (v5.channel.k8s.io / v4: first byte of each binary message is the channel — 0 stdin, 1 stdout,
 * 2 stderr, 3 status, 4 resize, 255 close) through the engine's exec sessions.
 * Port-forward: ./portforward (SPDY/3.1, plain or tunnelled in WebSocket) to the pod's IP. Attach: ./attach.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { NodeConnector, PodStreamKind } from '../apiserver/node-connector';
import type { KubeObject } from '../apiserver/resource';
import { statusError, failure, type KubeStatus } from '../apiserver/status';
import type { ContainerManager } from '../engine/containers/manager';
import type { ExecManager } from '../engine/containers/exec';
import type { LogEntry } from '../engine/containers/logs';
import { LABEL_POD_UID } from './naming';
import { toRuntime } from './runtime';
import type { RuntimeContainer } from './sync';
import type { MetricsSampler } from './metrics';
import { matchLabels, parseLabelSelector } from '../apiserver/selectors';
import { acceptPortForward, type PortForwardTarget } from './portforward';
import { acceptAttach } from './attach';

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

export interface ConnectorDeps {
  containers: ContainerManager;
  execs: ExecManager;
  metrics?: MetricsSampler;
  /** Labels of a pod on this node (label selectors of metrics lists). */
  podLabels?(namespace: string, name: string): Record<string, string> | undefined;
}

interface PodLike {
  metadata?: { name?: string; namespace?: string; uid?: string };
  spec?: { containers?: Array<{ name: string }>; initContainers?: Array<{ name: string }> };
  status?: { containerStatuses?: Array<{ name: string; state?: { waiting?: { reason?: string } } }>; initContainerStatuses?: Array<{ name: string; state?: { waiting?: { reason?: string } } }> };
}

export class AgentConnector implements NodeConnector {
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (protocols) => PROTOCOLS.find((p) => protocols.has(p)) ?? false,
  });

  constructor(private readonly deps: ConnectorDeps) {}

  private attempts(pod: PodLike, name: string): RuntimeContainer[] {
    const uid = pod.metadata?.uid;
    return this.deps.containers
      .list()
      .filter((r) => r.Config.Labels?.[LABEL_POD_UID] === uid)
      .map(toRuntime)
      .filter((c) => c.name === name && c.state !== 'created')
      .sort((a, b) => b.attempt - a.attempt);
  }

  /** The init process of a running container of the pod: a way into the pod's network namespace. */
  private podPid(pod: PodLike): number | undefined {
    const uid = pod.metadata?.uid;
    return this.deps.containers.list().find((r) => r.Config.Labels?.[LABEL_POD_UID] === uid && r.State.Running && r.State.Pid > 0)?.State.Pid;
  }

  private containerName(pod: PodLike, q: URLSearchParams): string {
    const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
    const asked = q.get('container');
    const podName = pod.metadata?.name ?? '';
    if (asked) {
      if (!all.includes(asked)) throw statusError(400, 'BadRequest', `container ${asked} is not valid for pod ${podName}`);
      return asked;
    }
    const main = (pod.spec?.containers ?? []).map((c) => c.name);
    if (main.length === 1) return main[0];
    throw statusError(400, 'BadRequest', `a container name must be specified for pod ${podName}, choose one of: [${main.join(' ')}]`);
  }

  private waitingReason(pod: PodLike, name: string): string {
    const all = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
    return all.find((s) => s.name === name)?.state?.waiting?.reason ?? 'ContainerCreating';
  }

  async podLogs(podObj: KubeObject, q: URLSearchParams, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const pod = podObj as PodLike;
    const podName = pod.metadata?.name ?? '';
    const name = this.containerName(pod, q);
    const attempts = this.attempts(pod, name);
    const previous = q.get('previous') === 'true';
    let target: RuntimeContainer | undefined;
    if (previous) {
      // The last terminated instance before the current one.
      target = attempts.length > 1 ? attempts[1] : undefined;
      if (!target) throw statusError(400, 'BadRequest', `previous terminated container "${name}" in pod "${podName}" not found`);
    } else {
      target = attempts[0];
      if (!target) throw statusError(400, 'BadRequest', `container "${name}" in pod "${podName}" is waiting to start: ${this.waitingReason(pod, name)}`);
    }
    const follow = q.get('follow') === 'true' && !previous;
    const timestamps = q.get('timestamps') === 'true';
    const tailRaw = q.get('tailLines');
    const tail = tailRaw !== null && tailRaw !== '' && Number(tailRaw) >= 0 ? Number(tailRaw) : undefined;
    const since = Number(q.get('sinceSeconds') ?? 0);
    const sinceTime = q.get('sinceTime');
    const limitBytes = Number(q.get('limitBytes') ?? 0) || Infinity;
    const sinceMs = since > 0 ? Date.now() - since * 1000 : sinceTime ? Date.parse(sinceTime) : undefined;
    const read = await this.deps.containers.readLogs(target.id, { stdout: true, stderr: true, tail, sinceMs });
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    let written = 0;
    let atLineStart = true;
    const write = (e: LogEntry) => {
      if (written >= limitBytes) return;
      let data = e.data;
      if (timestamps && atLineStart) data = Buffer.concat([Buffer.from(`${e.time} `), data]);
      atLineStart = data.length > 0 && data[data.length - 1] === 0x0a;
      if (written + data.length > limitBytes) data = data.subarray(0, limitBytes - written);
      written += data.length;
      res.write(data);
    };
    for (const e of read.entries) write(e);
    if (follow && target.state === 'running' && !signal.aborted) {
      const f = this.deps.containers.followOutput(target.id, { offset: read.offset, ino: read.ino }, write, { untilExit: true });
      const onAbort = () => f.stop();
      signal.addEventListener('abort', onAbort);
      try {
        await f.done;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
    res.end();
  }

  async metrics(resource: string, namespace: string, name: string, q: URLSearchParams): Promise<object> {
    if (!this.deps.metrics) throw statusError(503, 'ServiceUnavailable', 'metrics are not available on this node');
    return this.deps.metrics.serve(
      resource,
      namespace,
      name,
      q,
      (ns, n) => this.deps.podLabels?.(ns, n),
      (sel, labels) => matchLabels(parseLabelSelector(sel), labels),
    );
  }

  podStream(kind: PodStreamKind, podObj: KubeObject, q: URLSearchParams, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const pod = podObj as PodLike;
    try {
      if (kind === 'portforward') return acceptPortForward({ ...portForwardTarget(pod), netnsPid: () => this.podPid(pod) }, req, socket, head);
      const name = this.containerName(pod, q);
      const cur = this.attempts(pod, name)[0];
      if (kind === 'attach') {
        const podFullName = `${pod.metadata?.name ?? ''}_${pod.metadata?.namespace ?? ''}`;
        return acceptAttach(this.wss, this.deps.containers, { containerId: cur?.id, running: cur?.state === 'running', name, podFullName }, q, req, socket, head);
      }
      if (kind !== 'exec') throw statusError(400, 'BadRequest', `${kind} is not supported by this node (skiff)`);
      if (!cur || cur.state !== 'running')
        throw statusError(400, 'BadRequest', `unable to upgrade connection: container not found ("${name}")`);
      const command = q.getAll('command');
      if (command.length === 0) throw statusError(400, 'BadRequest', 'you must specify at least 1 command');
      const proto = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((s) => s.trim());
      if (!PROTOCOLS.some((p) => proto.includes(p)) || String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
        throw statusError(400, 'BadRequest', 'only WebSocket exec (v5.channel.k8s.io or v4.channel.k8s.io) is supported by this node');
      this.wss.handleUpgrade(req, socket, head, (ws) => void this.exec(ws, cur.id, command, q));
    } catch (err) {
      const s: KubeStatus =
        err && typeof err === 'object' && 'status' in err ? (err as { status: KubeStatus }).status : failure(500, 'InternalError', (err as Error).message);
      writeRaw(socket, s);
    }
  }

  private async exec(ws: WebSocket, containerId: string, command: string[], q: URLSearchParams): Promise<void> {
    const tty = q.get('tty') === 'true';
    const stdin = q.get('stdin') === 'true';
    const stdout = q.get('stdout') !== 'false';
    const stderr = q.get('stderr') === 'true' || (!q.has('stderr') && !tty);
    const send = (channel: number, data: Buffer | string) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(data) ? data : Buffer.from(data)]));
    };
    let execId: string | undefined;
    let input: { write(d: Buffer): void; end(): void; close(): void } | undefined;
    const early: Buffer[] = [];
    let pendingResize: { h: number; w: number } | undefined;
    let stdinClosed = false;
    let firstResize: (() => void) | undefined;
    let running = false;
    ws.on('message', (raw: Buffer, isBinary: boolean) => {
      const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as unknown as ArrayBuffer);
      if (buf.length === 0) return;
      // v4 clients may send text frames carrying base64: not offered here (binary protocols only).
      void isBinary;
      const ch = buf[0];
      const data = buf.subarray(1);
      if (ch === 0) {
        if (stdinClosed) return;
        if (input) input.write(data);
        else early.push(Buffer.from(data));
      } else if (ch === 4) {
        try {
          const sz = JSON.parse(data.toString()) as { Width?: number; Height?: number };
          const h = sz.Height ?? 0;
          const w = sz.Width ?? 0;
          if (running && execId) this.deps.execs.resize(execId, h, w);
          else pendingResize = { h, w };
          firstResize?.();
        } catch {
          /* malformed resize: ignore */
        }
      } else if (ch === 255 && data[0] === 0) {
        stdinClosed = true;
        input?.end();
      }
    });
    try {
      // kubectl sends the terminal size right after connecting: start the session with it.
      if (tty && !pendingResize) await new Promise<void>((r) => ((firstResize = r), setTimeout(r, 300)));
      const size = pendingResize;
      execId = this.deps.execs.create(containerId, {
        Cmd: command,
        AttachStdin: stdin,
        AttachStdout: stdout,
        AttachStderr: stderr,
        Tty: tty,
        ConsoleSize: tty && size ? [size.h, size.w] : null,
      });
      const started = await this.deps.execs.start(execId, { detach: false, tty }, (e) => {
        if (e.stream === 'stderr' && !tty) {
          if (stderr) send(2, e.data);
        } else if (stdout) send(1, e.data);
      });
      running = true;
      input = started.input;
      // Input that arrived while the session started, then a close that came meanwhile.
      for (const b of early.splice(0)) input?.write(b);
      if (stdinClosed) input?.end();
      if (pendingResize && tty) {
        try {
          this.deps.execs.resize(execId, pendingResize.h, pendingResize.w);
        } catch {
          /* exited already */
        }
      }
      ws.on('close', () => input?.close());
      const code = await started.done;
      running = false;
      const status =
        code === 0
          ? { metadata: {}, status: 'Success' }
          : {
              metadata: {},
              status: 'Failure',
              message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
              reason: 'NonZeroExitCode',
              details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
            };
      send(3, JSON.stringify(status));
    } catch (err) {
      send(3, JSON.stringify({ metadata: {}, status: 'Failure', message: (err as Error).message, reason: 'InternalError', code: 500 }));
    }
    ws.close(1000);
  }
}

function portForwardTarget(pod: PodLike & { status?: { podIP?: string } }): PortForwardTarget {
  const podIP = pod.status?.podIP;
  const name = pod.metadata?.name ?? '';
  if (!podIP) throw statusError(400, 'BadRequest', `unable to upgrade connection: pod ${name} has no IP address yet`);
  return { name, namespace: pod.metadata?.namespace ?? '', uid: pod.metadata?.uid ?? '', podIP };
}

function writeRaw(socket: Duplex, s: KubeStatus): void {
  const text = JSON.stringify(s);
  const reason = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' }[s.code] ?? 'Error';
  try {
    socket.end(`HTTP/1.1 ${s.code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
  } catch {
    socket.destroy();
  }
}
