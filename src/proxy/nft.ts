/** Running `nft` (I/O): apply a ruleset atomically, delete a table, find tables this proxy owns. */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { internal } from '../common/errors';

export const OWNER_COMMENT_PREFIX = 'skiff service proxy';

function run(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // stdin only when there is input: nft exits without reading it for other commands, and writing to it then
    // raises EPIPE (an unhandled 'error' that would take the whole server down).
    const p = spawn('nft', args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    if (p.stdin) {
      p.stdin.on('error', () => undefined); // a failing nft closes early; its exit code and stderr tell why
      p.stdin.end(input);
    }
  });
}

/** One transaction: the table is replaced whole or not at all. */
export async function applyRuleset(text: string): Promise<void> {
  const r = await run(['-f', '-'], text);
  if (r.code !== 0) throw internal(`nft -f failed: ${r.stderr.trim()}`);
}

export async function deleteTable(table: string): Promise<void> {
  const r = await run(['delete', 'table', 'ip', table]);
  if (r.code !== 0 && !/No such file or directory/.test(r.stderr)) throw internal(`nft delete table ip ${table} failed: ${r.stderr.trim()}`);
}

export async function tableExists(table: string): Promise<boolean> {
  return (await run(['list', 'table', 'ip', table])).code === 0;
}

export async function listTable(table: string): Promise<string> {
  const r = await run(['list', 'table', 'ip', table]);
  if (r.code !== 0) throw internal(`nft list table ip ${table} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Deletes tables a skiff service proxy left behind for a run directory that no longer exists (a test server
 * killed -9 whose temp dirs were removed). Production's table (run dir /run/skiff) is never swept.
 */
export async function sweepStaleTables(log: (m: string) => void = () => undefined): Promise<string[]> {
  const r = await new Promise<string>((resolve) => execFile('nft', ['list', 'tables'], (_e, out) => resolve(String(out ?? ''))));
  const removed: string[] = [];
  for (const line of r.split('\n')) {
    const m = /^table ip (skiff-svc-[0-9a-f]+)$/.exec(line.trim());
    if (!m) continue;
    const text = await listTable(m[1]).catch(() => '');
    const c = new RegExp(`comment "${OWNER_COMMENT_PREFIX}; run-dir=([^"]*)"`).exec(text);
    if (!c || fs.existsSync(c[1])) continue;
    await deleteTable(m[1]).catch(() => undefined);
    removed.push(m[1]);
    log(`removed stale service table ${m[1]} (run dir ${c[1]} is gone)`);
  }
  return removed;
}
