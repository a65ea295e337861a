import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, containerEnv, expand } from './env';
import { engineResources, qosClass, resourceFieldValue } from './resources';
import { writeAtomic } from './atomic-writer';
import type { PodV1 } from './types';

const node = { cpuMilli: 2000, memory: 8 * 2 ** 30, ephemeral: 100 * 2 ** 30 };

test('$(VAR) expansion as upstream: defined names, $$ escapes, unknown kept', () => {
  const vars = new Map([['A', '1']]);
  assert.equal(expand('$(A)-$(B)-$$(A)-$', vars), '1-$(B)-$(A)-$');
});

test('env: envFrom, values, fieldRef, resourceFieldRef, configMap and secret keys, optional and missing refs', () => {
  const pod: PodV1 = {
    metadata: { name: 'p', namespace: 'ns', uid: 'u', labels: { app: 'x' } },
    spec: {
      nodeName: 'n1',
      containers: [
        {
          name: 'c',
          resources: { limits: { cpu: '500m', memory: '64Mi' } },
          envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }],
          env: [
            { name: 'A', value: 'a' },
            { name: 'B', value: '$(A)b' },
            { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'LABEL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
            { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
            { name: 'K', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } },
            { name: 'S', valueFrom: { secretKeyRef: { name: 'sec', key: 'pw' } } },
            { name: 'OPT', valueFrom: { secretKeyRef: { name: 'none', key: 'x', optional: true } } },
          ],
        },
      ],
    },
  };
  const lk = { configMap: (n: string) => (n === 'cm' ? { k: 'v', 'bad key': 'z' } : undefined), secret: (n: string) => (n === 'sec' ? { pw: 'pass' } : undefined), podIP: '172.20.0.9', hostIP: '10.0.0.1', node };
  const env = containerEnv(pod, pod.spec.containers[0], lk);
  assert.deepEqual(env, ['CM_k=v', 'A=a', 'B=ab', 'NAME=p', 'LABEL=x', 'IP=172.20.0.9', 'NODE=n1', 'CPU=500', 'MEM=64', 'K=v', 'S=pass']);
  const missing = { ...pod.spec.containers[0], envFrom: [], env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'nope' } } }] };
  assert.throws(() => containerEnv(pod, missing, lk), (e: unknown) => e instanceof ConfigError && /couldn't find key nope in ConfigMap ns\/cm/.test((e as Error).message));
  const noCm = { ...pod.spec.containers[0], envFrom: [{ configMapRef: { name: 'gone' } }], env: [] };
  assert.throws(() => containerEnv(pod, noCm, lk), /configmap "gone" not found/);
});

test('resources → cgroup settings and QoS classes', () => {
  assert.deepEqual(engineResources({ name: 'c' }), { CpuShares: 2 });
  assert.deepEqual(engineResources({ name: 'c', resources: { requests: { cpu: '250m' }, limits: { cpu: '1', memory: '128Mi' } } }), {
    CpuShares: 256,
    CpuQuota: 100000,
    CpuPeriod: 100000,
    Memory: 128 * 2 ** 20,
    MemorySwap: 128 * 2 ** 20,
  });
  const p = (res: PodV1['spec']['containers'][0]['resources']): PodV1 => ({ metadata: {}, spec: { containers: [{ name: 'c', resources: res }] } });
  assert.equal(qosClass(p(undefined)), 'BestEffort');
  assert.equal(qosClass(p({ limits: { cpu: '1', memory: '1Gi' } })), 'Guaranteed');
  assert.equal(qosClass(p({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } })), 'Guaranteed');
  assert.equal(qosClass(p({ requests: { cpu: '100m' } })), 'Burstable');
  assert.equal(resourceFieldValue({ name: 'c' }, 'limits.cpu', undefined, node), '2');
  assert.equal(resourceFieldValue({ name: 'c' }, 'requests.memory', undefined, node), '0');
});

test('atomic writer: ..data swap, links, removed keys, unchanged payload is not rewritten', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-aw-'));
  try {
    const v = (s: string) => ({ data: Buffer.from(s), mode: 0o644 });
    assert.equal(writeAtomic(dir, new Map([['a', v('1')], ['sub/b', v('2')]])), true);
    assert.equal(fs.readFileSync(path.join(dir, 'a'), 'utf8'), '1');
    assert.equal(fs.readFileSync(path.join(dir, 'sub/b'), 'utf8'), '2');
    assert.equal(fs.readlinkSync(path.join(dir, 'a')), '..data/a');
    const first = fs.readlinkSync(path.join(dir, '..data'));
    assert.equal(writeAtomic(dir, new Map([['a', v('1')], ['sub/b', v('2')]])), false);
    assert.equal(writeAtomic(dir, new Map([['a', v('changed')]])), true);
    assert.equal(fs.readFileSync(path.join(dir, 'a'), 'utf8'), 'changed');
    assert.equal(fs.existsSync(path.join(dir, 'sub')), false);
    assert.equal(fs.existsSync(path.join(dir, first)), false, 'old payload removed');
    assert.throws(() => writeAtomic(dir, new Map([['../x', v('')]])), /invalid path/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
