/**
 * The seam between images (lower) and the container manager (upper).
 *
 * Images live in a content-addressed OCI blob store; an image's id is the sha256 digest of its config
 * blob (as Docker does). The container manager reads the image config to merge it with a create request
 * and asks the snapshotter for a writable rootfs over the image's read-only layers.
 */

/** The runtime part of an image config (Docker/OCI `config`), as Docker's API shows it under `Config`. */
export interface ImageRuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: {
    Test?: string[];
    Interval?: number; // ns
    Timeout?: number; // ns
    StartPeriod?: number; // ns
    StartInterval?: number; // ns
    Retries?: number;
  };
  OnBuild?: string[] | null;
  Shell?: string[];
}

export interface ImageRecord {
  /** "sha256:<hex>" of the config blob. */
  id: string;
  repoTags: string[];
  repoDigests: string[];
  /** RFC 3339. */
  created: string;
  /** Sum of uncompressed layer sizes, bytes. */
  size: number;
  architecture: string;
  os: string;
  config: ImageRuntimeConfig;
  /** Uncompressed layer digests, bottom first. */
  diffIds: string[];
}

/** Registry credentials (the registry client's Credentials; kept here so lower layers need not import it). */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

export interface ImageLookup {
  /** Resolves a reference (name[:tag], name@digest, full or short id). NotFound: `No such image: <ref>`. */
  resolve(ref: string): Promise<ImageRecord>;
  /**
   * Pulls ref through the engine's registry client (absent: no client; the node agent's pull policy uses it).
   * `credentials` (e.g. from a pod's imagePullSecrets) replace the engine's own config.json entry.
   */
  pull?(ref: string, credentials?: RegistryCredentials): Promise<void>;
}

/** A writable root filesystem for one container, over an image's read-only layers (overlayfs). */
export interface RootfsMount {
  /** OCI mount form: type overlay, source overlay, options lowerdir=...,upperdir=...,workdir=... */
  type: 'overlay' | 'bind';
  source: string;
  options: string[];
  /** The writable layer (for `docker diff`, size). */
  upperDir?: string;
}

export interface Snapshotter {
  /** Creates (idempotently) the writable layer `key` over the image's layers, unpacking layers if needed. */
  prepare(key: string, imageId: string): Promise<RootfsMount>;
  /**
   * Mounts the rootfs of `key` at target (the engine mounts before runc create: runc gets a plain rootfs path).
   * `volatile` (for --rm containers): the writable layer is never synced, which makes unmount several ms
   * faster; a host crash may lose its recent writes.
   */
  mount(key: string, target: string, opts?: { volatile?: boolean }): Promise<void>;
  /** Unmounts target if mounted; no error if not. */
  unmount(target: string): Promise<void>;
  /** Removes the writable layer. Unknown key: no error. */
  remove(key: string): Promise<void>;
  /** Keys of all writable layers (for reconciliation after a crash). */
  list(): Promise<string[]>;
}
