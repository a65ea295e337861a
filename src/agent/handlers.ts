/**
 * Running a probe or lifecycle handler once: exec inside the container, HTTP GET or TCP connect to the pod
 * IP, or sleep. Returns success and a short output for events.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { ContainerSpec, Handler } from './types';

export interface HandlerTarget {
  containerId: string;
  podIP?: string;
  container: ContainerSpec;
  exec(id: string, cmd: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }>;
}

export interface HandlerResult {
  ok: boolean;
  output: string;
}

function resolvePort(port: number | string, c: ContainerSpec): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const p = c.ports?.find((x) => x.name === port);
  if (!p) throw new Error(`port "${port}" not found in container ${c.name}`);
  return p.containerPort;
}

export async function runHandler(h: Handler, t: HandlerTarget, timeoutMs: number): Promise<HandlerResult> {
  try {
    if (h.exec) {
      const r = await t.exec(t.containerId, h.exec.command ?? [], timeoutMs);
      if (r.exitCode === -1) return { ok: false, output: `command timed out after ${timeoutMs / 1000}s` };
      return { ok: r.exitCode === 0, output: r.exitCode === 0 ? r.output : `command ${JSON.stringify((h.exec.command ?? []).join(' '))} exited with ${r.exitCode}: ${r.output}` };
    }
    if (h.httpGet) {
      const g = h.httpGet;
      const port = resolvePort(g.port, t.container);
      const host = g.host || t.podIP || '127.0.0.1';
      const mod = (g.scheme ?? 'HTTP').toUpperCase() === 'HTTPS' ? https : http;
      const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
      for (const hh of g.httpHeaders ?? []) headers[hh.name] = hh.value;
      return await new Promise<HandlerResult>((resolve) => {
        const req = mod.request(
          { host, port, path: g.path || '/', method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false },
          (res) => {
            res.resume();
            const code = res.statusCode ?? 0;
            resolve({ ok: code >= 200 && code < 400, output: `HTTP probe failed with statuscode: ${code}` });
          },
        );
        req.on('timeout', () => {
          req.destroy();
          resolve({ ok: false, output: `Get "http://${host}:${port}${g.path || '/'}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
        });
        req.on('error', (e) => resolve({ ok: false, output: `Get "http://${host}:${port}${g.path || '/'}": ${e.message}` }));
        req.end();
      });
    }
    if (h.tcpSocket) {
      const port = resolvePort(h.tcpSocket.port, t.container);
      const host = h.tcpSocket.host || t.podIP || '127.0.0.1';
      return await new Promise<HandlerResult>((resolve) => {
        const s = net.connect({ host, port, timeout: timeoutMs });
        s.once('connect', () => {
          s.destroy();
          resolve({ ok: true, output: '' });
        });
        s.once('timeout', () => {
          s.destroy();
          resolve({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
        });
        s.once('error', (e) => resolve({ ok: false, output: `dial tcp ${host}:${port}: ${e.message}` }));
      });
    }
    if (h.sleep) {
      await new Promise((r) => setTimeout(r, Math.min(h.sleep!.seconds * 1000, timeoutMs)));
      return { ok: true, output: '' };
    }
    return { ok: false, output: 'no handler' };
  } catch (err) {
    return { ok: false, output: (err as Error).message };
  }
}
