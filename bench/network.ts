/**
 * Networking benchmark (root): HTTP requests/s through a published port against the same server reached
 * straight at the container's address, same run, paired rounds in alternating order, measured by wrk.
 *
 *   node dist/bench/network.js [--rounds 20] [--duration 2] [--connections 16] [--server node|busybox]
 *
 * The server runs inside a skiff sandbox's network namespace (a keep-alive Node HTTP server by default; busybox
 * httpd forks per request and measures fork speed, not the datapath). Paths measured:
 *   direct     wrk -> container IP:80 (routed over the bridge)
 *   loopback   wrk -> 127.0.0.1:HOSTPORT (portmap DNAT in OUTPUT + masquerade, route_localnet)
 *   hostaddr   wrk -> a host address:HOSTPORT (DNAT, no masquerade: the client address is preserved)
 * Short slices in rotating order, many rounds: on a shared 2-core machine the load swings within seconds, and
 * the median of per-round ratios cancels what a few long runs cannot. Prints per-round figures and the median
 * ratio published/direct (target >= 0.9).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NetworkManager } from '../src/network/manager';
import { run } from '../src/network/exec';

interface Args {
  rounds: number;
  duration: number;
  connections: number;
  server: 'node' | 'busybox';
}

function parseArgs(): Args {
  const a: Args = { rounds: 20, duration: 2, connections: 16, server: 'node' };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (argv[i] === '--rounds') a.rounds = Number(v);
    else if (argv[i] === '--duration') a.duration = Number(v);
    else if (argv[i] === '--connections') a.connections = Number(v);
    else if (argv[i] === '--server') a.server = v as Args['server'];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

const NODE_SERVER = `require('http').createServer((q, s) => s.end('hello from skiff\\n')).listen(80, '0.0.0.0', () => console.log('ready'));`;

async function wrk(url: string, a: Args): Promise<number> {
  const r = await run('wrk', ['-t', '1', '-c', String(a.connections), '-d', `${a.duration}s`, url], { timeoutMs: (a.duration + 30) * 1000 });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (!m) throw new Error(`wrk output without Requests/sec: ${r.stdout}`);
  if (/Non-2xx|Socket errors/.test(r.stdout)) process.stderr.write(`warning (${url}): ${r.stdout.split('\n').filter((l) => /Non-2xx|Socket errors/.test(l)).join(' ')}\n`);
  return Number(m[1]);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const a = parseArgs();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-netbench-'));
  const sfx = Math.random().toString(36).slice(2, 7);
  let m: NetworkManager | undefined;
  let server: ChildProcess | undefined;
  try {
    m = await NetworkManager.open({ dataDir: path.join(tmp, 'data'), runDir: path.join(tmp, 'run'), noDefaultNetwork: true, upstreamResolvers: [] });
    const n = await m.createNetwork({ name: `bench${sfx}`, subnet: '10.209.1.0/24' });
    const sb = await m.setup({ id: `bench${sfx}`, name: 'bench', hostname: 'bench', endpoints: [{ network: n.name }], portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 }] });
    const ip = sb.endpoints[0].ipAddress;
    const port = sb.ports[0].hostPort;
    const args = a.server === 'node' ? ['node', '-e', NODE_SERVER] : ['busybox', 'httpd', '-f', '-p', '80', '-h', tmp];
    server = spawn('nsenter', [`--net=${sb.netnsPath}`, ...args], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      if ((await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${ip}/`], { allowFail: true })).stdout === '200') break;
      if (i > 100) throw new Error('server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const urls = { direct: `http://${ip}/`, loopback: `http://127.0.0.1:${port}/`, hostaddr: `http://${n.gateway}:${port}/` };
    // Warm-up (JIT of the server, conntrack, ARP).
    for (const u of Object.values(urls)) await wrk(u, { ...a, duration: 2 });
    const res: Record<keyof typeof urls, number[]> = { direct: [], loopback: [], hostaddr: [] };
    const order: (keyof typeof urls)[] = ['direct', 'loopback', 'hostaddr'];
    for (let r = 0; r < a.rounds; r++) {
      // Rotate the order so drift on a noisy machine does not favour one path.
      const o = [...order.slice(r % 3), ...order.slice(0, r % 3)];
      for (const k of o) res[k].push(await wrk(urls[k], a));
      console.log(
        `round ${r + 1}: direct ${res.direct[r].toFixed(0)} req/s, loopback ${res.loopback[r].toFixed(0)} (${(res.loopback[r] / res.direct[r]).toFixed(3)}), ` +
          `hostaddr ${res.hostaddr[r].toFixed(0)} (${(res.hostaddr[r] / res.direct[r]).toFixed(3)})`,
      );
    }
    const ratio = (k: 'loopback' | 'hostaddr') => median(res[k].map((v, i) => v / res.direct[i]));
    console.log(`server=${a.server} wrk -t1 -c${a.connections} -d${a.duration}s, ${a.rounds} paired rounds`);
    console.log(`median direct ${median(res.direct).toFixed(0)} req/s`);
    console.log(`median ratio published(127.0.0.1)/direct = ${ratio('loopback').toFixed(3)}`);
    console.log(`median ratio published(host address)/direct = ${ratio('hostaddr').toFixed(3)}`);
  } finally {
    if (server?.pid && server.exitCode === null) process.kill(server.pid, 'SIGKILL');
    if (m) {
      await m.reconcile([]).catch(() => undefined);
      for (const n of m.listNetworks()) await m.removeNetwork(n.id).catch(() => undefined);
      m.close();
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
