/**
 * API server benchmark: the same HTTP workload through `skiff server` over its two store backends
 * (embedded SQLite, etcd v3 started on loopback), in one invocation.
 *
 *   node dist/bench/apiserver.js [--backend sqlite|etcd|both] [--objects 5000] [--gets 20000] [--clients 50] [--single 1000]
 *
 * Phases per backend, all over HTTPS with keep-alive connections and the admin token:
 *   creates/s  — `--objects` ConfigMap creates from `--clients` concurrent clients
 *   gets/s     — `--gets` single-object GETs from `--clients` concurrent clients
 *   p99 write / read — `--single` one-at-a-time merge-patches / GETs of one object (latency of a lone request)
 *   watch p99  — a watch on the namespace; 10 concurrent writers patch objects with the send time in the body;
 *                latency = event arrival − send time.
 */
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ServerProc } from '../src/apiserver/testutil';
import { startEtcd, type EtcdCluster } from '../src/store/etcd-process';
import { concurrent, parseFlags, pct } from './measure';

interface Args {
  backend: 'sqlite' | 'etcd' | 'both';
  objects: number;
  gets: number;
  clients: number;
  single: number;
}

function parseArgs(): Args {
  return parseFlags<Args>({ backend: 'both', objects: 5000, gets: 20000, clients: 50, single: 1000 });
}

class Http {
  private agent: https.Agent;
  constructor(private port: number, private token: string, ca: string, sockets: number) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: sockets, ca });
  }
  req(method: string, p: string, body?: unknown, type = 'application/json'): Promise<{ status: number; text: string }> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const r = https.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path: p,
          agent: this.agent,
          headers: { Authorization: `Bearer ${this.token}`, ...(data ? { 'Content-Type': type, 'Content-Length': data.length } : {}) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      r.on('error', reject);
      r.end(data);
    });
  }
  close() {
    this.agent.destroy();
  }
}

const sortedMs = (xs: number[]) => [...xs].sort((a, b) => a - b);

const NS = '/api/v1/namespaces/default/configmaps';

async function runBackend(name: string, args: Args, endpoint?: string): Promise<Record<string, number>> {
  const srv = new ServerProc({ extraArgs: endpoint ? ['--datastore-endpoint', endpoint] : [] });
  await srv.start();
  const h = new Http(srv.port, srv.token, srv.ca, args.clients);
  const out: Record<string, number> = {};
  try {
    const payload = 'x'.repeat(512);
    out.createsPerSec = (await concurrent(args.clients, args.objects, async (i) => {
      const r = await h.req('POST', NS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, labels: { bench: 'yes' } }, data: { v: payload } });
      if (r.status !== 201) throw new Error(`create ${i}: ${r.status} ${r.text}`);
    })).opsPerSec;
    out.getsPerSec = (await concurrent(args.clients, args.gets, async (i) => {
      const r = await h.req('GET', `${NS}/cm-${(i * 7919) % args.objects}`);
      if (r.status !== 200) throw new Error(`get: ${r.status}`);
    })).opsPerSec;
    const w: number[] = [];
    const rd: number[] = [];
    for (let i = 0; i < args.single; i++) {
      let t = performance.now();
      const r = await h.req('PATCH', `${NS}/cm-0`, { data: { v: String(i) } }, 'application/merge-patch+json');
      if (r.status !== 200) throw new Error(`patch: ${r.status} ${r.text}`);
      w.push(performance.now() - t);
      t = performance.now();
      await h.req('GET', `${NS}/cm-1`);
      rd.push(performance.now() - t);
    }
    out.writeP50ms = pct(sortedMs(w), 50);
    out.writeP99ms = pct(sortedMs(w), 99);
    out.readP50ms = pct(sortedMs(rd), 50);
    out.readP99ms = pct(sortedMs(rd), 99);

    // Watch delivery.
    const list = JSON.parse((await h.req('GET', `${NS}?limit=1`)).text);
    const lat: number[] = [];
    const origin = Date.now() - performance.now();
    const watchDone = new Promise<void>((resolve, reject) => {
      const wreq = https.get(
        {
          host: '127.0.0.1',
          port: srv.port,
          path: `${NS}?watch=true&resourceVersion=${list.metadata.resourceVersion}&labelSelector=bench%3Dyes`,
          ca: srv.ca,
          headers: { Authorization: `Bearer ${srv.token}` },
        },
        (res) => {
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (c) => {
            buf += c;
            let i;
            while ((i = buf.indexOf('\n')) >= 0) {
              const ev = JSON.parse(buf.slice(0, i));
              buf = buf.slice(i + 1);
              const sent = Number(ev.object?.data?.sent);
              if (sent) lat.push(origin + performance.now() - sent);
              if (lat.length >= args.single) {
                wreq.destroy();
                resolve();
              }
            }
          });
        },
      );
      wreq.on('error', (e) => (lat.length >= args.single ? resolve() : reject(e)));
    });
    await new Promise((r) => setTimeout(r, 200));
    await concurrent(10, args.single, async (i) => {
      const r = await h.req('PATCH', `${NS}/cm-${i % args.objects}`, { data: { sent: String(origin + performance.now()) } }, 'application/merge-patch+json');
      if (r.status !== 200) throw new Error(`watch write: ${r.status}`);
    });
    await watchDone;
    out.watchP50ms = pct(sortedMs(lat), 50);
    out.watchP99ms = pct(sortedMs(lat), 99);
    const rss = Number(fs.readFileSync(`/proc/${srv.child!.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024;
    out.serverRssMiB = rss;
  } finally {
    h.close();
    await srv.stop();
    await srv.cleanup();
  }
  console.log(`${name}: ${JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(v * 10) / 10])))}`);
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs();
  console.log(`apiserver bench: ${JSON.stringify(args)} on ${os.cpus().length} cores, node ${process.version}`);
  const results: Record<string, Record<string, number>> = {};
  if (args.backend !== 'etcd') results.sqlite = await runBackend('sqlite', args);
  if (args.backend !== 'sqlite') {
    let etcd: EtcdCluster | undefined;
    try {
      etcd = await startEtcd();
      results.etcd = await runBackend('etcd', args, etcd.clientUrls.join(','));
    } finally {
      await etcd?.stop();
    }
  }
  const rows = ['createsPerSec', 'getsPerSec', 'writeP50ms', 'writeP99ms', 'readP50ms', 'readP99ms', 'watchP50ms', 'watchP99ms', 'serverRssMiB'];
  const names = Object.keys(results);
  console.log(`\n| metric | ${names.join(' | ')} |\n| --- | ${names.map(() => '---').join(' | ')} |`);
  for (const r of rows) console.log(`| ${r} | ${names.map((n) => (results[n][r] ?? 0).toFixed(1)).join(' | ')} |`);
  void path;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
