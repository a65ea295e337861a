/**
 * The seam between the engine's container manager (upper) and networking (lower).
 *
 * The container manager asks for a network sandbox before it starts a container and gives it back when the
 * container stops or is removed. Networking owns network namespaces, CNI calls, IP leases, port publishing,
 * firewall rules and name resolution; it never imports the engine. The node agent uses the same seam for pods
 * (one sandbox per pod, shared by its containers through `--network container:`-style joins).
 */

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

export interface PortBinding {
  containerPort: number;
  protocol: PortProtocol;
  /** Host address to bind ("" or "0.0.0.0" = all). */
  hostIp: string;
  /** Host port; 0 = pick an ephemeral port (the result reports the chosen one). */
  hostPort: number;
}

export interface EndpointRequest {
  /** Network name or id ("bridge" is the default bridge network). */
  network: string;
  /** Extra DNS names on this network (Docker's --network-alias). */
  aliases?: string[];
  /** Static address request (Docker's --ip). */
  ipv4Address?: string;
  macAddress?: string;
}

export interface SandboxRequest {
  /** Owner id: a container id, or a pod sandbox id. Setup is idempotent per id. */
  id: string;
  /** Container name, resolvable on user-defined networks. */
  name: string;
  hostname: string;
  endpoints: EndpointRequest[];
  portBindings: PortBinding[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  extraHosts?: string[]; // "name:ip"
}

export interface EndpointResult {
  network: string;
  networkId: string;
  endpointId: string;
  ipAddress: string;
  prefixLen: number;
  gateway: string;
  macAddress: string;
  aliases: string[];
}

export interface SandboxResult {
  /** Path of the network namespace to join (OCI linux.namespaces[].path). */
  netnsPath: string;
  endpoints: EndpointResult[];
  /** Published ports as actually bound (ephemeral ports resolved). */
  ports: PortBinding[];
  /** Content for the container's /etc/hosts and /etc/resolv.conf. */
  hostsFile: string;
  resolvConf: string;
}

export interface SetupHooks {
  /**
   * Called once the sandbox's network namespace exists at its final path, before endpoints are added: the
   * caller may create its container in it meanwhile (joining the namespace), as long as the process does not
   * run before setup resolves. Not called when setup fails first, nor by implementations that cannot tell.
   */
  netnsReady?(netnsPath: string): void;
}

export interface ContainerNetworking {
  setup(req: SandboxRequest, hooks?: SetupHooks): Promise<SandboxResult>;
  /** Releases everything setup created for this id. Safe to call twice or for an unknown id. */
  teardown(id: string): Promise<void>;
}
