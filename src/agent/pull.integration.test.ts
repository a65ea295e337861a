/**
 * The node agent pulls through the engine's registry client: a pod whose image lives only in a registry on
 * loopback (Debian's docker-registry) runs with IfNotPresent; pullPolicy Never on an absent image is
 * ErrImageNeverPull; a tag the registry lacks is ErrImagePull then ImagePullBackOff. Root only.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNodeCluster, eventually, type NodeCluster } from './testing/node-cluster';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRegistry, type TestRegistry } from '../engine/registry/testing/registry';

const root = process.getuid?.() === 0;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

let cl: NodeCluster;
let reg: TestRegistry;
let image = '';

before(async () => {
  if (!root) return;
  reg = await startRegistry();
  cl = await startNodeCluster();
  // An image only the registry has: busybox's files re-imported as a new layer, pushed, then removed here.
  image = `${reg.host}/agent/bb:1`;
  await cl.sh(`tar -C "$(docker image inspect -f '{{.GraphDriver.Data.UpperDir}}' busybox)" -c . | docker import --change 'CMD ["sh"]' - ${image}`);
  await cl.docker(['push', image]);
  await cl.docker(['rmi', image]);
  const left = await cl.docker(['image', 'inspect', image], { allowFail: true });
  assert.notEqual(left.code, 0, 'the image is gone from the node');
});

after(async () => {
  await cl?.stop();
  await reg?.stop();
});

async function pod(name: string): Promise<Obj> {
  return JSON.parse((await cl.kubectl(['get', 'pod', name, '-o', 'json'])).stdout);
}

function podYaml(name: string, img: string, policy: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${img}
    imagePullPolicy: ${policy}
    command: ["sh", "-c", "echo from-registry; sleep 3600"]
`;
}

test('pullPolicy Never on an image the node lacks: ErrImageNeverPull', { skip: !root }, async () => {
  await cl.kubectl(['apply', '-f', '-'], { input: podYaml('never', image, 'Never') });
  const s = await eventually(async () => {
    const w = (await pod('never')).status?.containerStatuses?.[0]?.state?.waiting;
    return w?.reason === 'ErrImageNeverPull' && w;
  }, 'ErrImageNeverPull');
  assert.match(s.message, /is not present with pull policy of Never/);
  await cl.kubectl(['delete', 'pod', 'never', '--wait=false']);
});

test('IfNotPresent pulls an image that lives only in the registry, and the pod runs', { skip: !root }, async () => {
  await cl.kubectl(['apply', '-f', '-'], { input: podYaml('pulled', image, 'IfNotPresent') });
  await eventually(async () => (await pod('pulled')).status?.phase === 'Running', 'pod Running', 120_000);
  const logs = await eventually(async () => {
    const r = await cl.kubectl(['logs', 'pulled'], { allowFail: true });
    return r.stdout.includes('from-registry') && r.stdout;
  }, 'logs');
  assert.match(logs, /from-registry/);
  // The kubelet's events for a real pull: Pulling, then Pulled with the time it took.
  const events = (await cl.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=pulled'])).stdout;
  assert.match(events, /Pulling +pod\/pulled +Pulling image ".*agent\/bb:1"/);
  assert.match(events, /Pulled +pod\/pulled +Successfully pulled image ".*agent\/bb:1" in [0-9.]+m?s \([0-9.]+m?s including waiting\)\. Image size: \d+ bytes\./);
  const digests = JSON.parse((await cl.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', image])).stdout);
  assert.match(digests[0], new RegExp(`^${reg.host}/agent/bb@sha256:[a-f0-9]{64}$`));
  // With the image now present, Never runs too.
  await cl.kubectl(['apply', '-f', '-'], { input: podYaml('never2', image, 'Never') });
  await eventually(async () => (await pod('never2')).status?.phase === 'Running', 'Never pod Running', 120_000);
  await cl.kubectl(['delete', 'pod', 'pulled', 'never2', '--wait=false']);
});

test('a tag the registry lacks: ErrImagePull with the registry\'s words, then ImagePullBackOff', { skip: !root }, async () => {
  await cl.kubectl(['apply', '-f', '-'], { input: podYaml('missing', `${reg.host}/agent/bb:nope`, 'IfNotPresent') });
  const seen = new Map<string, string>();
  await eventually(async () => {
    const w = (await pod('missing')).status?.containerStatuses?.[0]?.state?.waiting;
    if (w?.reason) seen.set(w.reason, w.message);
    return seen.has('ImagePullBackOff');
  }, 'ImagePullBackOff', 120_000);
  // ErrImagePull is short-lived in the status; the events keep it, with the registry's words.
  const events = (await cl.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=missing'])).stdout;
  assert.match(events, /ErrImagePull/);
  assert.match(events, /Failed to pull image ".*agent\/bb:nope": manifest for .*agent\/bb:nope not found: manifest unknown: manifest unknown/);
  assert.equal((await pod('missing')).status.phase, 'Pending');
  await cl.kubectl(['delete', 'pod', 'missing', '--wait=false']);
});

test('imagePullSecrets: a registry that wants credentials gets them from the pod\'s dockerconfigjson secret', { skip: !root }, async () => {
  const locked = await startRegistry({ htpasswd: { user: 'puller', password: 's3cret' } });
  const cfgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-pullsecret-'));
  try {
    const img = `${locked.host}/private/bb:1`;
    // Push with the CLI's own login (its config in a temp DOCKER_CONFIG), then drop the image from the node.
    await cl.sh(`export DOCKER_CONFIG=${cfgDir}; echo s3cret | docker login -u puller --password-stdin ${locked.host} && docker tag ${image} ${img} && docker push ${img} && docker rmi ${img}`);
    const dockerconfig = Buffer.from(JSON.stringify({ auths: { [locked.host]: { auth: Buffer.from('puller:s3cret').toString('base64') } } })).toString('base64');
    await cl.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: v1
kind: Secret
metadata: {name: regcred}
type: kubernetes.io/dockerconfigjson
data: {.dockerconfigjson: ${dockerconfig}}
---
apiVersion: v1
kind: Pod
metadata: {name: nocreds}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: ${img}, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: withcreds}
spec:
  terminationGracePeriodSeconds: 1
  imagePullSecrets: [{name: missing-one}, {name: regcred}]
  containers: [{name: c, image: ${img}, command: [sleep, "3600"]}]
`,
    });
    await eventually(async () => (await pod('withcreds')).status?.phase === 'Running', 'pod with the secret Running', 120_000);
    // Without the secret the same image is refused by the registry (the node's own config has no entry).
    const events = await eventually(async () => {
      const out = (await cl.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=nocreds'])).stdout;
      return /Failed to pull image/.test(out) && out;
    }, 'nocreds pull failure', 60_000);
    assert.match(events, /unauthorized|authentication required|no basic auth credentials/);
    await cl.kubectl(['delete', 'pod', 'nocreds', 'withcreds', '--wait=false']);
  } finally {
    fs.rmSync(cfgDir, { recursive: true, force: true });
    await locked.stop();
  }
});
