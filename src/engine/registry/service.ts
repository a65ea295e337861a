/**
 * The engine's registry client: pull and push over the distribution API, for the Docker API edge
 * (`docker pull/push`, `docker run` of a missing image) and the node agent's pull policy.
 *
 * Which registries it contacts: loopback ones always (plain HTTP, as Docker treats 127.0.0.0/8 as insecure);
 * others only when listed in `allowed` ("*" for any) — this engine runs on machines without a way out, and an
 * unlisted registry is never looked up or dialled. A pull from an unlisted registry behaves as before there
 * was a client: an image already here is "up to date", anything else is "pull access denied". docker.io images
 * may come from registry mirrors (Docker's registry-mirrors), tried first.
 */
import { notFound, SkiffError } from '../../common/errors';
import { familiarName, familiarString, parseReference, withDefaultTag, type Reference } from '../images/reference';
import type { ImageService } from '../images/service';
import { readDockerConfig, type Credentials } from './auth';
import { pull, type Platform, type Progress, type PullResult } from './pull';
import { push, type PushedTag } from './push';
import { isLoopbackHost, RegistryTransport } from './transport';
import { pullError } from './errors';

export interface RegistryClientOptions {
  /** Non-loopback registry hosts that may be contacted ("*": any). */
  allowed?: string[];
  /** Hosts spoken to over plain HTTP (Docker's insecure-registries). */
  insecure?: string[];
  /** Docker's per-registry TLS files (<dir>/<host>/*.crt, client.cert/.key); default /etc/docker/certs.d. */
  certsDir?: string;
  /** A docker config.json to take credentials from when a request brings none (default ~/.docker/config.json). */
  dockerConfig?: string;
  /**
   * Docker's registry-mirrors: base URLs ("http://127.0.0.1:5000") tried in order for docker.io images. When
   * docker.io itself may not be contacted and no mirror has the image, a copy already here is used.
   */
  mirrors?: string[];
}

export interface CallOptions {
  credentials?: Credentials;
  /** "os/arch[/variant]" (docker pull --platform). */
  platform?: string;
  progress?: Progress;
  signal?: AbortSignal;
}

/** "https://index.docker.io/v1/", "http://h:5000", "h:5000/" → the registry host ("docker.io", "h:5000"). */
export function registryHost(serverAddress: string): string {
  const h = serverAddress.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return h === '' || h === 'index.docker.io' || h === 'registry-1.docker.io' ? 'docker.io' : h;
}

/** "linux/amd64[/v2]" → os and architecture; empty → undefined (the host's). */
export function parsePlatform(s: string | undefined): Platform | undefined {
  if (!s) return undefined;
  const [os, architecture] = s.toLowerCase().split('/');
  if (!os || !architecture) throw new SkiffError('InvalidArgument', `invalid platform "${s}": expected os/arch`);
  return { os, architecture: architecture === 'x86_64' || architecture === 'x86-64' ? 'amd64' : architecture === 'aarch64' ? 'arm64' : architecture };
}

/** GET /v2/<name>/tags/list, following `Link: <...>; rel="next"` pages. */
async function listTags(t: RegistryTransport, path: string): Promise<string[]> {
  const tags: string[] = [];
  let next: string | undefined = `/v2/${path}/tags/list`;
  for (let page = 0; next && page < 100; page++) {
    const res = await t.request(next, { scope: `repository:${path}:pull` });
    const body = (await res.json()) as { tags?: string[] | null };
    tags.push(...(body.tags ?? []));
    const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '');
    next = link ? link[1] : undefined;
  }
  return [...new Set(tags)].sort();
}

export class RegistryClient {
  constructor(
    private readonly images: ImageService,
    private readonly opts: RegistryClientOptions = {},
  ) {}

  /** Options from the environment: SKIFF_ALLOWED_REGISTRIES and SKIFF_INSECURE_REGISTRIES, comma-separated. */
  static optionsFromEnv(env: NodeJS.ProcessEnv = process.env): RegistryClientOptions {
    const list = (v?: string) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    return {
      allowed: list(env.SKIFF_ALLOWED_REGISTRIES),
      insecure: list(env.SKIFF_INSECURE_REGISTRIES),
      mirrors: list(env.SKIFF_REGISTRY_MIRRORS),
    };
  }

  allows(domain: string): boolean {
    const a = this.opts.allowed ?? [];
    return isLoopbackHost(domain) || a.includes('*') || a.includes(domain) || (this.opts.insecure ?? []).includes(domain);
  }

  private transport(domain: string, o: CallOptions): RegistryTransport {
    return new RegistryTransport({
      host: domain,
      insecure: (this.opts.insecure ?? []).includes(domain),
      certsDir: this.opts.certsDir ?? '/etc/docker/certs.d',
      credentials: o.credentials ?? readDockerConfig(domain, this.opts.dockerConfig),
      signal: o.signal,
    });
  }

  /** Pulls `ref` (name[:tag][@digest]; :latest by default). */
  async pull(refString: string, o: CallOptions = {}): Promise<PullResult> {
    const ref = withDefaultTag(parseReference(refString));
    const progress = o.progress ?? (() => {});
    const platform = parsePlatform(o.platform);
    const mirrors = ref.domain === 'docker.io' ? (this.opts.mirrors ?? []) : [];
    if (mirrors.length > 0) return this.pullViaMirrors(ref, mirrors, o, progress, platform);
    if (!this.allows(ref.domain)) return this.offlinePull(ref, progress);
    return pull(this.images, this.transport(ref.domain, o), ref, progress, platform);
  }

  private async pullViaMirrors(ref: Reference, mirrors: string[], o: CallOptions, progress: Progress, platform?: Platform): Promise<PullResult> {
    let last: unknown;
    for (const m of mirrors) {
      const host = new URL(m).host;
      const t = new RegistryTransport({
        host,
        endpoint: m,
        insecure: (this.opts.insecure ?? []).includes(host),
        certsDir: this.opts.certsDir ?? '/etc/docker/certs.d',
        credentials: o.credentials ?? readDockerConfig(host, this.opts.dockerConfig),
        signal: o.signal,
      });
      try {
        return await pull(this.images, t, ref, progress, platform);
      } catch (err) {
        last = err;
        if (o.signal?.aborted) throw err;
      }
    }
    if (this.allows(ref.domain)) return pull(this.images, this.transport(ref.domain, o), ref, progress, platform);
    try {
      return this.offlinePull(ref, progress);
    } catch {
      throw last;
    }
  }

  /**
   * Pulls every tag of a repository (`docker pull -a`, or the API's fromImage without a tag, as moby does).
   * Per-tag lines as usual; one final Status line for the repository.
   */
  async pullAllTags(name: string, o: CallOptions = {}): Promise<PullResult[]> {
    const repo = parseReference(name);
    const progress = o.progress ?? (() => {});
    if (!this.allows(repo.domain)) return [this.offlinePull(withDefaultTag(repo), progress)];
    const t = this.transport(repo.domain, o);
    let tags: string[];
    try {
      await t.ping();
      tags = await listTags(t, repo.path);
    } catch (err) {
      throw pullError(err, familiarName(repo), familiarName(repo));
    }
    if (tags.length === 0) throw notFound(`repository ${familiarName(repo)} not found: no tags`);
    const out: PullResult[] = [];
    const quiet = (m: Record<string, unknown>) => {
      if (typeof m.status === 'string' && m.status.startsWith('Status: ')) return;
      progress(m);
    };
    for (const tag of tags) out.push(await pull(this.images, t, { ...repo, tag }, quiet, parsePlatform(o.platform)));
    const fresh = out.some((r) => !r.upToDate);
    progress({ status: `Status: ${fresh ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarName(repo)}` });
    return out;
  }

  private readonly inflight = new Map<string, Promise<PullResult>>();

  /**
   * A pull without progress shared by concurrent callers of the same reference (the node agent starting
   * many pods of one image at once pulls it once).
   */
  pullShared(refString: string, credentials?: Credentials): Promise<PullResult> {
    // Callers with their own credentials share only with callers holding the same ones.
    const key = `${familiarString(withDefaultTag(parseReference(refString)))} ${credentials ? JSON.stringify(credentials) : ''}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.pull(refString, { credentials }).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** Pushes `name[:tag]` (every tag of the repository when none is given). */
  async push(refString: string, o: CallOptions = {}): Promise<PushedTag[]> {
    const ref = parseReference(refString);
    if (ref.digest) throw new SkiffError('InvalidArgument', `cannot push a digest reference: ${refString}`);
    const progress = o.progress ?? (() => {});
    if (!this.allows(ref.domain)) {
      throw new SkiffError(
        'Forbidden',
        `pushing to ${ref.domain} is not enabled on this engine (it contacts loopback registries and those in SKIFF_ALLOWED_REGISTRIES): ${familiarName(ref)}`,
      );
    }
    return push(this.images, this.transport(ref.domain, o), ref, progress);
  }

  /** `docker login`: checks the credentials against the registry at `serverAddress`. */
  async login(serverAddress: string, credentials: Credentials | undefined, signal?: AbortSignal): Promise<void> {
    const host = registryHost(serverAddress);
    if (!this.allows(host)) {
      throw new SkiffError('Forbidden', `logging in to ${host} is not enabled on this engine (it contacts loopback registries and those in SKIFF_ALLOWED_REGISTRIES)`);
    }
    await new RegistryTransport({ host, insecure: (this.opts.insecure ?? []).includes(host), certsDir: this.opts.certsDir ?? '/etc/docker/certs.d', credentials, signal }).login();
  }

  private offlinePull(ref: Reference, progress: Progress): PullResult {
    let local;
    try {
      local = this.images.lookup(familiarString(ref));
    } catch {
      local = undefined;
    }
    if (!local) {
      throw notFound(
        `pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login'`,
      );
    }
    progress({ status: `Pulling from ${ref.path}`, id: ref.tag ?? ref.digest });
    progress({ status: `Digest: ${local.manifestDigest}` });
    progress({ status: `Status: Image is up to date for ${familiarString(ref)}` });
    return { id: local.id, digest: local.manifestDigest, upToDate: true };
  }
}
