/**
 * BENCH ONLY: a Docker Swarm peer on this machine — Debian's dockerd (package docker.io, installed on demand
 * with services kept from starting) on its own temp --data-root/--exec-root/socket, `docker swarm init`, the
 * same busybox image skiff uses, driven through the Docker Engine API like the skiff side is driven through
 * the Kubernetes API.
 *
 * dockerd runs with --iptables=false --ip6tables=false --bridge=none: no DOCKER* chains, no docker0 (the
 * benchmark's services publish no ports, so the routing mesh's rules are not needed; Swarm still creates its
 * ingress overlay and docker_gwbridge, which stop() removes). stop() leaves no trace: services, swarm,
 * docker_gwbridge, dockerd + its containerd + shims, mounts and dirs under the temp dir, and the host paths
 * dockerd creates on first start (/etc/docker/key.json, /run/docker, /run/containerd) when they were not
 * there before.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { busyboxArchive } from '../src/engine/images/busybox';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const HOST_PATHS = ['/etc/docker/key.json', '/run/docker', '/run/containerd'];

function ensureDockerd(): void {
  if (spawnSync('dockerd', ['--version']).status === 0) return;
  // Debian's package: keep its services from starting (policy-rc.d), as scripts/install.sh does.
  const policy = '/usr/sbin/policy-rc.d';
  const hadPolicy = fs.existsSync(policy);
  if (!hadPolicy) fs.writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker.io'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } finally {
    if (!hadPolicy) fs.rmSync(policy, { force: true });
  }
}

function rss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

export class SwarmPeer {
  readonly dir: string;
  readonly socket: string;
  private child?: ChildProcess;
  private log = '';
  private readonly preexisting = new Set<string>();

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-swarm-'));
    this.socket = path.join(this.dir, 'docker.sock');
  }

  async start(): Promise<void> {
    ensureDockerd();
    for (const p of HOST_PATHS) if (fs.existsSync(p)) this.preexisting.add(p);
    const c = spawn(
      'dockerd',
      [
        '--data-root', path.join(this.dir, 'data'),
        '--exec-root', path.join(this.dir, 'exec'),
        '--pidfile', path.join(this.dir, 'docker.pid'),
        '-H', `unix://${this.socket}`,
        '--iptables=false', '--ip6tables=false', '--bridge=none', '--userland-proxy=false',
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = c;
    c.stdout!.on('data', (d) => (this.log += d));
    c.stderr!.on('data', (d) => (this.log += d));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`dockerd exited: ${this.log}`);
      if (Date.now() > deadline) throw new Error(`dockerd did not start: ${this.log}`);
      if (fs.existsSync(this.socket) && (await this.api('GET', '/_ping').catch(() => undefined))?.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const init = await this.api('POST', '/swarm/init', { ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
    if (init.status !== 200) throw new Error(`swarm init: ${init.status} ${JSON.stringify(init.body)}`);
    const load = await this.api('POST', '/images/load?quiet=1', busyboxArchive('busybox:latest'), 'application/x-tar');
    if (load.status !== 200) throw new Error(`image load: ${load.status}`);
  }

  pid(): number | undefined {
    return this.child?.pid;
  }

  /** RSS of dockerd + its containerd (per-container shims excluded, as conmon is on the skiff side). */
  rssMb(): number {
    const pid = this.child?.pid;
    if (!pid) return NaN;
    const kids = childrenOf(pid).filter((k) => {
      try {
        return fs.readFileSync(`/proc/${k}/comm`, 'utf8').trim() === 'containerd';
      } catch {
        return false;
      }
    });
    return rss(pid) + kids.reduce((a, k) => a + rss(k), 0);
  }

  api(method: string, p: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: Obj | Obj[] | string }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      const req = http.request(
        { socketPath: this.socket, method, path: `/v1.41${p}`, headers: data ? { 'Content-Type': contentType, 'Content-Length': data.length } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let parsed: Obj | Obj[] | string = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              /* text */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  async createService(name: string, replicas: number): Promise<string> {
    const r = await this.api('POST', '/services/create', {
      Name: name,
      Labels: { bench: name },
      TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: ['sleep', '3600'] } },
      Mode: { Replicated: { Replicas: replicas } },
    });
    if (r.status !== 201) throw new Error(`service create: ${r.status} ${JSON.stringify(r.body)}`);
    return (r.body as Obj).ID;
  }

  async scale(name: string, replicas: number): Promise<void> {
    const s = (await this.api('GET', `/services/${name}`)).body as Obj;
    const spec = { ...s.Spec, Mode: { Replicated: { Replicas: replicas } } };
    const r = await this.api('POST', `/services/${s.ID}/update?version=${s.Version.Index}`, spec);
    if (r.status !== 200) throw new Error(`service update: ${r.status} ${JSON.stringify(r.body)}`);
  }

  async tasks(name: string): Promise<Obj[]> {
    const r = await this.api('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { [name]: true } }))}`);
    return Array.isArray(r.body) ? r.body : [];
  }

  /** Tasks of the service that are running and meant to be. */
  async running(name: string): Promise<Obj[]> {
    return (await this.tasks(name)).filter((t) => t.Status?.State === 'running' && t.DesiredState === 'running');
  }

  /** Polls (every 25 ms) until pred holds for the service's running tasks; resolves with the time. */
  async waitRunning(name: string, pred: (running: Obj[]) => boolean, timeoutMs = 300_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const t = performance.now();
      if (pred(await this.running(name))) return t;
      if (Date.now() > deadline) throw new Error(`swarm: timeout waiting on ${name}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async removeService(name: string): Promise<void> {
    await this.api('DELETE', `/services/${name}`);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const cs = await this.api('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.swarm.service.name=${name}`] }))}`);
      if (Array.isArray(cs.body) && cs.body.length === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async killContainer(id: string): Promise<void> {
    await this.api('POST', `/containers/${id}/kill`);
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c && c.exitCode === null) {
      try {
        const svcs = await this.api('GET', '/services');
        for (const s of Array.isArray(svcs.body) ? svcs.body : []) await this.removeService((s as Obj).Spec.Name);
        await this.api('POST', '/swarm/leave?force=1');
        await this.api('DELETE', '/networks/docker_gwbridge');
      } catch {
        /* best effort: the sweep below catches the rest */
      }
      const containerd = childrenOf(c.pid!);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => c.kill('SIGKILL'), 30_000);
        c.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        c.kill('SIGTERM');
      });
      for (const k of containerd) {
        try {
          process.kill(k, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    // Shims and anything else started for this dir.
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(this.dir)) process.kill(Number(d), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync('ip', ['link', 'del', 'docker_gwbridge']);
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m) => m && m.startsWith(this.dir + '/'))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) if (spawnSync('umount', [m]).status !== 0) spawnSync('umount', ['-l', m]);
    fs.rmSync(this.dir, { recursive: true, force: true });
    for (const p of HOST_PATHS) if (!this.preexisting.has(p)) fs.rmSync(p, { recursive: true, force: true });
  }
}
