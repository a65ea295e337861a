import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseExtraHost, parseResolvConf, renderHosts, renderResolvConf } from './files';

const HOST = parseResolvConf('# comment\nnameserver 127.0.0.53\nnameserver 10.9.9.9\nsearch a.example b.example\noptions edns0 trust-ad\n');

describe('resolv.conf and hosts', () => {
  it('parses the host resolv.conf', () => {
    assert.deepEqual(HOST, { nameservers: ['127.0.0.53', '10.9.9.9'], search: ['a.example', 'b.example'], options: ['edns0', 'trust-ad'] });
  });

  it('points user-network sandboxes at the embedded DNS', () => {
    const r = renderResolvConf({ host: HOST, embeddedDns: '10.5.0.1' });
    assert.match(r, /^nameserver 10\.5\.0\.1$/m);
    assert.doesNotMatch(r, /10\.9\.9\.9/);
    assert.match(r, /^search a\.example b\.example$/m);
    assert.match(r, /^options ndots:0$/m);
  });

  it('gives the default bridge the host resolvers minus loopback ones, or --dns', () => {
    const r = renderResolvConf({ host: HOST });
    assert.deepEqual(r.split('\n').filter((l) => l.startsWith('nameserver')), ['nameserver 10.9.9.9']);
    assert.match(r, /^options edns0 trust-ad$/m);
    const only127 = renderResolvConf({ host: parseResolvConf('nameserver 127.0.0.53\n') });
    assert.match(only127, /^nameserver 8\.8\.8\.8$/m);
    const custom = renderResolvConf({ host: HOST, dns: ['1.1.1.1'], dnsSearch: ['.'], dnsOptions: ['ndots:2'] });
    assert.deepEqual(custom.trim().split('\n').slice(1), ['nameserver 1.1.1.1', 'options ndots:2']);
  });

  it('renders /etc/hosts with extra hosts and the hostname', () => {
    const h = renderHosts({ hostname: 'web', addresses: ['10.0.0.2', '10.1.0.2'], extraHosts: ['db:10.0.0.9', 'v6=::1'] });
    const lines = h.trim().split('\n');
    assert.equal(lines[0], '127.0.0.1\tlocalhost');
    assert.ok(lines.includes('10.0.0.9\tdb'));
    assert.ok(lines.includes('::1\tv6'));
    assert.equal(lines.at(-1), '10.0.0.2\tweb');
    assert.throws(() => parseExtraHost('nohost'));
    assert.throws(() => parseExtraHost('x:not-an-ip'));
  });
});
