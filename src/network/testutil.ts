/** Helpers for the root-only networking tests (real kernel, real CNI plugins). Not used by production code. */
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { run } from './exec';

export const isRoot = process.getuid?.() === 0;

export function randomSuffix(n = 5): string {
  return Math.random().toString(36).slice(2, 2 + n).padEnd(n, '0');
}

export async function inNetns(netnsPath: string, args: string[], allowFail = true) {
  return run('nsenter', [`--net=${netnsPath}`, ...args], { allowFail, timeoutMs: 30_000 });
}

/** Starts a long-running process inside a netns; returns it (kill it in finally). */
export function spawnInNetns(netnsPath: string, args: string[]): ChildProcess {
  return spawn('nsenter', [`--net=${netnsPath}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

export function killProc(p: ChildProcess | undefined): void {
  if (p && p.exitCode === null && p.pid) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function httpGet(host: string, port: number, path = '/', timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export function tcpRead(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const chunks: Buffer[] = [];
    s.setTimeout(timeoutMs, () => s.destroy(new Error('timeout')));
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
    s.on('error', reject);
  });
}

export function udpRequest(host: string, port: number, payload: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      reject(new Error('udp timeout'));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m.toString());
    });
    s.send(payload, port, host);
  });
}

/** True when nothing listens on host:port for protocol (a bind succeeds). */
export function portFree(protocol: 'tcp' | 'udp', port: number, host = '0.0.0.0'): Promise<boolean> {
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind({ port, address: host, exclusive: true }, () => s.close(() => resolve(true)));
    } else {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
    }
  });
}

/** A tiny server program for `node -e` inside a netns: TCP answers the peer's address, UDP echoes with a prefix. */
export const PEER_SERVER_JS = `
const net = require('net'), dgram = require('dgram');
const port = Number(process.argv[1]);
net.createServer((s) => s.end('peer=' + s.remoteAddress.replace('::ffff:', ''))).listen(port, '0.0.0.0');
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => u.send('echo:' + m + ' from ' + r.address, r.port, r.address));
u.bind(port, '0.0.0.0', () => console.log('ready'));
`;

/**
 * An "outside" network namespace joined to the host by a veth pair: the host side gets hostCidr's first
 * address, the namespace the second. Stands in for the rest of the world in tests (never a real address).
 */
export async function makeOutsideNetns(nsPath: string, vethHost: string, hostIp: string, nsIp: string, prefix: number) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(nsPath, '');
  await run('unshare', [`--net=${nsPath}`, 'true']);
  await run('ip', ['link', 'add', vethHost, 'type', 'veth', 'peer', 'name', `${vethHost}p`]);
  await run('ip', ['link', 'set', `${vethHost}p`, 'netns', nsPath]);
  await run('ip', ['addr', 'add', `${hostIp}/${prefix}`, 'dev', vethHost]);
  await run('ip', ['link', 'set', vethHost, 'up']);
  await inNetns(nsPath, ['ip', 'addr', 'add', `${nsIp}/${prefix}`, 'dev', `${vethHost}p`], false);
  await inNetns(nsPath, ['ip', 'link', 'set', `${vethHost}p`, 'up'], false);
  await inNetns(nsPath, ['ip', 'link', 'set', 'lo', 'up'], false);
  await inNetns(nsPath, ['ip', 'route', 'add', 'default', 'via', hostIp], false);
}

export async function removeOutsideNetns(nsPath: string, vethHost: string) {
  await run('ip', ['link', 'del', vethHost], { allowFail: true });
  await run('umount', ['-l', nsPath], { allowFail: true });
  await run('rm', ['-f', nsPath], { allowFail: true });
}

/** nat-table rules mentioning a string (leak checks). */
export async function natRulesMentioning(s: string): Promise<string[]> {
  const r = await run('iptables-save', ['-t', 'nat']);
  return r.stdout.split('\n').filter((l) => l.includes(s));
}
