import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayablePorts, containerRow } from './ps';
import { imageRows } from './images';
import { normalizeName, splitRef } from './pull';
import { statsRow } from './stats';
import { prettyEvent } from './system';

test('ports print like docker DisplayablePorts', () => {
  assert.equal(displayablePorts([]), '');
  assert.equal(displayablePorts([{ PrivatePort: 80, Type: 'tcp' }]), '80/tcp');
  assert.equal(displayablePorts([{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }]), '0.0.0.0:8080->80/tcp');
  assert.equal(
    displayablePorts([
      { PrivatePort: 81, Type: 'tcp' },
      { PrivatePort: 80, Type: 'tcp' },
      { PrivatePort: 82, Type: 'tcp' },
      { PrivatePort: 53, Type: 'udp' },
      { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    ]),
    '53/udp, 80-82/tcp, [::]:8080->80/tcp',
  );
  assert.equal(displayablePorts([{ IP: '0.0.0.0', PrivatePort: 9000, PublicPort: 9000, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 9001, PublicPort: 9001, Type: 'tcp' }]), '0.0.0.0:9000-9001->9000-9001/tcp');
});

test('container rows: truncation, names, command quoting', () => {
  const c = { Id: 'a'.repeat(64), Names: ['/web', '/other/link'], Image: 'busybox@sha256:' + 'b'.repeat(64), Command: 'sh -c "echo started; sleep 1"', Created: 1000, State: 'running', Status: 'Up 2 seconds', Labels: { z: '1', a: '2' } };
  const r = containerRow(c, true, 1000_000 + 90_000);
  assert.equal(r.ID, 'a'.repeat(12));
  assert.equal(r.Names, 'web');
  assert.equal(r.Image, 'busybox');
  assert.equal(r.Command, '"sh -c \\"echo started…"');
  assert.equal(r.RunningFor, 'About a minute ago');
  assert.equal(r.Labels, 'a=2,z=1');
  assert.equal(r.Label('z'), '1');
  const full = containerRow(c, false);
  assert.equal(full.Names, 'web,other/link');
  assert.equal(full.Command, '"sh -c \\"echo started; sleep 1\\""');
});

test('image rows: one per tag, dangling as <none>', () => {
  const rows = imageRows(
    [
      { Id: 'sha256:' + 'c'.repeat(64), RepoTags: ['busybox:latest', 'reg:5000/x/y:1'], RepoDigests: ['busybox@sha256:dd'], Created: 0, Size: 4264960 },
      { Id: 'sha256:' + 'e'.repeat(64), RepoTags: [], RepoDigests: [], Created: 0, Size: 100 },
    ],
    true,
  );
  assert.deepEqual(rows.map((r) => [r.Repository, r.Tag, r.Digest, r.ID, r.Size]), [
    ['busybox', 'latest', 'sha256:dd', 'cccccccccccc', '4.26MB'],
    ['reg:5000/x/y', '1', '<none>', 'cccccccccccc', '4.26MB'],
    ['<none>', '<none>', '<none>', 'eeeeeeeeeeee', '100B'],
  ]);
});

test('references', () => {
  assert.deepEqual(splitRef('reg:5000/a/b:tag'), { name: 'reg:5000/a/b', tag: 'tag', digest: undefined });
  assert.deepEqual(splitRef('reg:5000/a/b'), { name: 'reg:5000/a/b', digest: undefined });
  assert.deepEqual(splitRef('a@sha256:x'), { name: 'a', digest: 'sha256:x' });
  assert.equal(normalizeName('busybox'), 'docker.io/library/busybox');
  assert.equal(normalizeName('me/app'), 'docker.io/me/app');
  assert.equal(normalizeName('localhost:5000/a'), 'localhost:5000/a');
  assert.equal(normalizeName('ghcr.io/a/b'), 'ghcr.io/a/b');
});

test('stats arithmetic like docker (cgroup v1 cache excluded)', () => {
  const r = statsRow(
    {
      id: 'f'.repeat(64),
      name: '/web',
      cpu_stats: { cpu_usage: { total_usage: 300 }, system_cpu_usage: 2000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 100 }, system_cpu_usage: 1000 },
      memory_stats: { usage: 3 * 1024 * 1024, limit: 8 * 1024 * 1024, stats: { total_inactive_file: 1024 * 1024 } },
      networks: { eth0: { rx_bytes: 1000, tx_bytes: 2000 } },
      blkio_stats: { io_service_bytes_recursive: [{ op: 'Read', value: 4096 }, { op: 'Write', value: 0 }] },
      pids_stats: { current: 3 },
    },
    'web',
  );
  assert.deepEqual(r, { Container: 'web', ID: 'ffffffffffff', Name: 'web', CPUPerc: '40.00%', MemUsage: '2MiB / 8MiB', MemPerc: '25.00%', NetIO: '1kB / 2kB', BlockIO: '4.1kB / 0B', PIDs: '3' });
});

test('events print like docker', () => {
  const raw = '{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"web","image":"busybox"}},"time":1700000000,"timeNano":1700000000123456789}';
  const line = prettyEvent(raw, JSON.parse(raw));
  assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.123456789(Z|[+-]\d\d:\d\d) container start abc \(image=busybox, name=web\)\n$/);
});
