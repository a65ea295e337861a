import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pluginStdin, type ConfList } from './cni';
import { buildConfList } from './conflist';
import { splitRule } from './firewall';
import type { NetworkRecord } from './model';

const list: ConfList = {
  cniVersion: '1.0.0',
  name: 'n1',
  plugins: [
    { type: 'bridge', capabilities: { ips: true } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

describe('CNI config', () => {
  it('injects name, version, prevResult and only the declared capabilities', () => {
    const rt = { containerId: 'c', netns: '/x', ifName: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }], ips: ['10.0.0.5/24'] } };
    const b = JSON.parse(pluginStdin(list, list.plugins[0], rt));
    assert.equal(b.name, 'n1');
    assert.equal(b.cniVersion, '1.0.0');
    assert.deepEqual(b.runtimeConfig, { ips: ['10.0.0.5/24'] });
    assert.equal(b.prevResult, undefined);
    const prev = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.5/24' }] };
    const p = JSON.parse(pluginStdin(list, list.plugins[1], rt, prev));
    assert.deepEqual(p.runtimeConfig, { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }] });
    assert.deepEqual(p.prevResult, prev);
  });

  it('builds internal networks without masquerade or default route, with an ip-range', () => {
    const n: NetworkRecord = {
      id: 'f'.repeat(64), name: 'i', driver: 'bridge', created: '', internal: true, attachable: false,
      subnet: '10.7.0.0/16', gateway: '10.7.0.1', ipRange: '10.7.5.0/24', bridge: 'skiff-fffffffff', labels: {}, options: {}, isDefault: false,
    };
    const l = buildConfList(n, '/data/ipam');
    const bridge = l.plugins[0] as Record<string, any>;
    assert.equal(l.name, 'skiff-ffffffffffff');
    assert.equal(bridge.ipMasq, false);
    assert.deepEqual(bridge.ipam.routes, []);
    assert.deepEqual(bridge.ipam.ranges, [[{ subnet: '10.7.0.0/16', gateway: '10.7.0.1', rangeStart: '10.7.5.0', rangeEnd: '10.7.5.255' }]]);
    assert.equal(l.plugins[1].type, 'portmap');
  });

  it('splits iptables -S lines with quoted comments', () => {
    assert.deepEqual(splitRule('-A POSTROUTING -s 10.0.0.2/32 -m comment --comment "name: \\"n\\" id: \\"c\\"" -j CNI-x'), [
      '-A', 'POSTROUTING', '-s', '10.0.0.2/32', '-m', 'comment', '--comment', 'name: "n" id: "c"', '-j', 'CNI-x',
    ]);
  });
});
