import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ShellError, ShellRunner, shq } from './shell';

test('shell helper: concurrent jobs, exit codes, folded output, here-documents, quoting, errors', async () => {
  const sh = new ShellRunner();
  try {
    const jobs = Array.from({ length: 40 }, (_, i) => sh.run(`echo start ${i}; sleep 0.0$((${i} % 5)); echo "end ${i}"; exit $((${i} % 3))`, { allowFail: true }));
    const res = await Promise.all(jobs);
    res.forEach((r, i) => {
      assert.equal(r.code, i % 3);
      assert.equal(r.output, `start ${i} end ${i}`);
    });
    const here = await sh.run(`cat <<'EOF'\nline one\n$NOT_EXPANDED\nEOF\n`);
    assert.equal(here.output, 'line one $NOT_EXPANDED');
    assert.equal((await sh.run(`printf %s ${shq("it's a 'quoted' word")}`)).output, "it's a 'quoted' word");
    await assert.rejects(sh.run('echo nope >&2; exit 7', { what: 'failing job' }), (e) => e instanceof ShellError && e.result.code === 7 && /failing job exited 7: nope/.test(e.message));
    // Long output is cut, the answer stays one line.
    assert.equal((await sh.run('head -c 5000 /dev/zero | tr "\\0" x')).output.length, 1000);
  } finally {
    sh.close();
  }
});

test('shell helper: restarted after it dies', async () => {
  const sh = new ShellRunner();
  try {
    assert.equal((await sh.run('echo one')).output, 'one');
    const pid = sh.pid!;
    process.kill(pid, 'SIGKILL');
    // Wait until the runner has seen the exit (Node reaps the child a little after the kernel does): a job sent
    // in between goes to the dying helper and fails, which callers (level-triggered loops) retry anyway.
    for (let i = 0; i < 250 && sh.pid === pid; i++) await new Promise((r) => setTimeout(r, 20));
    assert.notEqual(sh.pid, pid, 'the runner noticed its helper died');
    assert.equal((await sh.run('echo two')).output, 'two');
    assert.notEqual(sh.pid, pid);
  } finally {
    sh.close();
  }
});
