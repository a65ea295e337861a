/**
 * Loads the connection settings an in-process component needs from a kubeconfig file: server URL, CA,
 * bearer token (or token file), client certificate, insecure-skip-tls-verify — for the current context or a
 * named one. Only what the admin kubeconfig written by `skiff server` and ordinary kubeconfigs use.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { invalid } from '../common/errors';

export interface ClientConfig {
  /** e.g. https://127.0.0.1:6443 or http://127.0.0.1:8080 */
  server: string;
  caData?: Buffer;
  token?: string;
  certData?: Buffer;
  keyData?: Buffer;
  insecureSkipTLSVerify?: boolean;
  /**
   * Plain HTTP over this unix socket instead of `server` (the socket `skiff server` opens for its own
   * in-process components); the token is still sent. Never read from a kubeconfig.
   */
  socketPath?: string;
  /** Sent as User-Agent; upstream components identify themselves this way. */
  userAgent?: string;
}

interface Named<T> {
  name: string;
  [k: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

export function loadKubeconfig(path: string, context?: string): ClientConfig {
  const text = readFileSync(path, 'utf8');
  return parseKubeconfig(text, dirname(resolve(path)), context);
}

export function parseKubeconfig(text: string, baseDir = '.', context?: string): ClientConfig {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const doc = parse(text) as any;
  if (!doc || typeof doc !== 'object') throw invalid('kubeconfig: not a YAML mapping');
  const ctxName: string = context ?? doc['current-context'];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const find = (list: Named<any>[] | undefined, name: string | undefined, what: string) => {
    const item = (list ?? []).find((x) => x.name === name) ?? (name === undefined && list?.length === 1 ? list[0] : undefined);
    if (!item) throw invalid(`kubeconfig: ${what} "${name}" not found`);
    return item;
  };
  const ctx = find(doc.contexts, ctxName, 'context').context ?? {};
  const cluster = find(doc.clusters, ctx.cluster, 'cluster').cluster ?? {};
  const user = ctx.user !== undefined ? (doc.users ?? []).find((u: Named<unknown>) => u.name === ctx.user)?.user ?? {} : {};
  const file = (p: string) => readFileSync(resolve(baseDir, p));
  const cfg: ClientConfig = { server: String(cluster.server ?? '').replace(/\/+$/, '') };
  if (!cfg.server) throw invalid('kubeconfig: cluster has no server');
  if (cluster['certificate-authority-data']) cfg.caData = Buffer.from(cluster['certificate-authority-data'], 'base64');
  else if (cluster['certificate-authority']) cfg.caData = file(cluster['certificate-authority']);
  if (cluster['insecure-skip-tls-verify']) cfg.insecureSkipTLSVerify = true;
  if (user.token) cfg.token = String(user.token);
  else if (user.tokenFile) cfg.token = file(user.tokenFile).toString('utf8').trim();
  if (user['client-certificate-data']) cfg.certData = Buffer.from(user['client-certificate-data'], 'base64');
  else if (user['client-certificate']) cfg.certData = file(user['client-certificate']);
  if (user['client-key-data']) cfg.keyData = Buffer.from(user['client-key-data'], 'base64');
  else if (user['client-key']) cfg.keyData = file(user['client-key']);
  return cfg;
}
