/** `skiff server --datastore-endpoint` on a real etcd (loopback): kubectl create/apply/get/watch/delete and GC work the same. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startEtcd, type EtcdCluster } from '../store/etcd-process';
import { ServerProc, kubectl, pollUntil } from './testutil';

describe('skiff server over etcd', () => {
  let etcd: EtcdCluster;
  let srv: ServerProc;
  let tmp: string;
  const k = (args: string[]) => kubectl(srv.kubeconfig, path.join(tmp, 'cache'), args);

  before(async () => {
    etcd = await startEtcd();
    srv = new ServerProc({ extraArgs: ['--datastore-endpoint', etcd.clientUrls.join(',')] });
    await srv.start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-etcd-api-'));
  });
  after(async () => {
    await srv?.cleanup();
    await etcd?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('serves kubectl end to end', async () => {
    assert.equal((await k(['create', 'ns', 'on-etcd'])).code, 0);
    assert.equal((await k(['create', 'deployment', 'd', '-n', 'on-etcd', '--image=busybox'])).code, 0);
    const watcher = spawn('/usr/bin/kubectl', ['--kubeconfig', srv.kubeconfig, '--cache-dir', path.join(tmp, 'cache'), 'get', 'cm', '-n', 'on-etcd', '-w', '-o', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    watcher.stdout.on('data', (d) => (out += d));
    try {
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await k(['create', 'cm', 'seen', '-n', 'on-etcd', '--from-literal=a=b'])).code, 0);
      await pollUntil(async () => out.includes('configmap/seen'), 'watch event over etcd');
    } finally {
      watcher.kill('SIGKILL');
    }
    const get = await k(['get', 'deploy', '-n', 'on-etcd']);
    assert.match(get.stdout, /^d\s+0\/1\s/m);
    // Owner/dependent through GC, and namespace deletion.
    const owner = JSON.parse((await k(['get', 'cm', 'seen', '-n', 'on-etcd', '-o', 'json'])).stdout);
    const dep = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dependent\n  namespace: on-etcd\n  ownerReferences:\n  - apiVersion: v1\n    kind: ConfigMap\n    name: seen\n    uid: ${owner.metadata.uid}\n`;
    fs.writeFileSync(path.join(tmp, 'dep.yaml'), dep);
    assert.equal((await k(['apply', '-f', path.join(tmp, 'dep.yaml')])).code, 0);
    assert.equal((await k(['delete', 'cm', 'seen', '-n', 'on-etcd'])).code, 0);
    await pollUntil(async () => (await k(['get', 'cm', 'dependent', '-n', 'on-etcd'])).code !== 0, 'dependent collected');
    assert.equal((await k(['delete', 'ns', 'on-etcd', '--timeout=60s'])).code, 0);
    assert.notEqual((await k(['get', 'ns', 'on-etcd'])).code, 0);
  });
});
