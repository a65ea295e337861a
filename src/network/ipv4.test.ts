import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, cidrsOverlap, formatCidr, formatIp, macForIp, parseCidr, parseIp, pickFreeSubnet } from './ipv4';

describe('ipv4', () => {
  it('parses and formats addresses and subnets', () => {
    assert.equal(formatIp(parseIp('172.17.0.1')), '172.17.0.1');
    assert.equal(parseIp('255.255.255.255'), 0xffffffff);
    assert.throws(() => parseIp('1.2.3.256'));
    assert.throws(() => parseIp('1.2.3'));
    assert.equal(formatCidr(parseCidr('10.1.2.3/8')), '10.0.0.0/8');
    assert.throws(() => parseCidr('10.1.2.3/8', true), /host bits/);
    assert.throws(() => parseCidr('10.0.0.0/33'));
    assert.throws(() => parseCidr('10.0.0.0'));
  });

  it('tests containment and overlap', () => {
    const a = parseCidr('10.0.0.0/16');
    assert.ok(cidrContains(a, parseIp('10.0.255.1')));
    assert.ok(!cidrContains(a, parseIp('10.1.0.1')));
    assert.ok(cidrsOverlap(a, parseCidr('10.0.3.0/24')));
    assert.ok(cidrsOverlap(parseCidr('10.0.3.0/24'), a));
    assert.ok(!cidrsOverlap(a, parseCidr('10.1.0.0/16')));
  });

  it('picks the first Docker pool that collides with nothing', () => {
    assert.equal(formatCidr(pickFreeSubnet([])!), '172.17.0.0/16');
    const taken = [parseCidr('172.17.5.0/24'), parseCidr('172.16.0.0/13')]; // 172.16-23 taken
    assert.equal(formatCidr(pickFreeSubnet(taken)!), '172.24.0.0/16');
    assert.equal(formatCidr(pickFreeSubnet([parseCidr('172.16.0.0/12')])!), '192.168.0.0/20');
  });

  it("derives Docker's MAC from an address", () => {
    assert.equal(macForIp(parseIp('172.17.0.2')), '02:42:ac:11:00:02');
  });
});
