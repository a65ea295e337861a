/** Docker Engine API routes for volumes. */
import type { Router } from '../router';
import { boolParam, parseFilters, readJson, sendJson, sendNoContent } from '../http';
import { invalid } from '../../../common/errors';
import { matchLabel, type VolumeRecord, type VolumeService } from '../../volumes/service';

export function registerVolumeRoutes(router: Router, deps: { volumes: VolumeService; usersOf(name: string): string[] }): void {
  const { volumes } = deps;
  const view = (v: VolumeRecord) => ({
    CreatedAt: v.CreatedAt,
    Driver: v.Driver,
    Labels: v.Labels,
    Mountpoint: v.Mountpoint,
    Name: v.Name,
    Options: v.Options,
    Scope: v.Scope,
  });

  router.get('/volumes', ({ res, query }) => {
    const filters = parseFilters(query.get('filters'));
    for (const k of filters.keys()) if (!['name', 'label', 'dangling', 'driver'].includes(k)) throw invalid(`invalid filter '${k}'`);
    const list = volumes.list().filter((v) => {
      const names = filters.get('name') ?? [];
      if (names.length && !names.some((n) => v.Name.includes(n))) return false;
      const labels = filters.get('label') ?? [];
      if (labels.length && !labels.every((l) => matchLabel(v.Labels, l))) return false;
      const dangling = filters.get('dangling') ?? [];
      if (dangling.length) {
        const want = dangling[0] === 'true' || dangling[0] === '1';
        if ((deps.usersOf(v.Name).length === 0) !== want) return false;
      }
      const drivers = filters.get('driver') ?? [];
      if (drivers.length && !drivers.includes(v.Driver)) return false;
      return true;
    });
    sendJson(res, 200, { Volumes: list.map(view), Warnings: [] });
  });

  router.post('/volumes/create', async ({ req, res }) => {
    const body = await readJson<{ Name?: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }>(req, {});
    sendJson(res, 201, view(await volumes.create(body)));
  });

  router.get('/volumes/{name}', ({ res, params }) => {
    sendJson(res, 200, view(volumes.get(params.name)));
  });

  router.delete('/volumes/{name}', async ({ res, params, query }) => {
    await volumes.remove(params.name, boolParam(query, 'force'));
    sendNoContent(res);
  });

  router.post('/volumes/prune', async ({ res, query }) => {
    const filters = parseFilters(query.get('filters'));
    const all = (filters.get('all') ?? []).some((v) => v === 'true' || v === '1');
    sendJson(res, 200, await volumes.prune({ all, labels: filters.get('label') }));
  });
}
