import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kvMap, parseFlags, UsageError, usageErrorText, helpText, type CommandSpec } from './flags';
import { ramInBytes } from './units';

const run: CommandSpec = {
  usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create and run a new container from an image',
  interspersed: false,
  minArgs: 1,
  flags: [
    { name: 'detach', short: 'd', kind: 'bool' },
    { name: 'interactive', short: 'i', kind: 'bool' },
    { name: 'tty', short: 't', kind: 'bool' },
    { name: 'rm', kind: 'bool' },
    { name: 'env', short: 'e', kind: 'list' },
    { name: 'publish', short: 'p', kind: 'list' },
    { name: 'name', kind: 'string' },
    { name: 'hostname', short: 'h', kind: 'string' },
    { name: 'memory', short: 'm', kind: 'string', type: 'bytes', parse: ramInBytes },
    { name: 'stop-timeout', kind: 'int' },
  ],
};
const ps: CommandSpec = {
  usage: 'ps [OPTIONS]',
  description: 'List containers',
  maxArgs: 0,
  flags: [
    { name: 'all', short: 'a', kind: 'bool' },
    { name: 'quiet', short: 'q', kind: 'bool' },
    { name: 'filter', short: 'f', kind: 'list' },
  ],
};
const stop: CommandSpec = { usage: 'stop [OPTIONS] CONTAINER [CONTAINER...]', description: 'Stop', minArgs: 1, flags: [{ name: 'time', short: 't', kind: 'int' }] };

test('clustered shorthands, repeated lists and stop-at-image', () => {
  const p = parseFlags(run, ['-it', '--rm', '-e', 'A=1', '-eB=2', '-e=C=3', '--env', 'D', '--name=web', 'busybox', 'sh', '-c', 'echo -e hi']);
  assert.equal(p.values.interactive, true);
  assert.equal(p.values.tty, true);
  assert.equal(p.values.rm, true);
  assert.deepEqual(p.values.env, ['A=1', 'B=2', 'C=3', 'D']);
  assert.equal(p.values.name, 'web');
  assert.deepEqual(p.args, ['busybox', 'sh', '-c', 'echo -e hi']);
  assert.ok(p.changed.has('name') && !p.changed.has('detach'));
});

test('a value-taking shorthand ends the cluster and takes the rest', () => {
  const p = parseFlags(run, ['-dp', '8080:80', '-itd', 'img']);
  assert.deepEqual(p.values.publish, ['8080:80']);
  assert.equal(p.values.detach, true);
  const q = parseFlags(run, ['-dp8080:80', 'img']);
  assert.deepEqual(q.values.publish, ['8080:80']);
});

test('bool flags take only =value', () => {
  assert.equal(parseFlags(run, ['--rm=false', 'img']).values.rm, false);
  assert.deepEqual(parseFlags(run, ['--rm', 'false']).args, ['false']);
  assert.throws(() => parseFlags(run, ['--rm=maybe', 'x']), (e: UsageError) => {
    assert.equal(e.message, 'invalid argument "maybe" for "--rm" flag: strconv.ParseBool: parsing "maybe": invalid syntax');
    assert.equal(e.exitCode, 125);
    return true;
  });
});

test('value parsers report docker messages', () => {
  assert.equal(parseFlags(run, ['-m', '512m', 'img']).values.memory, 512 * 1024 * 1024);
  assert.throws(() => parseFlags(run, ['--memory', '12q', 'img']), { message: `invalid argument "12q" for "-m, --memory" flag: invalid suffix: 'q'` });
  assert.throws(() => parseFlags(run, ['--stop-timeout', 'x', 'img']), { message: 'invalid argument "x" for "--stop-timeout" flag: strconv.ParseInt: parsing "x": invalid syntax' });
});

test('unknown and incomplete flags', () => {
  assert.throws(() => parseFlags(run, ['--foo', 'x']), { message: 'unknown flag: --foo' });
  assert.throws(() => parseFlags(run, ['-z', 'x']), { message: "unknown shorthand flag: 'z' in -z" });
  assert.throws(() => parseFlags(run, ['-e']), { message: "flag needs an argument: 'e' in -e" });
  assert.throws(() => parseFlags(run, ['--name']), { message: 'flag needs an argument: --name' });
});

test('interspersed commands accept flags after positionals; -- ends flags', () => {
  const p = parseFlags(stop, ['a', '-t', '3', 'b']);
  assert.deepEqual(p.args, ['a', 'b']);
  assert.equal(p.values.time, 3);
  assert.deepEqual(parseFlags(stop, ['--', '-t']).args, ['-t']);
});

test('argument counts and usage text', () => {
  assert.throws(() => parseFlags(stop, []), (e: UsageError) => {
    assert.equal(e.exitCode, 1);
    assert.equal(usageErrorText(stop, e), "skiff: 'skiff stop' requires at least 1 argument\n\nUsage:  skiff stop [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'skiff stop --help' for more information\n");
    return true;
  });
  assert.throws(() => parseFlags(ps, ['x']), { message: "'skiff ps' accepts no arguments" });
  const err = new UsageError('unknown flag: --foo');
  assert.equal(usageErrorText(ps, err), "unknown flag: --foo\n\nUsage:  skiff ps [OPTIONS]\n\nRun 'skiff ps --help' for more information\n");
});

test('-h is help unless the command binds it; -H/--host are global', () => {
  assert.equal(parseFlags(ps, ['-h']).help, true);
  assert.equal(parseFlags(run, ['-h', 'box', 'img']).values.hostname, 'box');
  assert.equal(parseFlags(run, ['--help']).help, true);
  assert.equal(parseFlags(ps, ['-aH', 'unix:///x.sock']).values.host, 'unix:///x.sock');
  assert.equal(parseFlags(ps, ['-qa']).values.quiet, true);
  assert.match(helpText(ps), /-a, --all/);
});

test('KEY=VALUE flag values as a map (bare KEY is "", the first = splits)', () => {
  assert.deepEqual(kvMap(['a=1', 'b', 'c=x=y']), { a: '1', b: '', c: 'x=y' });
});
