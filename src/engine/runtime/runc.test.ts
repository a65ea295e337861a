/**
 * The runc wrapper runs the launcher's sealed copy of runc when there is one, and the binary on disk when that
 * copy is gone between the lookup and the exec (its helper died).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runc } from './runc';
import { Launcher } from './launcher';

const RUNC = '/usr/sbin/runc';

test('runc: the sealed copy while the helper runs; the binary on disk when the copy vanished', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-runc-'));
  const l = new Launcher({ workDir: path.join(tmp, 'launch'), runtime: RUNC });
  try {
    const runc = new Runc({ path: RUNC, root: path.join(tmp, 'root'), launcher: l });
    assert.equal(runc.exe, RUNC);
    l.warm();
    for (let i = 0; i < 600 && runc.exe === RUNC; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(runc.exe, path.join(tmp, 'launch', 'runc'));
    assert.match((await runc.run(['--version'])).stdout, /^runc version/);
    assert.equal(await runc.state('no-such-container'), undefined);
    // The copy's path no longer resolves: the same call falls back to the configured binary.
    assert.match((await runc.run(['--version'], 60_000, path.join(tmp, 'gone', 'runc'))).stdout, /^runc version/);
    // Without a launcher: the configured binary.
    assert.equal(new Runc({ path: RUNC, root: tmp }).exe, RUNC);
  } finally {
    l.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
