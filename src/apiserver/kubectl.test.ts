/**
 * The real kubectl 1.32 against `skiff server` (child process, fresh data dir, fresh discovery cache).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ServerProc, kubectl, pollUntil, type KubectlResult } from './testutil';

const DEPLOY = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
`;

describe('kubectl against skiff server', () => {
  const srv = new ServerProc();
  let tmp: string;
  let cache: string;
  const k = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) => kubectl(srv.kubeconfig, cache, args, opts);
  const ok = (r: KubectlResult) => {
    assert.equal(r.code, 0, `kubectl failed: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    await srv.start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-kubectl-'));
    cache = path.join(tmp, 'cache');
  });
  after(async () => {
    await srv.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('serves version, api-resources and the default namespaces', async () => {
    const v = ok(await k(['version', '-o', 'json']));
    assert.equal(JSON.parse(v).serverVersion.minor, '32');
    const ar = ok(await k(['api-resources']));
    for (const line of ['deployments', 'pods', 'configmaps', 'namespaces', 'cronjobs', 'leases', 'ingresses'])
      assert.match(ar, new RegExp(`^${line}\\s`, 'm'));
    assert.match(ar, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/m);
    const ns = ok(await k(['get', 'ns']));
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.match(ns, new RegExp(`^${n}\\s+Active`, 'm'));
    assert.match(ok(await k(['get', 'sa', 'default', '-n', 'kube-system'])), /^default\s/m);
  });

  it('rejects a bad token with Unauthorized', async () => {
    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, fs.readFileSync(srv.kubeconfig, 'utf8').replace(/token: .*/, 'token: nope'));
    const r = await kubectl(bad, path.join(tmp, 'cache-bad'), ['get', 'ns']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /You must be logged in|Unauthorized/);
  });

  it('creates namespace, configmap, secret and deployment (protobuf bodies)', async () => {
    ok(await k(['create', 'namespace', 'team-a']));
    ok(await k(['create', 'configmap', 'cfg', '-n', 'team-a', '--from-literal=a=1', '--from-literal=b=two']));
    ok(await k(['create', 'secret', 'generic', 'sec', '-n', 'team-a', '--from-literal=password=s3cr3t']));
    ok(await k(['create', 'deployment', 'api', '-n', 'team-a', '--image=busybox:1.36', '--replicas=3']));
    const cm = JSON.parse(ok(await k(['get', 'cm', 'cfg', '-n', 'team-a', '-o', 'json'])));
    assert.deepEqual(cm.data, { a: '1', b: 'two' });
    const sec = JSON.parse(ok(await k(['get', 'secret', 'sec', '-n', 'team-a', '-o', 'json'])));
    assert.equal(Buffer.from(sec.data.password, 'base64').toString(), 's3cr3t');
    const d = JSON.parse(ok(await k(['get', 'deploy', 'api', '-n', 'team-a', '-o', 'json'])));
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.spec.template.spec.containers[0].image, 'busybox:1.36');
    assert.equal(d.metadata.generation, 1);
    // Inline-embedded Go structs (IngressRule.IngressRuleValue) are flattened from protobuf.
    ok(await k(['create', 'ingress', 'ing', '-n', 'team-a', '--rule=foo.example/bar=svc:80']));
    const ing = JSON.parse(ok(await k(['get', 'ingress', 'ing', '-n', 'team-a', '-o', 'json'])));
    assert.equal(ing.spec.rules[0].http.paths[0].backend.service.name, 'svc');
    ok(await k(['create', 'job', 'once', '-n', 'team-a', '--image=busybox', '--', 'echo', 'hi']));
    assert.equal(ok(await k(['get', 'job', 'once', '-n', 'team-a', '-o', 'jsonpath={.spec.template.spec.containers[0].command[1]}'])), 'hi');
    const again = await k(['create', 'configmap', 'cfg', '-n', 'team-a']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /AlreadyExists|already exists/);
  });

  it('applies client-side: create, unchanged, configured; server-side apply', async () => {
    const f = path.join(tmp, 'deploy.yaml');
    fs.writeFileSync(f, DEPLOY);
    assert.match(ok(await k(['apply', '-f', f])), /deployment.apps\/web created/);
    assert.match(ok(await k(['apply', '-f', f])), /deployment.apps\/web unchanged/);
    fs.writeFileSync(f, DEPLOY.replace('replicas: 2', 'replicas: 4').replace('nginx:1.25', 'nginx:1.26'));
    assert.match(ok(await k(['apply', '-f', f])), /deployment.apps\/web configured/);
    const d = JSON.parse(ok(await k(['get', 'deploy', 'web', '-o', 'json'])));
    assert.equal(d.spec.replicas, 4);
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.26');
    assert.equal(d.metadata.generation, 2);
    assert.ok(d.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);

    const ssa = path.join(tmp, 'ssa.yaml');
    fs.writeFileSync(ssa, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa-cm\ndata:\n  k: v\n');
    assert.match(ok(await k(['apply', '--server-side', '-f', ssa])), /configmap\/ssa-cm serverside-applied/);
    fs.writeFileSync(ssa, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa-cm\ndata:\n  k: v2\n  k2: x\n');
    ok(await k(['apply', '--server-side', '-f', ssa]));
    const cm = JSON.parse(ok(await k(['get', 'cm', 'ssa-cm', '-o', 'json'])));
    assert.deepEqual(cm.data, { k: 'v2', k2: 'x' });
    // Another manager changing a field kubectl owns conflicts, unless forced.
    fs.writeFileSync(ssa, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa-cm\ndata:\n  k: other\n');
    const conflict = await k(['apply', '--server-side', '--field-manager=someone-else', '-f', ssa]);
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, /conflict/i);
    assert.match(conflict.stderr, /\.data\.k/);
    ok(await k(['apply', '--server-side', '--field-manager=someone-else', '--force-conflicts', '-f', ssa]));
    assert.equal(JSON.parse(ok(await k(['get', 'cm', 'ssa-cm', '-o', 'json']))).data.k, 'other');
  });

  it('rejects unknown fields under strict validation, warns when asked to', async () => {
    const f = path.join(tmp, 'unknown.yaml');
    fs.writeFileSync(f, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict-cm\ndata: {a: "1"}\nbogus: true\n');
    const strict = await k(['apply', '-f', f]);
    assert.notEqual(strict.code, 0);
    assert.match(strict.stderr, /unknown field "bogus"/);
    assert.notEqual((await k(['get', 'cm', 'strict-cm'])).code, 0, 'nothing stored');
    const warn = await k(['create', '--validate=warn', '-f', f]);
    assert.equal(warn.code, 0, warn.stderr);
    assert.match(warn.stderr, /unknown field "bogus"/);
  });

  it('applies a directory and a multi-document file', async () => {
    const dir = path.join(tmp, 'manifests');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dir-a\ndata: {x: "1"}\n');
    fs.writeFileSync(
      path.join(dir, 'b.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dir-b\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-b\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n    targetPort: 8080\n',
    );
    const out = ok(await k(['apply', '-f', dir]));
    assert.match(out, /configmap\/dir-a created/);
    assert.match(out, /configmap\/dir-b created/);
    assert.match(out, /service\/svc-b created/);
  });

  it('gets with -o wide, yaml, json, jsonpath, name, -l, -A', async () => {
    const wide = ok(await k(['get', 'deploy', '-o', 'wide']));
    assert.match(wide, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/m);
    assert.match(wide, /^web\s+0\/4\s+0\s+0\s+\S+\s+nginx\s+nginx:1.26\s+app=web/m);
    const plain = ok(await k(['get', 'deploy']));
    assert.match(plain, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/);
    assert.match(ok(await k(['get', 'deploy', 'web', '-o', 'yaml'])), /^kind: Deployment$/m);
    assert.equal(ok(await k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].name}'])), 'nginx');
    assert.equal(ok(await k(['get', 'cm', '-o', 'name', '-l', 'nothing=here'])), '');
    ok(await k(['label', 'cm', 'dir-a', 'pick=yes']));
    assert.equal(ok(await k(['get', 'cm', '-o', 'name', '-l', 'pick=yes'])).trim(), 'configmap/dir-a');
    assert.equal(ok(await k(['get', 'cm', '-o', 'name', '-l', 'pick in (yes,maybe)'])).trim(), 'configmap/dir-a');
    assert.ok(!ok(await k(['get', 'cm', '-o', 'name', '-l', '!pick'])).includes('configmap/dir-a'));
    const all = ok(await k(['get', 'cm', '-A']));
    assert.match(all, /^NAMESPACE\s+NAME\s+DATA\s+AGE/m);
    assert.match(all, /^team-a\s+cfg\s+2\s/m);
    const byField = ok(await k(['get', 'cm', '-A', '--field-selector', 'metadata.namespace=team-a', '-o', 'name']));
    assert.equal(byField.trim(), 'configmap/cfg');
    const chunked = ok(await k(['get', 'cm', '-A', '--chunk-size=1', '-o', 'name']));
    assert.ok(chunked.split('\n').filter(Boolean).length >= 4);
    assert.equal(chunked, ok(await k(['get', 'cm', '-A', '-o', 'name'])));
  });

  it('describes a deployment', async () => {
    const out = ok(await k(['describe', 'deploy', 'web']));
    assert.match(out, /^Name:\s+web$/m);
    assert.match(out, /^Replicas:\s+4 desired/m);
    assert.match(out, /Image:\s+nginx:1.26/);
  });

  it('labels, annotates, patches (json, merge, strategic) and scales', async () => {
    ok(await k(['label', 'deploy', 'web', 'env=prod']));
    ok(await k(['annotate', 'deploy', 'web', 'note=hello']));
    ok(await k(['patch', 'deploy', 'web', '--type=merge', '-p', '{"spec":{"minReadySeconds":5}}']));
    ok(await k(['patch', 'deploy', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/revisionHistoryLimit","value":3}]']));
    ok(await k(['patch', 'deploy', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}']));
    assert.match(ok(await k(['scale', 'deploy', 'web', '--replicas=6'])), /scaled/);
    const d = JSON.parse(ok(await k(['get', 'deploy', 'web', '-o', 'json'])));
    assert.equal(d.metadata.labels.env, 'prod');
    assert.equal(d.metadata.annotations.note, 'hello');
    assert.equal(d.spec.minReadySeconds, 5);
    assert.equal(d.spec.revisionHistoryLimit, 3);
    assert.equal(d.spec.template.spec.containers.length, 1);
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.27');
    assert.equal(d.spec.template.spec.containers[0].ports[0].containerPort, 80);
    assert.equal(d.spec.replicas, 6);
    const bad = await k(['patch', 'deploy', 'web', '--type=merge', '-p', '{"spec":{"replicas":-1}}']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /is invalid/);
  });

  it('edits with a scripted EDITOR', async () => {
    const editor = path.join(tmp, 'editor.sh');
    fs.writeFileSync(editor, '#!/bin/sh\nsed -i "s/^  b: two$/  b: three/" "$1"\n', { mode: 0o755 });
    ok(await k(['edit', 'cm', 'cfg', '-n', 'team-a'], { env: { EDITOR: editor, KUBE_EDITOR: editor } }));
    const cm = JSON.parse(ok(await k(['get', 'cm', 'cfg', '-n', 'team-a', '-o', 'json'])));
    assert.equal(cm.data.b, 'three');
  });

  it('explains fields from OpenAPI v3', async () => {
    const out = ok(await k(['explain', 'deployment.spec.replicas']));
    assert.match(out, /KIND:\s+Deployment/);
    assert.match(out, /replicas\s+<integer>/);
  });

  it('watches with -w and sees later changes', async () => {
    const child = spawn('/usr/bin/kubectl', ['--kubeconfig', srv.kubeconfig, '--cache-dir', cache, 'get', 'cm', '-w', '--request-timeout=0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      await pollUntil(async () => out.includes('dir-a'), 'initial list in kubectl -w');
      ok(await k(['create', 'cm', 'watched-one']));
      await pollUntil(async () => /^watched-one\s+0\s/m.test(out), 'watch event for the new configmap');
      assert.equal((out.match(/^NAME\s+DATA\s+AGE/gm) ?? []).length, 1, 'headers printed once');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('deletes by name with --wait, by file, with finalizers, and a namespace empties', async () => {
    assert.match(ok(await k(['delete', 'cm', 'ssa-cm'])), /configmap "ssa-cm" deleted/);
    assert.notEqual((await k(['get', 'cm', 'ssa-cm'])).code, 0);
    ok(await k(['delete', '-f', path.join(tmp, 'manifests')]));
    assert.match((await k(['get', 'svc', 'svc-b'])).stderr, /NotFound|not found/);

    // An object with a finalizer is only marked; removing the finalizer completes the deletion.
    ok(await k(['create', 'cm', 'held']));
    ok(await k(['patch', 'cm', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":["example.com/hold"]}}']));
    ok(await k(['delete', 'cm', 'held', '--wait=false']));
    const held = JSON.parse(ok(await k(['get', 'cm', 'held', '-o', 'json'])));
    assert.ok(held.metadata.deletionTimestamp);
    ok(await k(['patch', 'cm', 'held', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']));
    await pollUntil(async () => (await k(['get', 'cm', 'held'])).code !== 0, 'held configmap gone');

    ok(await k(['delete', 'ns', 'team-a', '--timeout=60s']));
    assert.notEqual((await k(['get', 'ns', 'team-a'])).code, 0);
    assert.equal(ok(await k(['get', 'cm', '-n', 'team-a', '-o', 'name'])), '');
  });
});
