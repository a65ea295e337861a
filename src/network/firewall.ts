/**
 * skiff's own filter rules, kept apart from the host's and from the CNI plugins' (which own the nat table
 * chains CNI-* for masquerade and published ports). Everything here lives in chains named SKIFF-* that one
 * jump from FORWARD reaches; per-network rules carry the comment "skiff:<network id prefix>" so cleanup can
 * find them.
 *
 *   FORWARD -> SKIFF-FORWARD
 *     -> SKIFF-USER          operator's chain: created empty, never flushed by skiff. Rules here win over
 *                            skiff's (e.g. `iptables -I SKIFF-USER -m conntrack --ctorigdstport 8080 -j DROP`
 *                            closes a published port even though its DNAT happened in PREROUTING).
 *     -> SKIFF-ISOLATION     internal networks: nothing in or out of their bridge;
 *                            traffic between two different skiff bridges -> SKIFF-ISOLATION-2 -> DROP
 *     accept container traffic (so hosts whose FORWARD policy is DROP still work)
 *
 *
 *   nat POSTROUTING -> SKIFF-POSTROUTING: `-s <subnet> ! -o <bridge> -j MASQUERADE` per non-internal network
 *
 * iptables on Debian 12 is iptables-nft; the CNI plugins call the same `iptables`, so both sets of rules are
 * in the same nf_tables tables and show up together in `iptables-save` / `nft list ruleset`.
 */
import { createHash } from 'node:crypto';
import { run } from './exec';

export const BRIDGE_PREFIX = 'skiff';
const WILDCARD = `${BRIDGE_PREFIX}+`;

const IPT = 'iptables';

async function ipt(args: string[], allowFail = false) {
  return run(IPT, ['-w', '5', ...args], { allowFail });
}

async function chainExists(table: string, chain: string): Promise<boolean> {
  return (await ipt(['-t', table, '-S', chain], true)).code === 0;
}

async function ensureChain(table: string, chain: string): Promise<void> {
  if (!(await chainExists(table, chain))) await ipt(['-t', table, '-N', chain], true);
}

async function ensureRule(table: string, chain: string, rule: string[], position?: number): Promise<void> {
  if ((await ipt(['-t', table, '-C', chain, ...rule], true)).code === 0) return;
  if (position !== undefined) await ipt(['-t', table, '-I', chain, String(position), ...rule]);
  else await ipt(['-t', table, '-A', chain, ...rule]);
}

export function networkTag(networkId: string): string {
  return `skiff:${networkId.slice(0, 12)}`;
}

export class Firewall {
  /**
   * Creates the SKIFF-* chains and the jump from FORWARD; idempotent, keeps SKIFF-USER's content.
   *
   * Every engine and agent start (and every reconcile) calls this while other skiff processes on the host
   * forward traffic, so it must never open a window in which forwarded packets skip SKIFF-USER: chains whose
   * content is already right are left alone, and a rebuild or a move of the FORWARD jump goes through
   * `iptables-restore --noflush` as one nf_tables transaction (declaring a chain there flushes just it).
   */
  async ensureBase(): Promise<void> {
    // Two skiff processes starting together can both move the jump; the later transaction then fails as a
    // whole (its delete no longer matches) and is recomputed from what the first left.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.ensureBaseOnce();
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  }

  private async ensureBaseOnce(): Promise<void> {
    await ensureChain('filter', 'SKIFF-USER');
    await ensureChain('filter', 'SKIFF-ISOLATION');
    await ensureChain('nat', 'SKIFF-POSTROUTING');
    await ensureRule('nat', 'POSTROUTING', ['-m', 'comment', '--comment', 'skiff', '-j', 'SKIFF-POSTROUTING']);
    const fixed: Record<string, string[]> = {
      'SKIFF-FORWARD': [
        '-j SKIFF-USER',
        '-j SKIFF-ISOLATION',
        `-o ${WILDCARD} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `-o ${WILDCARD} -m conntrack --ctstate DNAT -j ACCEPT`,
        `-i ${WILDCARD} -j ACCEPT`,
      ],
      'SKIFF-ISOLATION-2': [`-o ${WILDCARD} -j DROP`],
    };
    const restore: string[] = [];
    // SKIFF-FORWARD and SKIFF-ISOLATION-2 have fixed content: rebuilt when it differs, so an upgrade or a
    // partial write never leaves a stale rule.
    for (const [chain, rules] of Object.entries(fixed)) {
      const listed = await ipt(['-t', 'filter', '-S', chain], true);
      const want = [`-N ${chain}`, ...rules.map((r) => `-A ${chain} ${r}`)];
      if (listed.code === 0 && sameLines(listed.stdout, want)) continue;
      restore.push(`:${chain} - [0:0]`, ...rules.map((r) => `-A ${chain} ${r}`));
    }
    // Our jump goes first in FORWARD so isolation applies before any other accept (e.g. the CNI firewall
    // plugin's CNI-FORWARD); the operator still has SKIFF-USER ahead of everything of ours. Moving it is a
    // delete and an insert in the same transaction.
    const jump = '-m comment --comment skiff -j SKIFF-FORWARD';
    const forward = (await ipt(['-t', 'filter', '-S', 'FORWARD'])).stdout.split('\n').filter((l) => l.startsWith('-A FORWARD'));
    if (forward[0] !== `-A FORWARD ${jump}`) {
      for (const line of forward) if (line === `-A FORWARD ${jump}`) restore.push(`-D FORWARD ${jump}`);
      restore.push(`-I FORWARD 1 ${jump}`);
    }
    if (restore.length === 0) return;
    await run('iptables-restore', ['-w', '5', '--noflush'], { stdin: ['*filter', ...restore, 'COMMIT', ''].join('\n') });
  }

  /** Isolation rules of one network (idempotent). */
  async addNetwork(networkId: string, bridge: string, subnet: string, internal: boolean): Promise<void> {
    const c = ['-m', 'comment', '--comment', networkTag(networkId)];
    if (!internal) {
      // Outbound NAT for the whole subnet; traffic staying on the bridge keeps its addresses.
      await ensureRule('nat', 'SKIFF-POSTROUTING', ['-s', subnet, '!', '-o', bridge, ...c, '-j', 'MASQUERADE']);
    }
    if (internal) {
      await ensureRule('filter', 'SKIFF-ISOLATION', ['-i', bridge, '!', '-o', bridge, ...c, '-j', 'DROP'], 1);
      await ensureRule('filter', 'SKIFF-ISOLATION', ['-o', bridge, '!', '-i', bridge, ...c, '-j', 'DROP'], 1);
    } else {
      // Leaving this bridge for another skiff bridge: stage 2 drops it; for anything else stage 2 returns.
      await ensureRule('filter', 'SKIFF-ISOLATION', ['-i', bridge, '!', '-o', bridge, ...c, '-j', 'SKIFF-ISOLATION-2']);
    }
  }

  async removeNetwork(networkId: string): Promise<void> {
    const tagged = (line: string) => line.includes(`"${networkTag(networkId)}"`) || line.includes(`--comment ${networkTag(networkId)} `);
    await deleteTagged('filter', ['SKIFF-ISOLATION'], tagged);
    await deleteTagged('nat', ['SKIFF-POSTROUTING'], tagged);
  }

  /** Removes every skiff chain and jump (tests and uninstall; SKIFF-USER is kept unless `all`). */
  async removeBase(all = false): Promise<void> {
    await ipt(['-t', 'nat', '-D', 'POSTROUTING', '-m', 'comment', '--comment', 'skiff', '-j', 'SKIFF-POSTROUTING'], true);
    await ipt(['-t', 'nat', '-F', 'SKIFF-POSTROUTING'], true);
    await ipt(['-t', 'nat', '-X', 'SKIFF-POSTROUTING'], true);
    await ipt(['-t', 'filter', '-D', 'FORWARD', '-m', 'comment', '--comment', 'skiff', '-j', 'SKIFF-FORWARD'], true);
    for (const ch of ['SKIFF-FORWARD', 'SKIFF-ISOLATION', 'SKIFF-ISOLATION-2', ...(all ? ['SKIFF-USER'] : [])]) {
      await ipt(['-t', 'filter', '-F', ch], true);
    }
    for (const ch of ['SKIFF-FORWARD', 'SKIFF-ISOLATION', 'SKIFF-ISOLATION-2', ...(all ? ['SKIFF-USER'] : [])]) {
      await ipt(['-t', 'filter', '-X', ch], true);
    }
  }
}

function sameLines(listing: string, want: string[]): boolean {
  const got = listing.split('\n').filter((l) => l.trim() !== '');
  return got.length === want.length && got.every((l, i) => l === want[i]);
}

/** Splits one `iptables -S` line into arguments (handles the quotes iptables puts around comments). */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
  return out;
}

/** Deletes rules in the given chains whose `-S` line matches. */
export async function deleteTagged(table: string, chains: string[], match: (line: string) => boolean): Promise<string[]> {
  const removedTargets: string[] = [];
  for (const chain of chains) {
    const res = await ipt(['-t', table, '-S', chain], true);
    if (res.code !== 0) continue;
    for (const line of res.stdout.split('\n')) {
      if (!line.startsWith(`-A ${chain} `) || !match(line)) continue;
      const args = splitRule(line);
      args[0] = '-D';
      await ipt(['-t', table, ...args], true);
      const j = args.indexOf('-j');
      if (j >= 0 && args[j + 1]) removedTargets.push(args[j + 1]);
    }
  }
  return removedTargets;
}

/**
 * Removes the CNI plugins' nat rules (bridge ipMasq chains, portmap DNAT chains) left for owners that no
 * longer exist. The plugins tag them `name: "<network>" id: "<owner>"`; bridge's DEL cannot find its masquerade
 * rule once the netns is gone, so reconcile needs this sweep.
 */
export async function sweepCniNat(isOrphan: (network: string, owner: string) => boolean): Promise<number> {
  const re = /name: \\?"([^"\\]+)\\?" id: \\?"([^"\\]+)\\?"/;
  const test = (line: string) => {
    const m = re.exec(line);
    return !!m && isOrphan(m[1], m[2]);
  };
  const targets = await deleteTagged('nat', ['POSTROUTING', 'CNI-HOSTPORT-DNAT'], test);
  let n = 0;
  for (const t of new Set(targets)) {
    if (!t.startsWith('CNI-') || t.startsWith('CNI-HOSTPORT')) continue;
    await ipt(['-t', 'nat', '-F', t], true);
    if ((await ipt(['-t', 'nat', '-X', t], true)).code === 0) n++;
  }
  return n;
}

/** The chain CNI portmap makes per (network, container): libcni's FormatChainName with the "DN-" prefix. */
export function portmapChainName(network: string, owner: string): string {
  return `CNI-DN-${createHash('sha512').update(network + owner).digest('hex')}`.slice(0, 28);
}

/**
 * Deletes the portmap chains of dead (network, owner) pairs that nothing jumps to any more: a portmap ADD
 * killed after creating its chain but before adding the commented jump leaves one that no comment finds.
 */
export async function sweepPortmapChains(pairs: Iterable<[string, string]>): Promise<number> {
  const listing = await ipt(['-t', 'nat', '-S'], true);
  const existing = new Set(
    listing.stdout
      .split('\n')
      .filter((l) => l.startsWith('-N CNI-DN-'))
      .map((l) => l.slice(3).trim()),
  );
  let n = 0;
  for (const [network, owner] of pairs) {
    const chain = portmapChainName(network, owner);
    if (!existing.has(chain)) continue;
    // A jump to it may still exist (then sweepCniNat removes it first); -X fails while referenced.
    await ipt(['-t', 'nat', '-F', chain], true);
    if ((await ipt(['-t', 'nat', '-X', chain], true)).code === 0) n++;
  }
  return n;
}
