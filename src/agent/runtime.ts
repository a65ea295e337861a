/**
 * The agent's view of the engine: pod containers found by label, created with the dockershim's labels and
 * names, started, stopped with a grace period, removed. Talks to the in-process ContainerManager (the same
 * one behind the node's Docker API, so `docker ps` shows what the agent runs).
 */
import fs from 'node:fs';
import type { ContainerManager } from '../engine/containers/manager';
import type { ContainerRecord, MountSpec } from '../engine/containers/types';
import { isSkiffError } from '../common/errors';
import {
  LABEL_ATTEMPT,
  LABEL_CONTAINER_NAME,
  LABEL_GRACE,
  LABEL_HASH,
  LABEL_KIND,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  containerHash,
  engineContainerName,
  podNetworkMode,
  type ContainerKind,
} from './naming';
import type { RuntimeContainer } from './sync';
import type { ContainerSpec, PodV1 } from './types';
import { engineResources } from './resources';

/** What checkImage did: the image was there (or the policy kept it), or it was pulled (how long, its size). */
export type ImageCheck = { pulled: false } | { pulled: true; ms: number; size?: number };

export class ImagePullError extends Error {
  constructor(message: string, readonly never = false) {
    super(message);
  }
}

export interface CreateOptions {
  pod: PodV1;
  spec: ContainerSpec;
  kind: ContainerKind;
  attempt: number;
  env: string[];
  mounts: MountSpec[];
  hostname: string;
}

/**
 * The engine's SecurityOpt for a container's seccomp profile, as the kubelet decides it: the container's
 * securityContext.seccompProfile, else the pod's; RuntimeDefault → the runtime's default profile (the engine's,
 * Docker's); unset or Unconfined → unconfined (the kubelet's default while --seccomp-default is off, which is
 * upstream's default — and it spares runc a filter compile and load on every start). Localhost profiles are
 * not available here: the runtime default is the safe stand-in.
 */
export function seccompSecurityOpt(pod: PodV1, spec: ContainerSpec): string[] {
  const profile = spec.securityContext?.seccompProfile ?? pod.spec.securityContext?.seccompProfile;
  const type = profile?.type ?? 'Unconfined';
  return type === 'Unconfined' ? ['seccomp=unconfined'] : [];
}

export function toRuntime(rec: ContainerRecord): RuntimeContainer {
  const l = rec.Config.Labels ?? {};
  const s = rec.State;
  // A start that failed (runc could not exec the command...) is an attempt that exited at once.
  const failedStart = s.Status === 'created' && !rec.Skiff.hasBeenStarted && !!s.Error;
  return {
    id: rec.Id,
    name: l[LABEL_CONTAINER_NAME] ?? '',
    kind: (l[LABEL_KIND] as ContainerKind) ?? 'main',
    attempt: Number(l[LABEL_ATTEMPT] ?? 0) || 0,
    hash: l[LABEL_HASH] ?? '',
    state: s.Running || s.Paused ? 'running' : s.Status === 'created' && !rec.Skiff.hasBeenStarted && !failedStart ? 'created' : 'exited',
    exitCode: failedStart ? s.ExitCode || 128 : s.ExitCode,
    oomKilled: s.OOMKilled,
    createdAt: rec.Created,
    finishedAt: failedStart ? rec.Created : s.FinishedAt,
    startedAt: failedStart ? rec.Created : s.StartedAt,
    imageId: rec.Image,
    image: rec.Config.Image,
    error: s.Error || undefined,
  };
}

export class PodRuntime {
  constructor(readonly containers: ContainerManager) {}

  /** Every engine container that belongs to a pod, by pod uid. */
  byPod(): Map<string, ContainerRecord[]> {
    const out = new Map<string, ContainerRecord[]>();
    for (const rec of this.containers.list()) {
      const uid = rec.Config.Labels?.[LABEL_POD_UID];
      if (!uid) continue;
      const list = out.get(uid) ?? [];
      list.push(rec);
      out.set(uid, list);
    }
    return out;
  }

  podContainers(uid: string): ContainerRecord[] {
    return this.containers.list().filter((r) => r.Config.Labels?.[LABEL_POD_UID] === uid);
  }

  isPodContainer(id: string): boolean {
    try {
      return !!this.containers.get(id).Config.Labels?.[LABEL_POD_UID];
    } catch {
      return false;
    }
  }

  /**
   * Makes the image available under the pull policy, pulling through the engine's registry client (the one
   * behind `docker pull`): Never → present or ErrImageNeverPull; IfNotPresent → pulled when absent; Always →
   * pulled every time (the client answers "up to date" without a download when the registry has the same
   * image; registries the engine may not contact leave a present image as is). A failed pull is ErrImagePull.
   * `credentials`: the pod's imagePullSecrets entry for the image's registry (credentialsFromConfig in
   * src/engine/registry/auth.ts reads a dockerconfigjson secret); absent, the engine's own config.json.
   */
  async checkImage(
    spec: ContainerSpec,
    credentials?: import('../engine/images/types').RegistryCredentials,
    onPulling?: () => void,
  ): Promise<ImageCheck> {
    const image = spec.image ?? '';
    const images = this.containers.opts.images;
    const policy = spec.imagePullPolicy ?? (/:latest$|^[^:@]+$/.test(image.split('/').pop() ?? '') ? 'Always' : 'IfNotPresent');
    let present = true;
    try {
      await images.resolve(image);
    } catch (err) {
      if (!isSkiffError(err, 'NotFound')) throw err;
      present = false;
    }
    if (policy === 'Never') {
      if (!present) throw new ImagePullError(`Container image "${image}" is not present with pull policy of Never`, true);
      return { pulled: false };
    }
    if (present && policy !== 'Always') return { pulled: false };
    if (!images.pull) {
      if (present) return { pulled: false };
      throw new ImagePullError(`Failed to pull image "${image}": image not found in the node's image store and no registry client is available`);
    }
    onPulling?.();
    const t0 = Date.now();
    try {
      await images.pull(image, credentials);
    } catch (err) {
      throw new ImagePullError(`Failed to pull image "${image}": ${err instanceof Error ? err.message : String(err)}`);
    }
    const size = await images.resolve(image).then((r) => r.size, () => undefined);
    return { pulled: true, ms: Date.now() - t0, size };
  }

  async create(o: CreateOptions): Promise<string> {
    const { pod, spec } = o;
    const meta = { name: pod.metadata.name!, namespace: pod.metadata.namespace ?? 'default', uid: pod.metadata.uid! };
    const sc = spec.securityContext ?? {};
    const user = sc.runAsUser !== undefined ? `${sc.runAsUser}${sc.runAsGroup !== undefined ? `:${sc.runAsGroup}` : ''}` : undefined;
    const body = {
      Image: spec.image,
      // Upstream: command replaces the entrypoint, args the cmd; either alone keeps the other from the image.
      Entrypoint: spec.command && spec.command.length ? spec.command : undefined,
      Cmd: spec.args && spec.args.length ? spec.args : undefined,
      Env: o.env,
      WorkingDir: spec.workingDir,
      Hostname: o.hostname,
      User: user,
      Tty: !!spec.tty,
      OpenStdin: !!spec.stdin,
      StdinOnce: !!spec.stdinOnce,
      Labels: {
        [LABEL_POD_NAME]: meta.name,
        [LABEL_POD_NAMESPACE]: meta.namespace,
        [LABEL_POD_UID]: meta.uid,
        [LABEL_CONTAINER_NAME]: spec.name,
        [LABEL_ATTEMPT]: String(o.attempt),
        [LABEL_HASH]: containerHash(spec),
        [LABEL_KIND]: o.kind,
        [LABEL_GRACE]: String(pod.spec.terminationGracePeriodSeconds ?? 30),
      },
      HostConfig: {
        NetworkMode: pod.spec.hostNetwork ? 'host' : podNetworkMode(meta.uid),
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
        Mounts: o.mounts,
        Privileged: !!sc.privileged,
        ReadonlyRootfs: !!sc.readOnlyRootFilesystem,
        CapAdd: sc.capabilities?.add ?? null,
        CapDrop: sc.capabilities?.drop ?? null,
        SecurityOpt: seccompSecurityOpt(pod, spec),
        LogConfig: { Type: 'json-file', Config: {} },
        ...engineResources(spec),
      },
    };
    if (body.Entrypoint && !body.Cmd) (body as { Cmd?: string[] }).Cmd = [];
    const name = engineContainerName(spec, meta, o.attempt);
    // A leftover of the same attempt (a crash between create and start) is replaced.
    try {
      const old = this.containers.get(name);
      await this.containers.remove(old.Id, { force: true });
    } catch {
      /* none */
    }
    const { Id } = await this.containers.create(body as never, name);
    return Id;
  }

  start(id: string): Promise<void> {
    return this.containers.start(id);
  }

  /** SIGTERM (or the image's stop signal), SIGKILL after graceSec. Already stopped: fine. */
  async stop(id: string, graceSec: number): Promise<void> {
    try {
      if (graceSec <= 0) {
        // No grace: SIGKILL at once. The engine's stop would send the stop signal first and SIGKILL right
        // after (two runc execs, each a fork of this large process and a Go program's start-up).
        const exited = this.containers.wait(id, 'not-running');
        if (!this.killInit(id)) await this.containers.kill(id, 'KILL');
        await exited;
        return;
      }
      await this.containers.stop(id, Math.max(0, Math.ceil(graceSec)));
    } catch (err) {
      // Already stopped (kill answers Conflict for a container that is not running).
      if (isSkiffError(err, 'NotModified') || isSkiffError(err, 'NotFound') || (graceSec <= 0 && isSkiffError(err, 'Conflict') && !this.get(id)?.State.Running)) return;
      throw err;
    }
  }

  /**
   * SIGKILLs the container's init process directly — what `runc kill KILL` does, without the exec — when it
   * is provably that container's: it has its own PID namespace (killing its init ends every process in it)
   * and /proc/<pid>/cgroup shows the container's own cgroup (so the pid was not reused). False otherwise:
   * the caller goes through the engine.
   */
  killInit(id: string): boolean {
    const rec = this.get(id);
    const pid = rec?.State.Pid;
    if (!rec || !rec.State.Running || !pid || pid <= 1 || rec.HostConfig.PidMode) return false;
    let cg: string;
    try {
      cg = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      return false;
    }
    const want = `:${this.containers.cgroupsPath(rec.Id)}`;
    if (!cg.split('\n').some((l) => l.endsWith(want))) return false;
    try {
      process.kill(pid, 'SIGKILL');
      return true;
    } catch {
      return false;
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.containers.remove(id, { force: true, volumes: true });
    } catch (err) {
      if (!isSkiffError(err, 'NotFound')) throw err;
    }
  }

  get(id: string): ContainerRecord | undefined {
    try {
      return this.containers.get(id);
    } catch {
      return undefined;
    }
  }
}
