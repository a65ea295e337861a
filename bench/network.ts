/**
 * Networking benchmark (root): HTTP requests/s through a published port against the same server reached
 * straight at the container's address, same run, paired rounds in alternating order, measured by wrk.
 *
 *   node dist/bench/network.js [--rounds 20] [--duration 2] [--connections 16] [--server node|busybox]
 *
 * The server runs inside a skiff sandbox's network namespace (a keep-alive Node HTTP server by default; busybox
 * httpd forks per request and measures fork speed, not the datapath). Two client positions, each with its own
 * direct baseline:
 *   From another machine (wrk in an "outside" network namespace joined to the host by a veth pair):
 *     ext-direct   wrk -> container IP:80 (forwarded by the host, no NAT)
 *     ext-port     wrk -> host address:HOSTPORT (DNAT in PREROUTING, forwarded; client address preserved)
 *   From the host itself:
 *     direct       wrk -> container IP:80 (routed over the bridge)
 *     loopback     wrk -> 127.0.0.1:HOSTPORT (DNAT in OUTPUT + masquerade, route_localnet)
 *     hostaddr     wrk -> a host address:HOSTPORT (DNAT in OUTPUT)
 * Locally generated packets whose destination NAT changes are re-routed one by one (ip_route_me_harder), so
 * host-local clients pay a little per packet that clients from elsewhere do not.
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
import { makeOutsideNetns, removeOutsideNetns } from '../src/network/testutil';

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

async function wrk(url: string, a: Args, netns?: string): Promise<number> {
  const args = ['-t', '1', '-c', String(a.connections), '-d', `${a.duration}s`, url];
  const r = netns
    ? await run('nsenter', [`--net=${netns}`, 'wrk', ...args], { timeoutMs: (a.duration + 30) * 1000 })
    : await run('wrk', args, { timeoutMs: (a.duration + 30) * 1000 });
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
    const outside = path.join(tmp, 'outside');
    await makeOutsideNetns(outside, `skb${sfx}`, '10.209.9.1', '10.209.9.2', 24);
    type Path = 'ext-direct' | 'ext-port' | 'direct' | 'loopback' | 'hostaddr';
    const paths: Record<Path, { url: string; netns?: string }> = {
      'ext-direct': { url: `http://${ip}/`, netns: outside },
      'ext-port': { url: `http://10.209.9.1:${port}/`, netns: outside },
      direct: { url: `http://${ip}/` },
      loopback: { url: `http://127.0.0.1:${port}/` },
      hostaddr: { url: `http://${n.gateway}:${port}/` },
    };
    const order = Object.keys(paths) as Path[];
    // Warm-up (JIT of the server, conntrack, ARP).
    for (const k of order) await wrk(paths[k].url, { ...a, duration: 1 }, paths[k].netns);
    const res = Object.fromEntries(order.map((k) => [k, [] as number[]])) as Record<Path, number[]>;
    for (let r = 0; r < a.rounds; r++) {
      // Rotate the order so drift on a noisy machine does not favour one path.
      const o = [...order.slice(r % order.length), ...order.slice(0, r % order.length)];
      for (const k of o) res[k].push(await wrk(paths[k].url, a, paths[k].netns));
      const ratio = (k: Path, base: Path) => (res[k][r] / res[base][r]).toFixed(3);
      console.log(
        `round ${r + 1}: ext-direct ${res['ext-direct'][r].toFixed(0)}, ext-port ${ratio('ext-port', 'ext-direct')}; ` +
          `direct ${res.direct[r].toFixed(0)}, loopback ${ratio('loopback', 'direct')}, hostaddr ${ratio('hostaddr', 'direct')}`,
      );
    }
    const med = (k: Path, base: Path) => median(res[k].map((v, i) => v / res[base][i])).toFixed(3);
    console.log(`server=${a.server} wrk -t1 -c${a.connections} -d${a.duration}s, ${a.rounds} paired rounds`);
    console.log(`median req/s: ext-direct ${median(res['ext-direct']).toFixed(0)}, direct ${median(res.direct).toFixed(0)}`);
    console.log(`median ratio published/direct, client on another machine (host address) = ${med('ext-port', 'ext-direct')}`);
    console.log(`median ratio published/direct, client on the host, 127.0.0.1 = ${med('loopback', 'direct')}`);
    console.log(`median ratio published/direct, client on the host, host address = ${med('hostaddr', 'direct')}`);
    await removeOutsideNetns(outside, `skb${sfx}`);
  } finally {
    if (server?.pid && server.exitCode === null) process.kill(server.pid, 'SIGKILL');
    await removeOutsideNetns(path.join(tmp, 'outside'), `skb${sfx}`);
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
