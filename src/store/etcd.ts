/** etcd v3 backend (in progress). */
import { unavailable } from '../common/errors';
import type { Store } from './types';

export class EtcdStore {
  static async connect(opts: { hosts: string[] }): Promise<Store> {
    throw unavailable(`The etcd store (${opts.hosts.join(',')}) is not implemented yet`);
  }
}
