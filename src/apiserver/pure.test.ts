/** Pure parts of the machinery: selectors, request paths, tables, Accept parsing, continue tokens, body limits, protobuf. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labelSelectorToString, matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors';
import { parseRequestInfo } from './request-info';
import { humanDuration, wantsTable } from './table';
import { aggregatedVersionAsked } from './discovery';
import { decodeContinue, encodeContinue } from './registry';
import { jsonDepthExceeds, objectDepthExceeds } from './objects';
import { decodeMessage, decodeProtobufObject } from './protobuf';
import { StatusError } from './status';
import { watchLine } from './watch-line';
import { parseServerFlags } from '../cmd/server';

describe('selectors', () => {
  it('parses and matches every label operator', () => {
    const l = { app: 'web', tier: 'front', env: 'prod' };
    const m = (s: string) => matchLabels(parseLabelSelector(s), l);
    assert.ok(m('app=web'));
    assert.ok(m('app==web,tier=front'));
    assert.ok(!m('app!=web'));
    assert.ok(m('env in (prod, staging)'));
    assert.ok(!m('env notin (prod)'));
    assert.ok(m('tier'));
    assert.ok(!m('!tier'));
    assert.ok(m('!missing'));
    assert.ok(m('missing notin (x)'));
    assert.ok(m(''));
    assert.throws(() => parseLabelSelector('a in (b'), StatusError);
    assert.throws(() => parseLabelSelector('a b'), StatusError);
  });
  it('parses field selectors with escapes', () => {
    const f = parseFieldSelector('metadata.name=a\\,b,status.phase!=Running');
    assert.deepEqual(f, [
      { field: 'metadata.name', op: '=', value: 'a,b' },
      { field: 'status.phase', op: '!=', value: 'Running' },
    ]);
    assert.ok(matchFields(f, (k) => ({ 'metadata.name': 'a,b', 'status.phase': 'Pending' })[k]));
    assert.throws(() => parseFieldSelector('nonsense'), StatusError);
  });
  it('renders LabelSelector objects as strings', () => {
    assert.equal(
      labelSelectorToString({ matchLabels: { b: '2', a: '1' }, matchExpressions: [{ key: 'c', operator: 'In', values: ['y', 'x'] }, { key: 'd', operator: 'Exists' }] }),
      'a=1,b=2,c in (x,y),d',
    );
  });
});

describe('request info', () => {
  const q = new URLSearchParams();
  it('parses resource paths', () => {
    const a = parseRequestInfo('GET', '/apis/apps/v1/namespaces/ns/deployments/web/scale', q);
    assert.deepEqual([a.group, a.version, a.namespace, a.resource, a.name, a.subresource, a.verb], ['apps', 'v1', 'ns', 'deployments', 'web', 'scale', 'get']);
    const b = parseRequestInfo('GET', '/api/v1/namespaces/x', q);
    assert.deepEqual([b.namespace, b.resource, b.name, b.verb], ['', 'namespaces', 'x', 'get']);
    const c = parseRequestInfo('PUT', '/api/v1/namespaces/x/finalize', q);
    assert.deepEqual([c.resource, c.name, c.subresource, c.verb], ['namespaces', 'x', 'finalize', 'update']);
    assert.equal(parseRequestInfo('GET', '/api/v1/pods', new URLSearchParams('watch=true')).verb, 'watch');
    assert.equal(parseRequestInfo('DELETE', '/api/v1/namespaces/a/pods', q).verb, 'deletecollection');
    assert.equal(parseRequestInfo('GET', '/apis/apps', q).isResourceRequest, false);
  });
});

describe('tables and content negotiation', () => {
  it('formats ages like upstream', () => {
    const s = 1000;
    assert.equal(humanDuration(5 * s), '5s');
    assert.equal(humanDuration(119 * s), '119s');
    assert.equal(humanDuration(150 * s), '2m30s');
    assert.equal(humanDuration(600 * s), '10m');
    assert.equal(humanDuration(3 * 3600 * s + 5 * 60 * s), '3h5m');
    assert.equal(humanDuration(30 * 3600 * s), '30h');
    assert.equal(humanDuration(3 * 86400 * s + 3600 * s), '3d1h');
    assert.equal(humanDuration(400 * 86400 * s), '400d');
    assert.equal(humanDuration(-5 * s), '<invalid>');
  });
  it('recognises Table and aggregated discovery Accept headers', () => {
    assert.ok(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json'));
    assert.ok(!wantsTable('application/json'));
    assert.ok(!wantsTable('application/json,application/json;as=Table;v=v1;g=meta.k8s.io'));
    assert.equal(aggregatedVersionAsked('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json'), 'v2');
    assert.equal(aggregatedVersionAsked('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList'), 'v2beta1');
    assert.equal(aggregatedVersionAsked('application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json'), undefined);
  });
});

describe('limits and tokens', () => {
  it('round-trips continue tokens and rejects garbage', () => {
    assert.deepEqual(decodeContinue(encodeContinue(42, 'default/x\0')), { rv: 42, start: 'default/x\0' });
    assert.throws(() => decodeContinue('!!!'), StatusError);
    assert.throws(() => decodeContinue(Buffer.from('{"v":"x"}').toString('base64')), StatusError);
  });
  it('measures nesting without recursion', () => {
    assert.ok(!jsonDepthExceeds('{"a":[{"b":"[[[[["}]}', 3));
    assert.ok(jsonDepthExceeds('[[[[', 3));
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.ok(objectDepthExceeds(deep, 1000));
  });
});

describe('protobuf decoding', () => {
  // Hand-encoded: ConfigMap{metadata{name:"c", labels{a:b}}, data{k:v}} in the k8s envelope.
  const str = (no: number, s: string) => Buffer.concat([Buffer.from([(no << 3) | 2, Buffer.byteLength(s)]), Buffer.from(s)]);
  const msg = (no: number, b: Buffer) => Buffer.concat([Buffer.from([(no << 3) | 2, b.length]), b]);
  it('decodes a ConfigMap in the k8s envelope', () => {
    const meta = Buffer.concat([str(1, 'c'), msg(11, Buffer.concat([str(1, 'a'), str(2, 'b')])), str(2, '')]);
    const cm = Buffer.concat([msg(1, meta), msg(2, Buffer.concat([str(1, 'k'), str(2, 'v')]))]);
    const env = Buffer.concat([Buffer.from('k8s\0', 'binary'), msg(1, Buffer.concat([str(1, 'v1'), str(2, 'ConfigMap')])), msg(2, cm)]);
    assert.deepEqual(decodeProtobufObject(env), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: 'b' } }, data: { k: 'v' } });
  });
  it('keeps explicit zero replicas, decodes varints and rejects truncation', () => {
    const spec = Buffer.from([0x08, 0x00]); // replicas = 0
    assert.deepEqual(decodeMessage('apps.v1.DeploymentSpec', spec), { replicas: 0 });
    assert.throws(() => decodeMessage('core.v1.ConfigMap', Buffer.from([0x0a, 0x10, 0x01])), StatusError);
    assert.throws(() => decodeProtobufObject(Buffer.from('nope')), StatusError);
  });
});

describe('server flags', () => {
  it('parses both flag forms', () => {
    const f = parseServerFlags(['--data-dir=/tmp/x', '--listen-port', '7443', '--insecure-port=8080', '--disable-agent', '--datastore-endpoint', 'http://127.0.0.1:2379']);
    assert.deepEqual(f, {
      dataDir: '/tmp/x',
      listenPort: 7443,
      bindAddress: '0.0.0.0',
      insecurePort: 8080,
      disableAgent: true,
      datastoreEndpoint: 'http://127.0.0.1:2379',
    });
    assert.throws(() => parseServerFlags(['--bogus']));
    assert.throws(() => parseServerFlags(['--listen-port', '99999']));
  });
});

describe('watchLine (one serialisation per shared watch object)', () => {
  it('returns the same line for the same object and type, a distinct one per type', () => {
    const obj = { kind: 'Pod', metadata: { name: 'p' } };
    const a = watchLine('MODIFIED', obj);
    assert.equal(a, '{"type":"MODIFIED","object":{"kind":"Pod","metadata":{"name":"p"}}}\n');
    assert.equal(watchLine('MODIFIED', obj), a);
    assert.equal(watchLine('ADDED', obj), '{"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"p"}}}\n');
    assert.equal(watchLine('BOOKMARK', null), '{"type":"BOOKMARK","object":null}\n');
  });
});
