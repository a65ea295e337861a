/**
 * Opening the control plane's store from a `--datastore-endpoint` value (k3s' flag and syntax):
 *   absent, '' or `sqlite://<path>`      → the embedded SQLite store (default file `<dataDir>/store/state.db`)
 *   `http://h:p[,http://h2:p2...]`, `https://...` or `etcd://h:p[,...]` → etcd v3
 */
import path from 'node:path';
import { invalid } from '../common/errors';
import { SqliteStore, type SqliteStoreOptions } from './sqlite';
import type { Store } from './types';

export type { Store } from './types';
export * from './types';

export interface OpenStoreOptions {
  /** The server's data directory (the SQLite file lives under it unless the endpoint names one). */
  dataDir: string;
  /** `--datastore-endpoint`; see the module comment. */
  endpoint?: string;
  /** Extra SQLite tuning (tests and benchmarks). */
  sqlite?: Omit<SqliteStoreOptions, 'file'>;
}

export type ParsedEndpoint = { kind: 'sqlite'; file: string } | { kind: 'etcd'; hosts: string[] };

/** Pure: what a `--datastore-endpoint` value designates. */
export function parseEndpoint(dataDir: string, endpoint?: string): ParsedEndpoint {
  const e = (endpoint ?? '').trim();
  if (e === '') return { kind: 'sqlite', file: path.join(dataDir, 'store', 'state.db') };
  if (e.startsWith('sqlite://')) {
    const p = e.slice('sqlite://'.length).replace(/\?.*$/, '');
    if (p === '') return { kind: 'sqlite', file: path.join(dataDir, 'store', 'state.db') };
    return { kind: 'sqlite', file: path.resolve(dataDir, p) };
  }
  if (/^(https?|etcd):\/\//.test(e)) {
    const hosts = e.split(',').map((h) => {
      const u = h.trim();
      if (!/^(https?|etcd):\/\/[^/]+/.test(u)) throw invalid(`Invalid etcd endpoint "${u}" in --datastore-endpoint "${e}"`);
      return u.replace(/^etcd:\/\//, 'http://').replace(/\/+$/, '');
    });
    return { kind: 'etcd', hosts };
  }
  throw invalid(
    `Unsupported --datastore-endpoint "${e}": use sqlite://<path>, http://host:port[,...] or etcd://host:port[,...]`,
  );
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const ep = parseEndpoint(opts.dataDir, opts.endpoint);
  if (ep.kind === 'sqlite') return new SqliteStore({ file: ep.file, ...opts.sqlite });
  const { EtcdStore } = await import('./etcd');
  return EtcdStore.connect({ hosts: ep.hosts });
}
