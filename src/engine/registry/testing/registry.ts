/**
 * TEST ONLY: the real registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1:<free port> over a
 * temp root directory, optionally with htpasswd basic auth. stop() ends it and removes the directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface TestRegistry {
  /** "127.0.0.1:PORT" */
  host: string;
  port: number;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Installs the Debian package when absent (idempotent). */
export function ensureRegistryInstalled(): void {
  if (fs.existsSync(REGISTRY_BIN)) return;
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'docker-registry'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0 || !fs.existsSync(REGISTRY_BIN)) throw new Error('could not install docker-registry');
}

function up(port: number, secure: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const get = secure ? https.get : http.get;
    const req = get({ host: '127.0.0.1', port, path: '/v2/', rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 401);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

export interface RegistryOptions {
  /** Basic auth from an htpasswd file (bcrypt made with python3's crypt). */
  htpasswd?: { user: string; password: string };
  /** Token auth: the registry trusts tokens signed by the key of `certPem`, issued by `issuer`. */
  token?: { realm: string; service: string; issuer: string; certPem: string };
  /** Serve HTTPS only, with this certificate. */
  tls?: { certPem: string; keyPem: string };
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  ensureRegistryInstalled();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-registry-'));
  const port = await freePort();
  let auth = '';
  if (opts.htpasswd) {
    // The registry accepts bcrypt entries only; python3's crypt makes them (cost 4: fast).
    const r = spawnSync('python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))', opts.htpasswd.password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`could not make a bcrypt hash: ${r.stderr}`);
    fs.writeFileSync(path.join(dir, 'htpasswd'), `${opts.htpasswd.user}:${r.stdout.trim()}\n`);
    auth = `auth:\n  htpasswd:\n    realm: test-realm\n    path: ${path.join(dir, 'htpasswd')}\n`;
  } else if (opts.token) {
    fs.writeFileSync(path.join(dir, 'token-ca.pem'), opts.token.certPem);
    auth = `auth:\n  token:\n    realm: ${opts.token.realm}\n    service: ${opts.token.service}\n    issuer: ${opts.token.issuer}\n    rootcertbundle: ${path.join(dir, 'token-ca.pem')}\n`;
  }
  let tls = '';
  if (opts.tls) {
    fs.writeFileSync(path.join(dir, 'tls.crt'), opts.tls.certPem);
    fs.writeFileSync(path.join(dir, 'tls.key'), opts.tls.keyPem);
    tls = `  tls:\n    certificate: ${path.join(dir, 'tls.crt')}\n    key: ${path.join(dir, 'tls.key')}\n`;
  }
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${tls}${auth}`,
  );
  let log = '';
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => (alive = false));
  const stop = async () => {
    if (alive) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (!(await up(port, !!opts.tls))) {
    if (!alive || Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host: `127.0.0.1:${port}`, port, dir, log: () => log, stop };
}
