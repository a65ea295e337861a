import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContentStore } from './content';
import { sha256 } from './digest';
import { isSkiffError } from '../../common/errors';

let tmp: string;
let store: ContentStore;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-content-'));
  store = new ContentStore(tmp);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function readAll(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c);
  return Buffer.concat(chunks);
}

test('write, read, info, walk, delete', async () => {
  const data = Buffer.from('hello blob');
  const info = await store.writeBlob(data);
  assert.equal(info.digest, sha256(data));
  assert.equal((await store.info(info.digest)).size, data.length);
  assert.deepEqual(await store.readBlob(info.digest), data);
  assert.deepEqual(await readAll(store.readStream(info.digest)), data);
  const seen: string[] = [];
  await store.walk((i) => void seen.push(i.digest));
  assert.deepEqual(seen, [info.digest]);
  // Writing the same content again is a no-op.
  await store.writeBlob(data);
  await store.delete(info.digest);
  assert.equal(await store.has(info.digest), false);
  await assert.rejects(store.readBlob(info.digest), (e) => isSkiffError(e, 'NotFound'));
  await assert.rejects(readAll(store.readStream(info.digest)), (e) => isSkiffError(e, 'NotFound'));
});

test('ingest streams, verifies on commit, leaves nothing behind on abort or mismatch', async () => {
  const parts = [Buffer.from('a'.repeat(100_000)), Buffer.from('b'.repeat(100_000))];
  const p = await store.ingest((async function* () { yield* parts; })());
  assert.equal(p.digest, sha256(Buffer.concat(parts)));
  assert.equal(await store.has(p.digest), false, 'not visible before commit');
  await p.commit(p.digest);
  assert.equal(await store.has(p.digest), true);
  const q = await store.ingest((async function* () { yield Buffer.from('x'); })());
  await assert.rejects(q.commit(sha256('y')), /digest mismatch/);
  assert.equal(await store.has(q.digest), false);
  const r = await store.ingest((async function* () { yield Buffer.from('z'); })());
  await r.abort();
  assert.deepEqual(fs.readdirSync(path.join(tmp, 'ingest')), []);
  await assert.rejects(store.writeBlob(Buffer.from('x'), sha256('y')), /digest mismatch/);
});

test('a corrupted blob is detected and not served', async () => {
  const data = Buffer.from('precious bytes '.repeat(1000));
  const { digest } = await store.writeBlob(data);
  const file = store.blobPath(digest);
  fs.chmodSync(file, 0o644);
  const bad = Buffer.from(data);
  bad[5] ^= 1;
  fs.writeFileSync(file, bad);
  await assert.rejects(store.readBlob(digest), /is corrupted/);
  await assert.rejects(readAll(store.readStream(digest)), /is corrupted/);
});

test('invalid digests are refused before touching the filesystem', async () => {
  await assert.rejects(async () => store.readBlob('sha256:../../etc/passwd'), /invalid digest/);
  await assert.rejects(async () => store.readBlob('md5:abc'), /invalid digest/);
});
