/**
 * The base chains (root, real iptables-nft). Every engine and agent start calls ensureBase while other skiff
 * processes forward traffic, so it must not rebuild what is already right (a flush-then-append left a moment in
 * which SKIFF-USER was skipped: an operator's DROP did not apply) and must move the FORWARD jump in one step.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Firewall } from './firewall';
import { run } from './exec';
import { isRoot, randomSuffix } from './testutil';

/** nf_tables rule handles of a chain: they change when a rule is deleted and added again. */
async function handles(chain: string): Promise<string[]> {
  const out = await run('nft', ['-a', 'list', 'chain', 'ip', 'filter', chain]);
  return out.stdout.split('\n').filter((l) => /# handle \d+/.test(l)).map((l) => l.trim());
}

async function forwardRules(): Promise<string[]> {
  return (await run('iptables', ['-w', '5', '-S', 'FORWARD'])).stdout.split('\n').filter((l) => l.startsWith('-A FORWARD'));
}

const JUMP = '-A FORWARD -m comment --comment skiff -j SKIFF-FORWARD';

describe('Firewall.ensureBase (root, real iptables)', { skip: !isRoot && 'needs root' }, () => {
  const fw = new Firewall();

  it('leaves chains that are already right untouched (same rule handles) and keeps SKIFF-USER', async () => {
    await fw.ensureBase();
    const before = { fwd: await handles('SKIFF-FORWARD'), iso2: await handles('SKIFF-ISOLATION-2'), top: await handles('FORWARD') };
    const userRule = ['SKIFF-USER', '-i', `nosuch${randomSuffix().slice(0, 6)}`, '-j', 'DROP'];
    await run('iptables', ['-w', '5', '-A', ...userRule]);
    try {
      await fw.ensureBase();
      assert.deepEqual(await handles('SKIFF-FORWARD'), before.fwd);
      assert.deepEqual(await handles('SKIFF-ISOLATION-2'), before.iso2);
      assert.deepEqual(await handles('FORWARD'), before.top);
      assert.equal((await run('iptables', ['-w', '5', '-C', ...userRule], { allowFail: true })).code, 0, 'SKIFF-USER kept');
    } finally {
      await run('iptables', ['-w', '5', '-D', ...userRule], { allowFail: true });
    }
  });

  it('repairs a stale SKIFF-FORWARD and moves the jump back to the top, once, even when started together', async () => {
    await fw.ensureBase();
    // A foreign rule ahead of ours that can never match (no such interface), so traffic is unaffected.
    const foreign = ['FORWARD', '-i', `nosuch${randomSuffix().slice(0, 6)}`, '-m', 'comment', '--comment', 'skiff-test', '-j', 'DROP'];
    await run('iptables', ['-w', '5', '-I', 'FORWARD', '1', ...foreign.slice(1)]);
    try {
      // A stale chain content (as an older skiff could leave): the last rule missing.
      await run('iptables', ['-w', '5', '-D', 'SKIFF-FORWARD', '-i', 'skiff+', '-j', 'ACCEPT']);
      await Promise.all([fw.ensureBase(), new Firewall().ensureBase(), new Firewall().ensureBase()]);
      const rules = await forwardRules();
      assert.equal(rules[0], JUMP);
      assert.equal(rules.filter((r) => r === JUMP).length, 1, rules.join('\n'));
      const fwd = (await run('iptables', ['-w', '5', '-S', 'SKIFF-FORWARD'])).stdout;
      assert.match(fwd, /^-A SKIFF-FORWARD -j SKIFF-USER$/m);
      assert.match(fwd, /^-A SKIFF-FORWARD -i skiff\+ -j ACCEPT$/m);
    } finally {
      await run('iptables', ['-w', '5', '-D', ...foreign], { allowFail: true });
    }
  });
});
