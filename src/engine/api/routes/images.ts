/**
 * Docker Engine API image routes: list, inspect, history, tag, remove, prune, import, load, save, and the
 * registry verbs pull, push and login (/auth), which the registry client (src/engine/registry) carries out.
 * Translation only; the image service and the registry client do the work.
 */
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import { decodeRegistryAuth, type Credentials } from '../../registry/auth';
import type { Router } from '../router';
import { boolParam, parseFilters, readJson, sendJson, JsonMessageStream } from '../http';
import { invalid, notFound, unavailable, SkiffError } from '../../../common/errors';
import type { ImageService, ImageDetails } from '../../images/service';
import type { ImageRecord } from '../../images/types';
import { familiarString, parseReference, withDefaultTag } from '../../images/reference';
import { loadArchive } from '../../images/archive-load';
import { saveArchive } from '../../images/archive-save';
import { importRootfs } from '../../images/import';
import { filterImages, parseImageFilter, unixOf } from '../../images/filters';
import type { HistoryEntry } from '../../images/oci';

export interface ImageRouteDeps {
  images: ImageService;
  /**
   * The registry client (src/engine/registry): pulls into and pushes from `images`, writing progress messages
   * in Docker's JSON-message shape. Absent: every pull of a missing image is denied, Docker-style.
   */
  registry?: RegistryApi;
}


/** What the routes need of the registry client (structural, so tests may stand in). */
export interface RegistryApi {
  pull(ref: string, o: RegistryCallOptions): Promise<unknown>;
  pullAllTags?(name: string, o: RegistryCallOptions): Promise<unknown>;
  push(ref: string, o: RegistryCallOptions): Promise<unknown>;
  login?(serverAddress: string, credentials: Credentials | undefined): Promise<void>;
}

export interface RegistryCallOptions {
  credentials?: Credentials;
  /** docker pull --platform. */
  platform?: string;
  progress: (msg: Record<string, unknown>) => void;
  signal?: AbortSignal;
}

/**
 * A JSON message stream opened on the first message: a failure before any output is a plain HTTP error
 * (moby answers the same way while nothing was flushed), so the docker CLI prints "Error response from
 * daemon: ..." and exits non-zero.
 */
async function streamed(res: ServerResponse, run: (write: (m: Record<string, unknown>) => void, signal: AbortSignal) => Promise<void>): Promise<void> {
  let stream: JsonMessageStream | undefined;
  const ac = new AbortController();
  let finished = false;
  res.on('close', () => {
    if (!finished) ac.abort();
  });
  try {
    await run((m) => (stream ??= new JsonMessageStream(res)).write(m), ac.signal);
  } catch (err) {
    finished = true;
    if (!stream) throw err;
    stream.error(err);
  }
  finished = true;
  (stream ?? new JsonMessageStream(res)).end();
}

export function registerImageRoutes(router: Router, deps: ImageRouteDeps): void {
  const { images } = deps;
  /** before/since name an image: its creation time. */
  const createdOf = (ref: string): number => {
    let img;
    try {
      img = images.lookup(ref);
    } catch {
      throw invalid(`No such image: ${ref}`);
    }
    const cfg = images.configCached(img.id);
    return unixOf(cfg?.created ?? img.addedAt);
  };

  router.get('/images/json', async ({ res, query }) => {
    const raw = parseFilters(query.get('filters'));
    // Legacy `filter=` (a reference pattern).
    const legacy = query.get('filter');
    if (legacy) raw.set('reference', [...(raw.get('reference') ?? []), legacy]);
    const records = await images.list(); // also caches every config, which createdOf reads
    const filter = parseImageFilter(raw, createdOf);
    const out = filterImages(records, filter)
      .sort((a, b) => unixOf(b.created) - unixOf(a.created))
      .map((rec) => summary(rec, images.containersOf(rec.id)));
    sendJson(res, 200, out);
  });

  // docker login: the CLI stores the credentials itself once the engine says they work.
  router.post('/auth', async ({ req, res }) => {
    const body = await readJson<{ username?: string; password?: string; serveraddress?: string; identitytoken?: string }>(req, {});
    if (!deps.registry?.login) throw unavailable('this engine has no registry client');
    const credentials: Credentials | undefined = body.username || body.identitytoken
      ? { username: body.username, password: body.password, identityToken: body.identitytoken }
      : undefined;
    await deps.registry.login(body.serveraddress || 'docker.io', credentials);
    sendJson(res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
  });

  router.get('/images/search', ({ res }) => sendJson(res, 200, []));

  router.post('/images/prune', async ({ res, query }) => {
    const raw = parseFilters(query.get('filters'));
    await images.list(); // caches configs
    const filter = parseImageFilter(raw, createdOf, Date.now(), ['dangling', 'label', 'until']);
    // dangling=false (docker image prune -a): every image no container uses; otherwise dangling ones only.
    const all = filter.dangling === false;
    const { deleted, reclaimed } = await images.prune({
      all,
      filter: (rec) => filterImages([rec], { ...filter, dangling: undefined }).length === 1,
    });
    sendJson(res, 200, { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
  });

  // Save: GET /images/get?names=a&names=b (also /images/{name}/get).
  router.get('/images/get', async ({ res, query }) => {
    await save(res, query.getAll('names'));
  });

  router.post('/images/load', async ({ req, res, query }) => {
    const quiet = boolParam(query, 'quiet');
    const stream = new JsonMessageStream(res);
    try {
      const loaded = await loadArchive(images, req);
      for (const l of loaded) {
        stream.write({ stream: l.tag ? `Loaded image: ${l.tag}\n` : `Loaded image ID: ${l.id}\n` });
      }
    } catch (err) {
      stream.error(err);
    }
    void quiet;
    stream.end();
  });

  // Pull (fromImage) and import (fromSrc).
  router.post('/images/create', async ({ req, res, query }) => {
    const fromImage = query.get('fromImage');
    const fromSrc = query.get('fromSrc');
    if (fromSrc !== null) {
      if (fromSrc !== '-') throw invalid(`importing from a URL is not supported: ${fromSrc}`);
      let repo = query.get('repo') ?? '';
      const tag = query.get('tag') ?? '';
      if (repo && tag) repo = `${repo}:${tag}`;
      const id = await importRootfs(images, req, {
        tag: repo || undefined,
        changes: query.getAll('changes'),
        message: query.get('message') ?? '',
      });
      const stream = new JsonMessageStream(res);
      stream.write({ status: id });
      stream.end();
      return;
    }
    if (fromImage !== null) {
      const tag = query.get('tag') ?? '';
      let ref = fromImage;
      if (tag) ref = tag.startsWith('sha256:') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`;
      const parsed = withDefaultTag(parseReference(ref));
      if (!deps.registry) {
        // No registry client: an image already here is "up to date" (scripts that pull before they run keep
        // working offline); anything else is denied the way Docker words it.
        let local: ReturnType<ImageService['lookup']> | undefined;
        try {
          local = images.lookup(ref);
        } catch {
          local = undefined;
        }
        if (local) {
          const stream = new JsonMessageStream(res);
          stream.write({ status: `Pulling from ${parsed.path}`, id: parsed.tag ?? parsed.digest ?? 'latest' });
          stream.write({ status: `Digest: ${local.manifestDigest}` });
          stream.write({ status: `Status: Image is up to date for ${familiarString(parsed)}` });
          stream.end();
          return;
        }
        throw notFound(
          `pull access denied for ${familiarString({ ...parsed, tag: undefined, digest: undefined })}, repository does not exist or may require 'docker login'`,
        );
      }
      const registry = deps.registry;
      const credentials = decodeRegistryAuth(header(req.headers['x-registry-auth']));
      // fromImage naming a repository only, without a tag: every tag (moby's, and `docker pull -a`).
      const bare = parseReference(ref);
      const allTags = !bare.tag && !bare.digest && !!registry.pullAllTags;
      const platform = query.get('platform') || undefined;
      await streamed(res, (write, signal) =>
        (allTags ? registry.pullAllTags!(ref, { credentials, platform, progress: write, signal }) : registry.pull(ref, { credentials, platform, progress: write, signal })).then(() => undefined),
      );
      return;
    }
    throw invalid('fromImage or fromSrc is required');
  });

  router.get('/images/{name:.*}/json', async ({ res, params }) => {
    sendJson(res, 200, inspect(await images.details(params.name)));
  });

  router.get('/images/{name:.*}/history', async ({ res, params }) => {
    const d = await images.details(params.name);
    sendJson(res, 200, history(d));
  });

  router.get('/images/{name:.*}/get', async ({ res, params }) => {
    await save(res, [params.name]);
  });

  router.post('/images/{name:.*}/tag', async ({ res, params, query }) => {
    const repo = query.get('repo');
    if (!repo) throw invalid('repository name must have at least one component');
    const tag = query.get('tag');
    await images.tag(params.name, tag ? `${repo}:${tag}` : repo);
    res.writeHead(201);
    res.end();
  });

  router.post('/images/{name:.*}/push', async ({ req, res, params, query }) => {
    const tag = query.get('tag');
    const ref = tag ? `${params.name}:${tag}` : params.name;
    if (!deps.registry) {
      try {
        images.lookup(ref);
      } catch {
        throw notFound(`An image does not exist locally with the tag: ${params.name}`);
      }
      throw unavailable(`cannot push ${ref}: this engine has no registry client`);
    }
    const registry = deps.registry;
    const credentials = decodeRegistryAuth(header(req.headers['x-registry-auth']));
    await streamed(res, (write, signal) => registry.push(ref, { credentials, progress: write, signal }).then(() => undefined));
  });

  router.delete('/images/{name:.*}', async ({ res, params, query }) => {
    const items = await images.remove(params.name, {
      force: boolParam(query, 'force'),
      noPrune: boolParam(query, 'noprune'),
    });
    sendJson(res, 200, items);
  });

  async function save(res: import('node:http').ServerResponse, names: string[]): Promise<void> {
    if (names.length === 0) throw invalid('no image names given');
    const plan = await saveArchive.plan(images, names); // resolves every name first: a miss is a clean 404
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    try {
      await saveArchive.write(images, plan, res);
    } catch (err) {
      // Mid-stream: the tar is cut short and the client sees a truncated archive.
      res.destroy(err as Error);
      return;
    }
    res.end();
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function summary(rec: ImageRecord, containers: number): Record<string, unknown> {
  return {
    Id: rec.id,
    ParentId: '',
    RepoTags: rec.repoTags,
    RepoDigests: rec.repoDigests,
    Created: unixOf(rec.created),
    Size: rec.size,
    SharedSize: -1,
    Labels: rec.config.Labels ?? {},
    Containers: containers,
  };
}

function inspect(d: ImageDetails): Record<string, unknown> {
  const dirs = d.layers.map((l) => l.dir).reverse(); // top first
  const cfg = d.configBlob;
  return {
    Id: d.id,
    RepoTags: d.repoTags,
    RepoDigests: d.repoDigests,
    Parent: '',
    Comment: cfg.comment ?? '',
    Created: d.created,
    DockerVersion: cfg.docker_version ?? '',
    Author: cfg.author ?? '',
    Config: {
      Env: null,
      Cmd: null,
      Entrypoint: null,
      WorkingDir: '',
      Labels: null,
      OnBuild: null,
      User: '',
      Volumes: null,
      ...d.config,
    },
    Architecture: d.architecture,
    ...(cfg.variant ? { Variant: cfg.variant } : {}),
    Os: d.os,
    Size: d.size,
    GraphDriver: {
      Name: 'overlay2',
      Data: {
        UpperDir: dirs[0],
        ...(dirs.length > 1 ? { LowerDir: dirs.slice(1).join(':') } : {}),
        MergedDir: path.join(path.dirname(dirs[0] ?? ''), 'merged'),
        WorkDir: path.join(path.dirname(dirs[0] ?? ''), 'work'),
      },
    },
    RootFS: { Type: 'layers', Layers: d.diffIds },
    Metadata: { LastTagTime: d.lastTagTime ?? '0001-01-01T00:00:00Z' },
    Descriptor: d.manifestDescriptor,
  };
}

/** Docker's history: newest first; the top entry carries the image id and tags, the rest "<missing>". */
function history(d: ImageDetails): Array<Record<string, unknown>> {
  const entries: HistoryEntry[] = d.configBlob.history?.length
    ? d.configBlob.history
    : d.diffIds.map(() => ({ created: d.created, created_by: '' }));
  let layer = 0;
  const rows = entries.map((h) => {
    let size = 0;
    if (!h.empty_layer) {
      size = d.layers[layer]?.size ?? 0;
      layer++;
    }
    return {
      Id: '<missing>',
      Created: unixOf(h.created ?? d.created),
      CreatedBy: h.created_by ?? '',
      Tags: null as string[] | null,
      Size: size,
      Comment: h.comment ?? '',
    };
  });
  rows.reverse();
  if (rows.length > 0) {
    rows[0].Id = d.id;
    rows[0].Tags = d.repoTags.length ? d.repoTags : null;
  }
  return rows;
}

export { SkiffError };
