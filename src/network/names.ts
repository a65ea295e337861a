/**
 * Name resolution on user-defined networks (pure): which addresses a name has for a client, and where the
 * embedded DNS forwards what it does not own. Mirrors Docker's per-container view: a client sees names on every
 * user-defined network it is attached to; the default bridge has no names.
 */
import type { NetworkRecord, SandboxRecord } from './model';

export interface NameView {
  networks: ReadonlyMap<string, NetworkRecord>;
  sandboxes: Iterable<SandboxRecord>;
}

function clientOf(view: NameView, networkId: string, clientIp: string): SandboxRecord | undefined {
  for (const sb of view.sandboxes) {
    if (sb.endpoints.some((e) => e.networkId === networkId && e.ipAddress === clientIp)) return sb;
  }
  return undefined;
}

/** Addresses of name for the client at clientIp asking on networkId; undefined when skiff does not own the name. */
export function resolveName(view: NameView, networkId: string, clientIp: string, rawName: string): string[] | undefined {
  const client = clientOf(view, networkId, clientIp);
  const netIds = client
    ? client.endpoints.map((e) => e.networkId).filter((id) => view.networks.get(id) && !view.networks.get(id)!.isDefault)
    : [networkId];
  const out: string[] = [];
  const name = rawName.toLowerCase().replace(/\.$/, '');
  for (const id of netIds) {
    const n = view.networks.get(id);
    if (!n) continue;
    // "name.network" resolves too.
    const suffix = `.${n.name.toLowerCase()}`;
    const short = name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
    for (const sb of view.sandboxes) {
      for (const ep of sb.endpoints) {
        if (ep.networkId !== id) continue;
        const match =
          sb.name.toLowerCase() === short ||
          ep.aliases.some((a) => a.toLowerCase() === short) ||
          (short.length >= 12 && sb.id.startsWith(short)) ||
          (!!sb.hostname && sb.hostname.toLowerCase() === short && id === networkId);
        if (match && !out.includes(ep.ipAddress)) out.push(ep.ipAddress);
      }
    }
  }
  return out.length ? out : undefined;
}

/**
 * Upstream resolvers for a client: its --dns if given, else the defaults. A client attached only to --internal
 * networks gets none: forwarding its queries would be a way out of the network (as in Docker).
 */
export function upstreamsForClient(view: NameView, networkId: string, clientIp: string, defaults: string[]): string[] {
  const client = clientOf(view, networkId, clientIp);
  const attached = client ? client.endpoints.map((e) => view.networks.get(e.networkId)) : [view.networks.get(networkId)];
  if (attached.every((n) => !n || n.internal)) return [];
  if (client?.request.dns?.length) return client.request.dns;
  return defaults;
}
