/**
 * Docker's /networks endpoints over the network library (src/network). Translation only: the request
 * shapes of moby's api/types/network become NetworkManager calls; typed errors become status codes in http.ts.
 */
import type { Router } from '../router';
import { readJson, sendJson, sendNoContent } from '../http';
import { SkiffError } from '../../../common/errors';
import type { NetworkManager } from '../../../network/manager';
import { normalizeFilters } from '../../../network/docker';
import type { EndpointRequest } from '../../../network/types';

/** What the routes need to know about containers (the container manager provides it). */
export interface NetworkContainerHooks {
  /** Resolves a container name or (prefix of an) id; throws NotFound. */
  resolve(idOrName: string): { id: string; name: string; running: boolean };
  /**
   * Connect/disconnect of a container that has no live sandbox (created or stopped): the container manager
   * records the change in its config so the next start's setup() includes it. Absent: Conflict.
   */
  connectStopped?(id: string, ep: EndpointRequest): Promise<void> | void;
  disconnectStopped?(id: string, networkId: string): Promise<void> | void;
  /** Called after a live connect/disconnect so the container's inspect data can be refreshed. */
  changed?(id: string): void;
}

export interface NetworkRouteDeps {
  networks: NetworkManager;
  containers?: NetworkContainerHooks;
  /** Docker events (type "network": create, destroy, connect, disconnect, remove). */
  emit?(action: string, network: { id: string; name: string; type: string }, container?: string): void;
}

interface CreateBody {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: { Subnet?: string; IPRange?: string; Gateway?: string }[] | null; Options?: Record<string, string> | null };
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string } | null;
}

interface ConnectBody {
  Container?: string;
  EndpointConfig?: {
    IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
    Aliases?: string[] | null;
    MacAddress?: string;
  } | null;
}

export function registerNetworkRoutes(router: Router, deps: NetworkRouteDeps): void {
  const { networks } = deps;
  const emit = (action: string, id: string, name: string, container?: string) =>
    deps.emit?.(action, { id, name, type: 'bridge' }, container);

  router.get('/networks', ({ res, query }) => {
    sendJson(res, 200, networks.listDockerNetworks(normalizeFilters(query.get('filters') ?? undefined)));
  });

  router.post('/networks/create', async ({ req, res }) => {
    const body = await readJson<CreateBody>(req);
    if (body.EnableIPv6) throw new SkiffError('InvalidArgument', 'IPv6 networks are not supported by skiff yet');
    if (body.ConfigOnly || body.ConfigFrom?.Network) throw new SkiffError('InvalidArgument', 'config-only networks are not supported');
    if (body.Ingress) throw new SkiffError('InvalidArgument', 'ingress networks are not supported');
    const ipamDriver = body.IPAM?.Driver;
    if (ipamDriver && ipamDriver !== 'default') throw new SkiffError('InvalidArgument', `IPAM driver "${ipamDriver}" is not supported`);
    const cfgs = body.IPAM?.Config ?? [];
    const v4 = cfgs.filter((c) => !c.Subnet?.includes(':'));
    if (v4.length !== cfgs.length) throw new SkiffError('InvalidArgument', 'IPv6 subnets are not supported by skiff yet');
    if (v4.length > 1) throw new SkiffError('InvalidArgument', 'skiff networks have a single IPv4 subnet');
    const n = await networks.createNetwork({
      name: body.Name ?? '',
      driver: body.Driver,
      internal: !!body.Internal,
      attachable: !!body.Attachable,
      subnet: v4[0]?.Subnet || undefined,
      gateway: v4[0]?.Gateway || undefined,
      ipRange: v4[0]?.IPRange || undefined,
      labels: body.Labels ?? {},
      options: body.Options ?? {},
    });
    emit('create', n.id, n.name);
    sendJson(res, 201, { Id: n.id, Warning: '' });
  });

  router.post('/networks/prune', async ({ res, query }) => {
    const removed = await networks.pruneNetworks(normalizeFilters(query.get('filters') ?? undefined));
    sendJson(res, 200, { NetworksDeleted: removed });
  });

  router.get('/networks/{id}', ({ res, params }) => {
    sendJson(res, 200, networks.inspectNetwork(params.id));
  });

  router.delete('/networks/{id}', async ({ res, params }) => {
    const n = networks.getNetwork(params.id);
    await networks.removeNetwork(n.id);
    emit('destroy', n.id, n.name);
    sendNoContent(res);
  });

  router.post('/networks/{id}/connect', async ({ req, res, params }) => {
    const body = await readJson<ConnectBody>(req);
    const n = networks.getNetwork(params.id);
    const c = containerOf(deps, body.Container);
    const epc = body.EndpointConfig ?? {};
    const ep: EndpointRequest = {
      network: n.id,
      aliases: epc.Aliases ?? undefined,
      ipv4Address: epc.IPAMConfig?.IPv4Address || undefined,
      macAddress: epc.MacAddress || undefined,
    };
    if (networks.sandbox(c.id)) {
      await networks.connect(c.id, ep);
      deps.containers?.changed?.(c.id);
    } else if (deps.containers?.connectStopped) {
      await deps.containers.connectStopped(c.id, ep);
    } else {
      throw new SkiffError('Conflict', `container ${c.name} is not running`);
    }
    emit('connect', n.id, n.name, c.id);
    sendNoContent(res, 200);
  });

  router.post('/networks/{id}/disconnect', async ({ req, res, params }) => {
    const body = await readJson<{ Container?: string; Force?: boolean }>(req);
    const n = networks.getNetwork(params.id);
    const c = containerOf(deps, body.Container);
    if (networks.sandbox(c.id)) {
      await networks.disconnect(c.id, n.id);
      deps.containers?.changed?.(c.id);
    } else if (deps.containers?.disconnectStopped) {
      await deps.containers.disconnectStopped(c.id, n.id);
    } else {
      throw new SkiffError('Forbidden', `container ${c.name} is not connected to network ${n.name}`);
    }
    emit('disconnect', n.id, n.name, c.id);
    sendNoContent(res, 200);
  });
}

function containerOf(deps: NetworkRouteDeps, ref: string | undefined): { id: string; name: string } {
  if (!ref) throw new SkiffError('InvalidArgument', 'container is required');
  if (deps.containers) return deps.containers.resolve(ref);
  // Without a container manager (library tests): the sandbox id is the container id.
  return { id: ref, name: ref };
}
