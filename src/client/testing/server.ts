/**
 * TEST ONLY: a real `skiff server` child process on a temp data dir and a free port, with no node agent
 * (--disable-agent), and a client for its admin kubeconfig. stop() kills it and removes the directory.
 * SKIFF_BIN points the tests at another build of the binary.
 */
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeClient } from '../client';

const REPO = path.resolve(__dirname, '../../../..');

export interface TestServer {
  dir: string;
  kubeconfig: string;
  client: KubeClient;
  output(): string;
  stop(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-ctl-'));
  const dataDir = path.join(dir, 'data');
  let out = '';
  const child: ChildProcess = spawn(process.execPath, [process.env.SKIFF_BIN ?? path.join(REPO, 'bin/skiff'), 'server', '--data-dir', dataDir, '--listen-port', '0', '--disable-agent'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A test process that is cancelled (test timeout, Ctrl-C) must not leave the server running.
  const killChild = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killChild);
  child.once('exit', () => process.removeListener('exit', killChild));
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const kubeconfig = path.join(dataDir, 'kubeconfig.yaml');
  const deadline = Date.now() + 60_000;
  let client: KubeClient | undefined;
  while (Date.now() < deadline && child.exitCode === null) {
    if (fs.existsSync(kubeconfig)) {
      try {
        client = KubeClient.fromKubeconfig(kubeconfig);
        await client.request('GET', '/readyz');
        break;
      } catch {
        client?.close();
        client = undefined;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!client) {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`skiff server did not become ready: ${out}`);
  }
  const c = client;
  return {
    dir,
    kubeconfig,
    client: c,
    output: () => out,
    async stop() {
      c.close();
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            r(undefined);
          }, 10_000);
          child.once('exit', () => {
            clearTimeout(t);
            r(undefined);
          });
        });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until fn returns a truthy value; throws with the last value after the timeout. */
export async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
