/**
 * Pod volumes on the node: emptyDir (a directory, or a tmpfs for medium Memory), hostPath, and the
 * projected kinds (configMap, secret, downwardAPI, projected) written with the AtomicWriter and refreshed
 * on every sync so object changes show up in place. Each pod's volumes live under
 * DATA_DIR/pods/<uid>/volumes/<name>; teardown unmounts and removes them.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { MountSpec } from '../engine/containers/types';
import { writeAtomic, type PayloadFile } from './atomic-writer';
import { ConfigError, fieldRefValue, formatMap } from './env';
import { resourceFieldValue } from './resources';
import type { ContainerSpec, DownwardAPIFile, KeyToPath, PodV1, Volume } from './types';

const run = promisify(execFile);

export interface VolumeLookups {
  configMap(name: string): { data: Record<string, string>; binaryData: Record<string, string> } | undefined;
  secret(name: string): Record<string, string> | undefined; // base64 values
  podIP?: string;
  hostIP: string;
  node: { cpuMilli: number; memory: number; ephemeral: number };
}

function isMounted(p: string): boolean {
  try {
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === p);
  } catch {
    return false;
  }
}

export class VolumeManager {
  constructor(private readonly root: string) {}

  podDir(uid: string): string {
    return path.join(this.root, uid);
  }

  volumeDir(uid: string, name: string): string {
    return path.join(this.root, uid, 'volumes', name);
  }

  /** Creates or refreshes every volume of the pod. Throws ConfigError for missing non-optional sources. */
  async setUp(pod: PodV1, lk: VolumeLookups): Promise<void> {
    const uid = pod.metadata.uid!;
    for (const v of pod.spec.volumes ?? []) {
      const dir = this.volumeDir(uid, v.name);
      if (v.emptyDir) {
        await fsp.mkdir(dir, { recursive: true, mode: 0o777 });
        if (v.emptyDir.medium === 'Memory' && !isMounted(dir)) {
          const size = v.emptyDir.sizeLimit ? [`-o`, `size=${v.emptyDir.sizeLimit.replace(/i$/, '').replace(/([KMG])$/, (m) => m.toLowerCase())}`] : [];
          await run('mount', ['-t', 'tmpfs', ...size, 'tmpfs', dir]).catch(() => run('mount', ['-t', 'tmpfs', 'tmpfs', dir]));
          await fsp.chmod(dir, 0o777);
        }
        continue;
      }
      if (v.hostPath) {
        const t = v.hostPath.type ?? '';
        if (t === 'DirectoryOrCreate') await fsp.mkdir(v.hostPath.path, { recursive: true, mode: 0o755 });
        else if (t === 'FileOrCreate' && !fs.existsSync(v.hostPath.path)) {
          await fsp.mkdir(path.dirname(v.hostPath.path), { recursive: true });
          await fsp.writeFile(v.hostPath.path, '');
        } else if (t && !fs.existsSync(v.hostPath.path)) throw new ConfigError(`hostPath type check failed: ${v.hostPath.path} is not a ${t}`);
        continue;
      }
      const payload = this.payloadOf(pod, v, lk);
      if (payload) writeAtomic(dir, payload);
    }
  }

  private payloadOf(pod: PodV1, v: Volume, lk: VolumeLookups): Map<string, PayloadFile> | undefined {
    const out = new Map<string, PayloadFile>();
    if (v.configMap) {
      this.addConfigMap(out, v.configMap.name, v.configMap.items, v.configMap.optional, v.configMap.defaultMode ?? 0o644, lk);
      return out;
    }
    if (v.secret) {
      this.addSecret(out, v.secret.secretName, v.secret.items, v.secret.optional, v.secret.defaultMode ?? 0o644, lk);
      return out;
    }
    if (v.downwardAPI) {
      this.addDownward(out, pod, v.downwardAPI.items ?? [], v.downwardAPI.defaultMode ?? 0o644, lk);
      return out;
    }
    if (v.projected) {
      const mode = v.projected.defaultMode ?? 0o644;
      for (const s of v.projected.sources ?? []) {
        if (s.configMap) this.addConfigMap(out, s.configMap.name, s.configMap.items, s.configMap.optional, mode, lk);
        else if (s.secret) this.addSecret(out, s.secret.name, s.secret.items, s.secret.optional, mode, lk);
        else if (s.downwardAPI) this.addDownward(out, pod, s.downwardAPI.items ?? [], mode, lk);
        else if (s.serviceAccountToken) out.set(s.serviceAccountToken.path, { data: Buffer.from(''), mode });
      }
      return out;
    }
    return undefined;
  }

  private addKeys(out: Map<string, PayloadFile>, data: Record<string, Buffer>, items: KeyToPath[] | undefined, mode: number, what: string): void {
    if (items && items.length) {
      for (const it of items) {
        if (!(it.key in data)) throw new ConfigError(`configmap references non-existent config key: ${it.key} (${what})`);
        out.set(it.path, { data: data[it.key], mode: it.mode ?? mode });
      }
      return;
    }
    for (const [k, d] of Object.entries(data)) out.set(k, { data: d, mode });
  }

  private addConfigMap(out: Map<string, PayloadFile>, name: string, items: KeyToPath[] | undefined, optional: boolean | undefined, mode: number, lk: VolumeLookups): void {
    const cm = lk.configMap(name);
    if (!cm) {
      if (optional) return;
      throw new ConfigError(`configmap "${name}" not found`);
    }
    const data: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(cm.data)) data[k] = Buffer.from(v);
    for (const [k, v] of Object.entries(cm.binaryData)) data[k] = Buffer.from(v, 'base64');
    this.addKeys(out, data, items, mode, `configmap ${name}`);
  }

  private addSecret(out: Map<string, PayloadFile>, name: string, items: KeyToPath[] | undefined, optional: boolean | undefined, mode: number, lk: VolumeLookups): void {
    const s = lk.secret(name);
    if (!s) {
      if (optional) return;
      throw new ConfigError(`secret "${name}" not found`);
    }
    const data: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(s)) data[k] = Buffer.from(v, 'base64');
    this.addKeys(out, data, items, mode, `secret ${name}`);
  }

  private addDownward(out: Map<string, PayloadFile>, pod: PodV1, items: DownwardAPIFile[], mode: number, lk: VolumeLookups): void {
    for (const it of items) {
      let text = '';
      if (it.fieldRef) {
        const p = it.fieldRef.fieldPath;
        text = p === 'metadata.labels' ? formatMap(pod.metadata.labels) : p === 'metadata.annotations' ? formatMap(pod.metadata.annotations) : fieldRefValue(pod, p, lk.podIP, lk.hostIP);
      } else if (it.resourceFieldRef) {
        const r = it.resourceFieldRef;
        const c: ContainerSpec | undefined = pod.spec.containers.find((x) => x.name === r.containerName) ?? pod.spec.containers[0];
        text = resourceFieldValue(c, r.resource, r.divisor, lk.node);
      }
      out.set(it.path, { data: Buffer.from(text), mode: it.mode ?? mode });
    }
  }

  /** Bind mounts for one container (subPath binds the entry inside the volume). */
  mountsFor(pod: PodV1, c: ContainerSpec): MountSpec[] {
    const uid = pod.metadata.uid!;
    const vols = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
    const out: MountSpec[] = [];
    for (const m of c.volumeMounts ?? []) {
      const v = vols.get(m.name);
      if (!v) throw new ConfigError(`volume "${m.name}" not found in pod spec`);
      let source = v.hostPath ? v.hostPath.path : this.volumeDir(uid, v.name);
      if (m.subPath) {
        source = path.join(source, m.subPath);
        if (!source.startsWith(v.hostPath ? v.hostPath.path : this.volumeDir(uid, v.name))) throw new ConfigError(`invalid subPath ${m.subPath}`);
        if (!fs.existsSync(source)) fs.mkdirSync(source, { recursive: true, mode: 0o777 });
      }
      // Projected kinds are read-only in the container, as upstream mounts them.
      const ro = !!m.readOnly || !!(v.configMap || v.secret || v.downwardAPI || v.projected);
      out.push({ Type: 'bind', Source: source, Target: m.mountPath, ReadOnly: ro, BindOptions: { Propagation: 'rprivate' } });
    }
    return out;
  }

  /** Unmounts tmpfs volumes and removes the pod's directory. */
  async tearDown(uid: string): Promise<void> {
    const dir = path.join(this.root, uid);
    // Most pods have no volume directory at all (nothing to unmount or remove), and only memory-backed
    // emptyDirs are mounted: a volume on another device than its parent directory. Only then is the host's
    // mount table (rendered anew by the kernel, every mount of the host) read for the exact list.
    let volumes: string[];
    try {
      volumes = fs.readdirSync(path.join(dir, 'volumes'));
    } catch {
      volumes = [];
      if (!fs.existsSync(dir)) return;
    }
    const parentDev = volumes.length ? fs.statSync(path.join(dir, 'volumes')).dev : 0;
    const mounted = volumes.some((v) => {
      try {
        return fs.statSync(path.join(dir, 'volumes', v)).dev !== parentDev;
      } catch {
        return false;
      }
    });
    if (!mounted) {
      await fsp.rm(dir, { recursive: true, force: true });
      return;
    }
    const prefix = dir + '/';
    let mounts: string[] = [];
    try {
      mounts = fs
        .readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[4])
        .filter((m) => m && m.startsWith(prefix))
        .sort((a, b) => b.length - a.length);
    } catch {
      mounts = [];
    }
    for (const m of mounts) await run('umount', [m]).catch(() => run('umount', ['-l', m]).catch(() => undefined));
    await fsp.rm(dir, { recursive: true, force: true });
  }

  /** Pod uids that have a directory here (for cleanup after a crash). */
  known(): string[] {
    try {
      return fs.readdirSync(this.root);
    } catch {
      return [];
    }
  }
}
