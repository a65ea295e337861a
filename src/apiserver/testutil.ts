/**
 * Test helpers: `skiff server` as a child process on a free port with a temp data dir, a kubectl runner with
 * a fresh cache dir, and a raw HTTP client with the admin token. Used by the apiserver integration tests.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const SKIFF_BIN = path.join(ROOT, 'bin', 'skiff');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export interface ServerProcOptions {
  dataDir?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
}

export class ServerProc {
  child: ChildProcess | undefined;
  port = 0;
  insecurePort = 0;
  stderr = '';
  readonly dataDir: string;
  private ownsDir: boolean;

  constructor(private readonly opts: ServerProcOptions = {}) {
    this.ownsDir = !opts.dataDir;
    this.dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-apiserver-'));
  }

  get kubeconfig(): string {
    return path.join(this.dataDir, 'kubeconfig.yaml');
  }

  get token(): string {
    return fs.readFileSync(path.join(this.dataDir, 'pki', 'admin.token'), 'utf8').trim();
  }

  get ca(): string {
    return fs.readFileSync(path.join(this.dataDir, 'pki', 'ca.crt'), 'utf8');
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    if (!this.insecurePort) this.insecurePort = await freePort();
    this.stderr = '';
    const child = spawn(
      process.execPath,
      [SKIFF_BIN, 'server', '--data-dir', this.dataDir, '--listen-port', String(this.port), '--insecure-port', String(this.insecurePort), '--disable-agent', ...(this.opts.extraArgs ?? [])],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...(this.opts.env ?? {}) } },
    );
    this.child = child;
    child.stderr!.on('data', (d) => (this.stderr += d.toString()));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`skiff server exited with ${child.exitCode}: ${this.stderr}`);
      if (this.stderr.includes('wrote admin kubeconfig')) {
        try {
          const r = await this.request('GET', '/readyz');
          if (r.status === 200) return;
        } catch {
          /* not yet */
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`skiff server did not become ready: ${this.stderr}`);
  }

  /** SIGKILL, no cleanup: what a crash looks like. */
  async kill9(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }

  async cleanup(): Promise<void> {
    await this.kill9();
    if (this.ownsDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Plain HTTP request on the loopback port with the admin token. */
  request(
    method: string,
    p: string,
    body?: string | Buffer | object,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string; json: () => any }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      const h: Record<string, string> = { ...headers };
      if (!('Authorization' in h)) h.Authorization = `Bearer ${safeToken(this)}`;
      if (data !== undefined && !('Content-Type' in h)) h['Content-Type'] = 'application/json';
      // Node sends DELETE bodies without chunked framing: give the length explicitly.
      if (data !== undefined) h['Content-Length'] = String(Buffer.byteLength(data));
      const req = http.request({ host: '127.0.0.1', port: this.insecurePort, method, path: p, headers: h }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (data !== undefined) req.end(data);
      else req.end();
    });
  }

  /** HTTPS request verifying the generated CA. */
  secureRequest(method: string, p: string, token?: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: this.port, method, path: p, ca: this.ca, headers: token ? { Authorization: `Bearer ${token}` } : {} },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
}

function safeToken(s: ServerProc): string {
  try {
    return s.token;
  } catch {
    return '';
  }
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real kubectl against a server with a fresh cache dir per call site (pass the same dir to share). */
export function kubectl(
  kubeconfig: string,
  cacheDir: string,
  args: string[],
  opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      '/usr/bin/kubectl',
      ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args],
      { env: { ...process.env, ...(opts.env ?? {}) }, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin?.end();
  });
}

export async function pollUntil<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
