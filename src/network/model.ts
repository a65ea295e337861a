/** Persistent records of networking (what is stored on disk; not the Docker wire shape). */
import type { CniResult } from './cni';
import type { PortBinding, SandboxRequest } from './types';

export interface NetworkRecord {
  id: string;
  name: string;
  driver: 'bridge';
  /** ISO time. */
  created: string;
  internal: boolean;
  attachable: boolean;
  subnet: string;
  gateway: string;
  /** Sub-range addresses are allocated from (Docker's --ip-range); defaults to the subnet. */
  ipRange?: string;
  /** Linux bridge interface name (≤15 chars, always starts with "skiff" so firewall rules can match skiff+). */
  bridge: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** The predefined default `bridge` network: no name resolution, like Docker's. */
  isDefault: boolean;
}

export interface EndpointRecord {
  networkId: string;
  endpointId: string;
  ifName: string;
  aliases: string[];
  ipAddress: string;
  prefixLen: number;
  gateway: string;
  macAddress: string;
  /** Port mappings handed to portmap on this endpoint (only on the primary endpoint). */
  portMappings: PortBinding[];
  cniResult?: CniResult;
}

export interface SandboxRecord {
  id: string;
  name: string;
  hostname: string;
  netnsPath: string;
  request: SandboxRequest;
  endpoints: EndpointRecord[];
  ports: PortBinding[];
  hostsFile: string;
  resolvConf: string;
}
