import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seccompSecurityOpt } from './runtime';
import type { ContainerSpec, PodV1 } from './types';

const pod = (sc?: PodV1['spec']['securityContext']): PodV1 => ({ metadata: { name: 'p', namespace: 'default', uid: 'u' }, spec: { containers: [], securityContext: sc } });
const c = (type?: string): ContainerSpec => ({ name: 'c', image: 'busybox', ...(type ? { securityContext: { seccompProfile: { type } } } : {}) });

test('seccomp follows the kubelet: container profile, else the pod one, else unconfined', () => {
  assert.deepEqual(seccompSecurityOpt(pod(), c()), ['seccomp=unconfined']);
  assert.deepEqual(seccompSecurityOpt(pod(), c('RuntimeDefault')), []);
  assert.deepEqual(seccompSecurityOpt(pod({ seccompProfile: { type: 'RuntimeDefault' } }), c()), []);
  assert.deepEqual(seccompSecurityOpt(pod({ seccompProfile: { type: 'RuntimeDefault' } }), c('Unconfined')), ['seccomp=unconfined']);
  // Localhost profiles are not available: the runtime default stands in.
  assert.deepEqual(seccompSecurityOpt(pod(), c('Localhost')), []);
});
