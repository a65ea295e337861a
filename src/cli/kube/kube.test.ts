/** `skiff apply/get/describe/delete/scale` against a real `skiff server`, plus the pure parts. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ServerProc, SKIFF_BIN } from '../../apiserver/testutil';
import { parseKubeFlags, readManifests } from './index';
import { formatColumns } from './printers';

function skiff(kubeconfig: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SKIFF_BIN, ...args], { env: { ...process.env, KUBECONFIG: kubeconfig } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('skiff kube verbs (pure)', () => {
  it('parses flags', () => {
    const f = parseKubeFlags(['get', 'deploy', '-n', 'x', '-owide', '-l', 'a=b', '--replicas=3', '-A', '--wait=false']);
    assert.deepEqual(f.args, ['get', 'deploy']);
    assert.equal(f.namespace, 'x');
    assert.equal(f.output, 'wide');
    assert.equal(f.selector, 'a=b');
    assert.equal(f.replicas, 3);
    assert.equal(f.allNamespaces, true);
    assert.equal(f.wait, false);
  });
  it('reads multi-document files, Lists and directories', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-manifests-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.yaml'), 'kind: A\n---\nkind: B\n---\n');
      fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ kind: 'List', items: [{ kind: 'C' }] }));
      fs.writeFileSync(path.join(dir, 'ignored.txt'), 'kind: D');
      assert.deepEqual(readManifests([dir]).map((o) => o.kind), ['A', 'B', 'C']);
      assert.deepEqual(readManifests(['-'], () => 'kind: E').map((o) => o.kind), ['E']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it('aligns columns like kubectl', () => {
    assert.equal(formatColumns([['NAME', 'AGE'], ['a-long-name', '1s']]), 'NAME          AGE\na-long-name   1s\n');
  });
});

describe('skiff kube verbs against skiff server', () => {
  const srv = new ServerProc();
  let tmp: string;
  before(async () => {
    await srv.start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-kube-cli-'));
  });
  after(async () => {
    await srv.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('apply, get, scale, describe, delete', async () => {
    const f = path.join(tmp, 'm.yaml');
    const doc = (replicas: number) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: ${replicas}\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: c\n        image: nginx\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata: {a: "1"}\n`;
    fs.writeFileSync(f, doc(2));
    const kc = srv.kubeconfig;
    let r = await skiff(kc, ['apply', '-f', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'deployment.apps/web created\nconfigmap/cfg created\n');
    r = await skiff(kc, ['apply', '-f', f]);
    assert.equal(r.stdout, 'deployment.apps/web unchanged\nconfigmap/cfg unchanged\n');
    fs.writeFileSync(f, doc(3));
    r = await skiff(kc, ['apply', '-f', f]);
    assert.equal(r.stdout, 'deployment.apps/web configured\nconfigmap/cfg unchanged\n');

    r = await skiff(kc, ['get', 'deploy']);
    assert.match(r.stdout, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+0\/3\s/);
    r = await skiff(kc, ['get', 'deploy,cm', '-o', 'name']);
    assert.equal(r.stdout, 'deployment.apps/web\nconfigmap/cfg\n');
    r = await skiff(kc, ['get', 'ns', '-o', 'wide']);
    assert.match(r.stdout, /^kube-system\s+Active/m);

    r = await skiff(kc, ['scale', 'deployment/web', '--replicas=5']);
    assert.equal(r.stdout, 'deployment.apps/web scaled\n');
    r = await skiff(kc, ['get', 'deploy', 'web', '-o', 'json']);
    const d = JSON.parse(r.stdout);
    assert.equal(d.spec.replicas, 5);
    assert.equal(d.metadata.managedFields, undefined);

    r = await skiff(kc, ['describe', 'deploy', 'web']);
    assert.match(r.stdout, /^Name:\s+web$/m);
    assert.match(r.stdout, /^Namespace:\s+default$/m);
    assert.match(r.stdout, /^Events:/m);

    r = await skiff(kc, ['delete', '-f', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'deployment.apps "web" deleted\nconfigmap "cfg" deleted\n');
    r = await skiff(kc, ['get', 'deploy', 'web']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(NotFound\): deployments.apps "web" not found/);
  });
});
