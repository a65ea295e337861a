/**
 * Engine benchmark: `docker run --rm busybox true` through skiff (the real docker CLI against a `skiff
 * engine` child) vs `runc run` of an equivalent bundle (same busybox rootfs content, the spec skiff itself
 * generates: same namespaces, capabilities, seccomp profile, masked paths, /etc binds, a cgroup, a fresh
 * container id each time). Paired rounds in alternating order; prints the median of per-round ratios.
 * Also records the engine's idle RSS.
 *
 *   npm run build && node dist/bench/run.js [--rounds 30] [--network none|default]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { startEngine } from '../test/engine';
import { cleanupRuntime, enginePid } from '../src/engine/containers/test-support';
import { busyboxImage } from '../src/engine/images/busybox';
import { buildSpec } from '../src/engine/runtime/spec';
import { removeCgroups } from '../src/engine/runtime/cgroups';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function nofileHard(): number {
  const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  return Math.min(Number(line.split(/\s{2,}/)[2]), 1048576);
}

async function main(): Promise<void> {
  const rounds = arg('rounds', 30);
  // `--network none` gives the container the same empty network namespace as the runc bundle; the default
  // (bridge) adds a CNI setup and teardown per container, which the peer does not do.
  const netIdx = process.argv.indexOf('--network');
  const network = netIdx >= 0 ? process.argv[netIdx + 1] : 'default';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-run-'));
  const engine = await startEngine({ busybox: true });
  const cgParent = `skiff-bench-${process.pid}`;
  const runcRoot = path.join(tmp, 'runc');
  try {
    // The peer's bundle: the busybox image's layer unpacked, and skiff's own spec for `true`.
    const bundle = path.join(tmp, 'bundle');
    const rootfs = path.join(bundle, 'rootfs');
    fs.mkdirSync(rootfs, { recursive: true });
    fs.writeFileSync(path.join(tmp, 'layer.tar'), busyboxImage().layer);
    execFileSync('tar', ['-xf', path.join(tmp, 'layer.tar'), '-C', rootfs]);
    const etc = (name: string, content: string) => {
      fs.writeFileSync(path.join(tmp, name), content);
      return { destination: `/etc/${name}`, type: 'bind', source: path.join(tmp, name), options: ['rbind', 'rprivate', 'rw'] };
    };
    const hostCaps = undefined;
    const spec = buildSpec({
      id: 'bench',
      rootfs,
      readonlyRootfs: false,
      args: ['true'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'HOSTNAME=benchbench'],
      cwd: '/',
      user: { uid: 0, gid: 0, additionalGids: [] },
      terminal: false,
      hostname: 'benchbench',
      network: { mode: 'new' },
      privileged: false,
      hostCaps,
      noNewPrivileges: false,
      cgroupsPath: `/${cgParent}/bench`,
      resources: { swapAccounting: false },
      nofileHard: nofileHard(),
      mounts: [etc('hostname', 'benchbench\n'), etc('hosts', '127.0.0.1\tlocalhost\n'), etc('resolv.conf', fs.readFileSync('/etc/resolv.conf', 'utf8'))],
    });
    const specFor = (id: string) => ({ ...spec, linux: { ...spec.linux, cgroupsPath: `/${cgParent}/${id}` } });

    const dockerEnv = { ...process.env, DOCKER_HOST: engine.host, DOCKER_CONFIG: path.join(tmp, 'docker-config') };
    let n = 0;
    const netArgs = network === 'default' ? [] : ['--network', network];
    const skiffRun = () => timed('docker', ['run', '--rm', ...netArgs, 'busybox', 'true'], dockerEnv);
    const runcRun = async () => {
      const id = `bench-${process.pid}-${n++}`;
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(specFor(id)));
      const ms = await timed('runc', ['--root', runcRoot, 'run', '--bundle', bundle, id], process.env);
      await removeCgroups(`/${cgParent}/${id}`);
      return ms;
    };
    for (let i = 0; i < 3; i++) {
      await skiffRun();
      await runcRun();
    }
    const skiff: number[] = [];
    const runc: number[] = [];
    const ratios: number[] = [];
    // The engine's CPU time (all its threads, in clock ticks) over the measured rounds: a figure that load
    // on the machine disturbs far less than wall time.
    const pid = enginePid(engine.dataDir);
    const cpuTicks = () => {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return Number(f[11]) + Number(f[12]);
    };
    const loadBefore = os.loadavg()[0];
    const cpu0 = cpuTicks();
    for (let i = 0; i < rounds; i++) {
      let s: number;
      let r: number;
      if (i % 2 === 0) {
        s = await skiffRun();
        r = await runcRun();
      } else {
        r = await runcRun();
        s = await skiffRun();
      }
      skiff.push(s);
      runc.push(r);
      ratios.push(s / r);
    }
    const loadAfter = os.loadavg()[0];
    // Idle RSS: after the runs, with nothing running, once things settle (background cleanup included).
    await new Promise((r) => setTimeout(r, 3000));
    const cpuMs = ((cpuTicks() - cpu0) * 1000) / 100 / rounds; // USER_HZ = 100
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)![1]);
    console.log(`rounds: ${rounds} (paired, alternating order), load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after`);
    console.log(`docker run --rm ${netArgs.join(' ')}${netArgs.length ? ' ' : ''}busybox true via skiff: median ${median(skiff).toFixed(1)} ms`);
    console.log(`runc run (equivalent bundle):           median ${median(runc).toFixed(1)} ms`);
    console.log(`median ratio skiff/runc: ${median(ratios).toFixed(2)}x (target <= 2.0x)`);
    console.log(`engine CPU per container: ${cpuMs.toFixed(1)} ms (user + system, all threads)`);
    console.log(`engine idle RSS: ${(rssKb / 1024).toFixed(1)} MiB`);
  } finally {
    await cleanupRuntime(engine);
    await engine.stop();
    for (const c of fs.readdirSync('/sys/fs/cgroup')) {
      try {
        fs.rmdirSync(path.join('/sys/fs/cgroup', c, cgParent));
      } catch {
        /* none */
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
