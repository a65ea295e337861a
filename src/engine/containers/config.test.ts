import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandOf, mergeConfig, parseBind, parseSignal, restartPolicyOf, validateHostConfig } from './config';
import { nextBackoff, shouldRestart, startOnBoot, BACKOFF_START_MS } from './restart';
import { parseLine, parseTimestamp } from './logs';
import { parseLogOpts } from './manager';

test('image config merged with the request (Docker rules)', () => {
  const image = { Entrypoint: ['/init'], Cmd: ['serve'], Env: ['A=1', 'PATH=/bin'], WorkingDir: '/app', User: 'app', Labels: { a: '1' }, StopSignal: 'SIGQUIT' };
  const c = mergeConfig({ Env: ['A=2', 'B=3'], Labels: { b: '2' } }, image, 'img');
  assert.deepEqual(c.Env, ['A=2', 'PATH=/bin', 'B=3']);
  assert.deepEqual(commandOf(c), { path: '/init', args: ['serve'] });
  assert.equal(c.WorkingDir, '/app');
  assert.equal(c.User, 'app');
  assert.equal(c.StopSignal, 'SIGQUIT');
  assert.deepEqual(c.Labels, { a: '1', b: '2' });
  // an explicit entrypoint drops the image's Cmd
  assert.deepEqual(commandOf(mergeConfig({ Entrypoint: ['sh'] }, image, 'img')), { path: 'sh', args: [] });
  assert.deepEqual(commandOf(mergeConfig({ Cmd: ['x'] }, image, 'img')), { path: '/init', args: ['x'] });
  assert.throws(() => commandOf(mergeConfig({ Entrypoint: [''] }, {}, 'img')), /no command specified/);
  // PATH is provided when neither gives one
  assert.ok(mergeConfig({}, { Cmd: ['sh'] }, 'img').Env[0].startsWith('PATH='));
});

test('host config validation rejects bad figures', () => {
  assert.throws(() => validateHostConfig({ Memory: -1 }), /must not be negative/);
  assert.throws(() => validateHostConfig({ Memory: 1024 }), /Minimum memory limit/);
  assert.throws(() => validateHostConfig({ Memory: 10 << 20, MemorySwap: 5 << 20 }), /larger than memory/);
  assert.throws(() => validateHostConfig({ MemorySwap: 10 << 20 }), /Memory limit/);
  assert.throws(() => validateHostConfig({ NanoCpus: 1e15 }), /Range of CPUs/);
  assert.throws(() => validateHostConfig({ RestartPolicy: { Name: 'sometimes' } }), /invalid restart policy/);
  assert.throws(() => validateHostConfig({ RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } }), /only be used with 'on-failure'/);
  assert.throws(() => validateHostConfig({ AutoRemove: true, RestartPolicy: { Name: 'always' } }), /AutoRemove/);
  assert.throws(() => validateHostConfig({ SecurityOpt: ['bogus'] }), /security-opt/);
  assert.doesNotThrow(() => validateHostConfig({ Memory: 64 << 20, MemorySwap: -1, NanoCpus: 5e8, SecurityOpt: ['no-new-privileges', 'seccomp=unconfined'] }));
  assert.deepEqual(restartPolicyOf({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } }), { name: 'on-failure', maxRetries: 3 });
});

test('binds, signals, log options', () => {
  assert.deepEqual(parseBind('/h:/c:ro'), { source: '/h', target: '/c', readOnly: true, named: false, propagation: undefined });
  assert.equal(parseBind('vol:/data').named, true);
  assert.equal(parseBind('/anon').source, '');
  assert.throws(() => parseBind('a:b'), /must be absolute/);
  assert.throws(() => parseBind('/h:/c:bogus'), /invalid mode/);
  assert.equal(parseSignal('SIGTERM'), 15);
  assert.equal(parseSignal('kill'), 9);
  assert.equal(parseSignal('10'), 10);
  assert.equal(parseSignal('RTMIN+2'), 36);
  assert.throws(() => parseSignal('NOPE'), /invalid signal/);
  assert.deepEqual(parseLogOpts({ 'max-size': '10k', 'max-file': '3' }), { maxSize: 10240, maxFile: 3 });
  assert.throws(() => parseLogOpts({ 'max-size': 'ten' }), /max-size/);
});

test('restart policy decisions and back-off', () => {
  const onf = { name: 'on-failure' as const, maxRetries: 2 };
  assert.equal(shouldRestart(onf, { exitCode: 1, manuallyStopped: false, restartCount: 1 }), true);
  assert.equal(shouldRestart(onf, { exitCode: 1, manuallyStopped: false, restartCount: 2 }), false);
  assert.equal(shouldRestart(onf, { exitCode: 0, manuallyStopped: false, restartCount: 0 }), false);
  assert.equal(shouldRestart({ name: 'always', maxRetries: 0 }, { exitCode: 0, manuallyStopped: true, restartCount: 0 }), false);
  assert.equal(shouldRestart({ name: 'no', maxRetries: 0 }, { exitCode: 1, manuallyStopped: false, restartCount: 0 }), false);
  assert.equal(startOnBoot({ name: 'always', maxRetries: 0 }, { hasBeenStarted: true, manuallyStopped: true }), true);
  assert.equal(startOnBoot({ name: 'unless-stopped', maxRetries: 0 }, { hasBeenStarted: true, manuallyStopped: true }), false);
  assert.equal(nextBackoff(0, 0), BACKOFF_START_MS);
  assert.equal(nextBackoff(100, 50), 200);
  assert.equal(nextBackoff(6400, 20_000), BACKOFF_START_MS);
});

test('k8s-file log lines parse back to the bytes written', () => {
  const full = parseLine(Buffer.from('2026-11-21T01:54:14.618130504+00:00 stdout F hello'))!;
  assert.equal(full.stream, 'stdout');
  assert.equal(full.data.toString(), 'hello\n');
  assert.equal(full.time, '2026-11-21T01:54:14.618130504Z');
  const partial = parseLine(Buffer.from('2026-11-21T01:54:14.618130504+00:00 stderr P part'))!;
  assert.equal(partial.stream, 'stderr');
  assert.equal(partial.data.toString(), 'part');
  assert.equal(parseTimestamp('2026-11-21T02:00:00.5+01:00').ms, Date.parse('2026-11-21T01:00:00.500Z'));
  assert.equal(parseLine(Buffer.from('garbage')), undefined);
});
