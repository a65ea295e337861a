/**
 * Starts real etcd members (Debian's /usr/bin/etcd) on loopback with free ports and a temporary data directory,
 * for tests and benchmarks. Everything is torn down by stop(), which callers run in `after`/`finally`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  proc: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

export interface EtcdCluster {
  members: EtcdMember[];
  clientUrls: string[];
  dir: string;
  /** SIGKILL one member and wait for it to exit. */
  kill(member: EtcdMember): Promise<void>;
  stop(): Promise<void>;
}

export const ETCD_BIN = process.env.SKIFF_ETCD_BIN ?? '/usr/bin/etcd';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, timeoutMs: number, proc: ChildProcess): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with code ${proc.exitCode} before becoming healthy`);
    try {
      const res = await fetch(`${url}/health`);
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${url} not healthy after ${timeoutMs} ms`);
}

/** Start `size` etcd members forming one cluster on 127.0.0.1. */
export async function startEtcd(opts: { size?: number; extraArgs?: string[] } = {}): Promise<EtcdCluster> {
  const size = opts.size ?? 1;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-etcd-'));
  const specs: Array<{ name: string; clientPort: number; peerPort: number }> = [];
  for (let i = 0; i < size; i++) specs.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort() });
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const members: EtcdMember[] = [];
  const cluster: EtcdCluster = {
    members,
    clientUrls: specs.map((s) => `http://127.0.0.1:${s.clientPort}`),
    dir,
    async kill(m) {
      if (m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill('SIGKILL');
      await m.exited;
    },
    async stop() {
      await Promise.all(members.map((m) => cluster.kill(m)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const s of specs) {
      const clientUrl = `http://127.0.0.1:${s.clientPort}`;
      const peerUrl = `http://127.0.0.1:${s.peerPort}`;
      const log = fs.openSync(path.join(dir, `${s.name}.log`), 'a');
      const proc = spawn(
        ETCD_BIN,
        [
          `--name=${s.name}`,
          `--data-dir=${path.join(dir, s.name)}`,
          `--listen-client-urls=${clientUrl}`,
          `--advertise-client-urls=${clientUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=${initialCluster}`,
          `--initial-cluster-token=skiff-${path.basename(dir)}`,
          '--initial-cluster-state=new',
          '--logger=zap',
          '--log-level=warn',
          ...(opts.extraArgs ?? []),
        ],
        { stdio: ['ignore', log, log] },
      );
      fs.closeSync(log);
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      members.push({ name: s.name, clientUrl, peerUrl, proc, exited });
    }
    await Promise.all(members.map((m) => waitHealthy(m.clientUrl, 60_000, m.proc)));
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
