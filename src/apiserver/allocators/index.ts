/**
 * The Service network of the API server: ClusterIP and NodePort allocation on Service writes (through the
 * Registry's object hooks) and the `kubernetes` Service in `default` (the range's first address, port 443 →
 * the API server), as upstream's kube-apiserver does at start.
 */
import os from 'node:os';
import { isSkiffError } from '../../common/errors';
import type { KubeObject } from '../resource';
import type { Registry } from '../registry';
import { StatusError } from '../status';
import { ServiceAllocator, type ServiceAllocatorOptions } from './service';

export { ServiceAllocator, DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CIDR } from './service';

export interface ServiceNetworkOptions extends ServiceAllocatorOptions {
  /** Where pods reach the API server (the `kubernetes` Service's endpoint); omitted = no endpoints written. */
  apiServer?: { bindAddress: string; port: number };
  log?: (msg: string) => void;
}

/** Loads the allocators from the stored Services, hooks them into writes, and ensures the `kubernetes` Service. */
export async function attachServiceNetwork(registry: Registry, opts: ServiceNetworkOptions = {}): Promise<ServiceAllocator> {
  const log = opts.log ?? (() => undefined);
  const svcs = registry.resource('', 'v1', 'services');
  if (!svcs) throw new Error('the API server serves no services');
  const alloc = new ServiceAllocator(opts);
  const { items } = await registry.list(svcs, '');
  for (const p of alloc.load(items)) log(`service allocator: ${p}`);
  registry.setObjectHooks(svcs, alloc);
  await ensureKubernetesService(registry, alloc, opts, log).catch((e) => log(`kubernetes service: ${e instanceof Error ? e.message : String(e)}`));
  return alloc;
}

async function ensureKubernetesService(registry: Registry, alloc: ServiceAllocator, opts: ServiceNetworkOptions, log: (m: string) => void): Promise<void> {
  const svcs = registry.resource('', 'v1', 'services')!;
  const port = opts.apiServer?.port || 6443;
  const want: KubeObject = {
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: alloc.firstIP,
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }],
      sessionAffinity: 'None',
    },
  };
  const have = await registry.tryGet(svcs, 'default', 'kubernetes');
  if (!have) await ignoreExists(registry.create(svcs, 'default', want));
  else if (have.obj.spec && (have.obj.spec as { clusterIP?: string }).clusterIP !== alloc.firstIP)
    log(`the kubernetes Service has ClusterIP ${(have.obj.spec as { clusterIP?: string }).clusterIP}, outside or not first in ${alloc.cidr.text}`);
  else if (JSON.stringify((have.obj.spec as { ports?: unknown }).ports) !== JSON.stringify((want.spec as { ports: unknown }).ports)) {
    await registry.guaranteedUpdate(svcs, 'default', 'kubernetes', (cur) => ({ ...cur, spec: { ...(cur.spec as object), ports: (want.spec as { ports: unknown }).ports } }));
  }
  const ip = opts.apiServer?.port ? advertiseAddress(opts.apiServer.bindAddress) : undefined;
  const eps = registry.resource('', 'v1', 'endpoints');
  if (!ip || !eps) return;
  const endpoints: KubeObject = {
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
  };
  const cur = await registry.tryGet(eps, 'default', 'kubernetes');
  if (!cur) await ignoreExists(registry.create(eps, 'default', endpoints));
  else if (JSON.stringify(cur.obj.subsets) !== JSON.stringify(endpoints.subsets))
    await registry.guaranteedUpdate(eps, 'default', 'kubernetes', (o) => ({ ...o, subsets: endpoints.subsets }));
}

async function ignoreExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StatusError && e.status.code === 409) return;
    if (isSkiffError(e, 'AlreadyExists')) return;
    throw e;
  }
}

/**
 * The address pods use for the API server: the bind address when it is a specific non-loopback one, else the
 * host's first non-loopback IPv4 outside container bridges (upstream's --advertise-address default).
 */
export function advertiseAddress(bindAddress: string): string | undefined {
  if (bindAddress && bindAddress !== '0.0.0.0' && !bindAddress.startsWith('127.') && /^\d+\.\d+\.\d+\.\d+$/.test(bindAddress)) return bindAddress;
  if (bindAddress.startsWith('127.')) return undefined;
  const ifs = os.networkInterfaces();
  for (const [name, addrs] of Object.entries(ifs)) {
    if (/^(lo|skiff|cni|docker|veth|br-|virbr|kube)/.test(name)) continue;
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}
