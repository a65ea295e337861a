import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_CAPS, DEFAULT_CAPS, buildSpec, capsFromMask, effectiveCaps, type SpecInput } from './spec';

const base: SpecInput = {
  id: 'x',
  rootfs: '/r',
  readonlyRootfs: false,
  args: ['sh'],
  env: [],
  cwd: '/',
  user: { uid: 0, gid: 0, additionalGids: [] },
  terminal: false,
  hostname: 'h',
  network: { mode: 'new' },
  privileged: false,
  noNewPrivileges: false,
  cgroupsPath: '/skiff/x',
  resources: { swapAccounting: true },
  nofileHard: 20000,
  mounts: [],
};

test('capability arithmetic follows Docker (defaults, add, drop, ALL), bounded by the host', () => {
  assert.deepEqual(effectiveCaps({}).sort(), [...DEFAULT_CAPS].sort());
  assert.ok(effectiveCaps({ capAdd: ['net_admin'] }).includes('CAP_NET_ADMIN'));
  assert.deepEqual(effectiveCaps({ capDrop: ['ALL'], capAdd: ['CHOWN'] }), ['CAP_CHOWN']);
  assert.ok(!effectiveCaps({ capDrop: ['CAP_KILL'] }).includes('CAP_KILL'));
  const host = capsFromMask('000001fffeffffff');
  assert.ok(!host.includes('CAP_SYS_RESOURCE'));
  assert.equal(host.length, ALL_CAPS.length - 1);
  assert.ok(!effectiveCaps({ privileged: true, hostCaps: host }).includes('CAP_SYS_RESOURCE'));
  assert.throws(() => effectiveCaps({ capAdd: ['NOT_A_CAP'] }), /unknown capability/);
});

test('spec has Docker defaults: namespaces, masked paths, seccomp, rlimit under the hard limit', () => {
  const s = buildSpec(base);
  assert.deepEqual(s.linux.namespaces.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
  assert.ok(s.linux.maskedPaths!.includes('/proc/kcore'));
  assert.ok(s.linux.readonlyPaths!.includes('/proc/sys'));
  assert.equal(s.linux.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
  assert.ok(s.linux.seccomp!.syscalls[0].names.includes('read'));
  assert.ok(!s.linux.seccomp!.syscalls.some((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args && r.names.includes('mount')));
  assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 }]);
  assert.ok(s.mounts.some((m) => m.destination === '/dev/shm' && m.options!.includes('size=67108864')));
  // host network: no netns entry; joined: a path
  assert.ok(!buildSpec({ ...base, network: { mode: 'host' } }).linux.namespaces.some((n) => n.type === 'network'));
  assert.deepEqual(
    buildSpec({ ...base, network: { mode: 'path', path: '/proc/1/ns/net' } }).linux.namespaces.find((n) => n.type === 'network'),
    { type: 'network', path: '/proc/1/ns/net' },
  );
  // privileged: no masks, no seccomp
  const p = buildSpec({ ...base, privileged: true });
  assert.equal(p.linux.seccomp, undefined);
  assert.equal(p.linux.maskedPaths, undefined);
});

test('resources: memory/swap, cpus as quota, shares, pids', () => {
  const s = buildSpec({ ...base, resources: { swapAccounting: true, memory: 64 << 20, nanoCpus: 5e8, cpuShares: 512, pidsLimit: 20 } });
  assert.deepEqual(s.linux.resources.memory, { limit: 64 << 20, swap: 128 << 20 });
  assert.deepEqual(s.linux.resources.cpu, { shares: 512, period: 100000, quota: 50000 });
  assert.deepEqual(s.linux.resources.pids, { limit: 20 });
  const unlimitedSwap = buildSpec({ ...base, resources: { swapAccounting: true, memory: 64 << 20, memorySwap: -1 } });
  assert.deepEqual(unlimitedSwap.linux.resources.memory, { limit: 64 << 20, swap: -1 });
  const noSwapAcct = buildSpec({ ...base, resources: { swapAccounting: false, memory: 64 << 20 } });
  assert.deepEqual(noSwapAcct.linux.resources.memory, { limit: 64 << 20 });
});

test('an overlay root mounted by runc comes first', () => {
  const s = buildSpec({ ...base, rootMount: { destination: '/', type: 'overlay', source: 'overlay', options: ['lowerdir=/l'] } });
  assert.equal(s.mounts[0].destination, '/');
});
