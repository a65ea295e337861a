import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveName, upstreamsForClient } from './names';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from './model';

function net(id: string, name: string, extra: Partial<NetworkRecord> = {}): NetworkRecord {
  return { id, name, driver: 'bridge', created: '', internal: false, attachable: false, subnet: '', gateway: '', bridge: '', labels: {}, options: {}, isDefault: false, ...extra };
}
function ep(networkId: string, ipAddress: string, aliases: string[] = []): EndpointRecord {
  return { networkId, endpointId: '', ifName: 'eth0', aliases, ipAddress, prefixLen: 24, gateway: '', macAddress: '', portMappings: [] };
}
function sb(id: string, name: string, endpoints: EndpointRecord[], dns?: string[]): SandboxRecord {
  return { id, name, hostname: `${name}-host`, netnsPath: '', request: { id, name, hostname: '', endpoints: [], portBindings: [], dns }, endpoints, ports: [], hostsFile: '', resolvConf: '' };
}

const networks = new Map([
  ['A', net('A', 'front')],
  ['B', net('B', 'back')],
  ['D', net('D', 'bridge', { isDefault: true })],
  ['I', net('I', 'vault', { internal: true })],
]);
const web = sb('a'.repeat(64), 'web', [ep('A', '10.0.0.2', ['www']), ep('D', '172.17.0.2')]);
const db = sb('b'.repeat(64), 'db', [ep('B', '10.1.0.2', ['database'])]);
const both = sb('c'.repeat(64), 'api', [ep('A', '10.0.0.3'), ep('B', '10.1.0.3')], ['9.9.9.9']);
const dflt = sb('d'.repeat(64), 'old', [ep('D', '172.17.0.3')]);
const secret = sb('e'.repeat(64), 'secret', [ep('I', '10.9.0.2')]);
const view = { networks, sandboxes: [web, db, both, dflt, secret] };

describe('name resolution', () => {
  it('resolves names, aliases, name.network and long id prefixes on shared networks', () => {
    assert.deepEqual(resolveName(view, 'A', '10.0.0.3', 'web'), ['10.0.0.2']);
    assert.deepEqual(resolveName(view, 'A', '10.0.0.3', 'WWW.'), ['10.0.0.2']);
    assert.deepEqual(resolveName(view, 'A', '10.0.0.3', 'web.front'), ['10.0.0.2']);
    assert.deepEqual(resolveName(view, 'A', '10.0.0.3', 'a'.repeat(12)), ['10.0.0.2']);
    assert.equal(resolveName(view, 'A', '10.0.0.3', 'aaaa'), undefined, 'short id prefixes are not names');
  });

  it('gives a client the names of all its user networks, and no others', () => {
    assert.deepEqual(resolveName(view, 'A', '10.0.0.3', 'database'), ['10.1.0.2'], 'api is on A and B');
    assert.equal(resolveName(view, 'A', '10.0.0.2', 'db'), undefined, 'web is not on B');
    assert.equal(resolveName(view, 'A', '10.0.0.2', 'old'), undefined, 'no names on the default bridge');
  });

  it('forwards upstream with the client --dns, and never for internal-only clients', () => {
    assert.deepEqual(upstreamsForClient(view, 'A', '10.0.0.2', ['1.1.1.1']), ['1.1.1.1']);
    assert.deepEqual(upstreamsForClient(view, 'A', '10.0.0.3', ['1.1.1.1']), ['9.9.9.9']);
    assert.deepEqual(upstreamsForClient(view, 'I', '10.9.0.2', ['1.1.1.1']), []);
    assert.deepEqual(upstreamsForClient(view, 'I', '10.9.0.99', ['1.1.1.1']), [], 'unknown client on an internal network');
  });
});
