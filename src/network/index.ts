/** Engine networking: the library the container manager and the node agent use (see ./types for the seam). */
export * from './types';
export { NetworkManager, type NetworkingOptions, type CreateNetworkOptions } from './manager';
export type { NetworkRecord, SandboxRecord, EndpointRecord } from './model';
export { toDockerNetwork, normalizeFilters, type DockerNetwork, type DockerEndpoint, type FilterArgs } from './docker';
export { NetnsDir } from './netns';
export { CniInvoker } from './cni';
