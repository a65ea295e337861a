import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate } from './template';

const c = {
  Id: 'abc',
  State: { Status: 'running', Running: true, ExitCode: 0 },
  Config: { Env: ['A=1', 'B=<2>'], Labels: { z: '1', a: '2' }, Cmd: null },
  NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] } },
  HostConfig: { Memory: 536870912 },
};
const run = (t: string, dot: unknown = c) => compileTemplate(t).execute(dot);

test('fields, json and Go value printing', () => {
  assert.equal(run('{{.State.Status}}'), 'running');
  assert.equal(run('{{.HostConfig.Memory}}'), '536870912');
  assert.equal(run('{{json .Config.Env}}'), '["A=1","B=\\u003c2\\u003e"]');
  assert.equal(run('{{.Config | json}}'), '{"Env":["A=1","B=\\u003c2\\u003e"],"Labels":{"z":"1","a":"2"},"Cmd":null}');
  assert.equal(run('{{.Config.Labels}}'), 'map[a:2 z:1]');
  assert.equal(run('{{.Config.Env}}'), '[A=1 B=<2>]');
  assert.equal(run('{{.Nope}}'), '<no value>');
  assert.equal(run('{{.State.Running}} {{.State.ExitCode}}'), 'true 0');
});

test('range, if/else, variables, index, parentheses, trim', () => {
  assert.equal(run('{{range .Config.Env}}[{{.}}]{{end}}'), '[A=1][B=<2>]');
  assert.equal(run('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}'), 'a=2;z=1;');
  assert.equal(run('{{range $p, $conf := .NetworkSettings.Ports}}{{$p}} -> {{(index $conf 0).HostPort}}{{end}}'), '80/tcp -> 8080');
  assert.equal(run('{{if .State.Running}}up{{else}}down{{end}}'), 'up');
  assert.equal(run('{{if eq .State.Status "exited"}}x{{else if eq .State.Status "running"}}r{{else}}?{{end}}'), 'r');
  assert.equal(run('{{index .Config.Labels "z"}}'), '1');
  assert.equal(run('a  {{- .Id -}}  b'), 'aabcb');
  assert.equal(run('{{join .Config.Env ","}}|{{upper .Id}}|{{len .Config.Env}}'), 'A=1,B=<2>|ABC|2');
  assert.equal(run('{{with .State}}{{.Status}}{{end}}'), 'running');
  assert.equal(run('{{printf "%s-%d" .Id 5}}'), 'abc-5');
});

test('methods on row objects and errors', () => {
  const row = { ID: 'x', Label(k: string) { return k === 'a' ? 'A' : ''; } };
  assert.equal(run('{{.ID}} {{.Label "a"}}', row), 'x A');
  assert.throws(() => compileTemplate('{{.Id'), /unclosed action/);
  assert.throws(() => compileTemplate('{{if .Id}}x'), /unexpected EOF/);
  assert.throws(() => run('{{nofunc .Id}}'), /function "nofunc" not defined/);
});
