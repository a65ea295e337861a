import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCreateRequest, parsePortSpec, parseRestartPolicy, parseEnvFileText, CONTAINER_FLAGS, RUN_ONLY_FLAGS } from './container-opts';
import { parseFlags } from './flags';

const spec = { usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]', description: '', interspersed: false, minArgs: 1, flags: [...CONTAINER_FLAGS, ...RUN_ONLY_FLAGS] };
function build(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const p = parseFlags(spec, argv);
  return buildCreateRequest({ values: p.values, changed: p.changed, args: p.args, env, cwd: '/home/u', readFile: () => 'X=1\n# c\n\nY\n', detach: Boolean(p.values.detach) });
}

test('ports like nat.ParsePortSpec', () => {
  assert.deepEqual(parsePortSpec('8080:80'), [{ port: '80/tcp', binding: { HostIp: '', HostPort: '8080' } }]);
  assert.deepEqual(parsePortSpec('127.0.0.1:53:53/udp'), [{ port: '53/udp', binding: { HostIp: '127.0.0.1', HostPort: '53' } }]);
  assert.deepEqual(parsePortSpec('80'), [{ port: '80/tcp', binding: { HostIp: '', HostPort: '' } }]);
  assert.equal(parsePortSpec('8000-8001:80-81').length, 2);
  assert.deepEqual(parsePortSpec('[::1]:80:80')[0].binding, { HostIp: '::1', HostPort: '80' });
  assert.throws(() => parsePortSpec('80:x'), { message: 'invalid containerPort: x' });
  assert.throws(() => parsePortSpec('80/foo'), { message: 'invalid proto: foo' });
});

test('restart policies', () => {
  assert.deepEqual(parseRestartPolicy('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(parseRestartPolicy('always'), { Name: 'always', MaximumRetryCount: 0 });
  assert.throws(() => parseRestartPolicy('sometimes'), /unknown policy 'sometimes'/);
  assert.throws(() => parseRestartPolicy('always:2'), /can only be used with 'on-failure'/);
});

test('run flags become the create body', () => {
  const r = build(['--name', 'web', '-e', 'A=1', '-e', 'HOME_X', '-v', 'data:/data', '-v', './src:/src:ro', '-v', '/anon', '-w', '/tmp', '-u', '1000', '--entrypoint', 'sh', '-m', '512m', '--cpus', '1.5', '-p', '8080:80', '--network', 'none', '--restart', 'on-failure:2', '--health-cmd', 'true', '--health-interval', '2s', '-it', 'busybox', '-c', 'echo hi'], { HOME_X: '/h' });
  const b = r.body as Record<string, any>;
  assert.equal(r.name, 'web');
  assert.equal(b.Image, 'busybox');
  assert.deepEqual(b.Cmd, ['-c', 'echo hi']);
  assert.deepEqual(b.Entrypoint, ['sh']);
  assert.deepEqual(b.Env, ['A=1', 'HOME_X=/h']);
  assert.deepEqual(b.HostConfig.Binds, ['data:/data', '/home/u/src:/src:ro']);
  assert.deepEqual(b.Volumes, { '/anon': {} });
  assert.equal(b.WorkingDir, '/tmp');
  assert.equal(b.User, '1000');
  assert.equal(b.HostConfig.Memory, 536870912);
  assert.equal(b.HostConfig.NanoCpus, 1.5e9);
  assert.deepEqual(b.ExposedPorts, { '80/tcp': {} });
  assert.deepEqual(b.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.equal(b.HostConfig.NetworkMode, 'none');
  assert.deepEqual(b.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  assert.deepEqual(b.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 2e9, Timeout: 0, StartPeriod: 0, StartInterval: 0, Retries: 0 });
  assert.equal(b.Tty, true);
  assert.equal(b.OpenStdin, true);
  assert.equal(b.AttachStdin, true);
  assert.equal(b.StdinOnce, true);
});

test('detached, --rm and conflicts', () => {
  const b = build(['-d', '--rm', 'busybox']).body as Record<string, any>;
  assert.equal(b.AttachStdout, false);
  assert.equal(b.HostConfig.AutoRemove, true);
  assert.equal(b.Cmd, null);
  assert.deepEqual(build(['--entrypoint', '', 'x']).body.Entrypoint, ['']);
  assert.throws(() => build(['--rm', '--restart', 'always', 'x']), /cannot specify both --restart and --rm/);
  assert.throws(() => build(['-d', '-a', 'stdout', 'x']), /cannot specify both --attach and --detach/);
  assert.deepEqual(parseEnvFileText('X=1\n# c\n\nY\nZ\n', { Y: 'y' }), ['X=1', 'Y=y']);
  assert.deepEqual(build(['--env-file', 'f', 'x']).body.Env, ['X=1']);
});
