/** images, rmi, tag, history, import, save, load, image prune. */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from '../command';
import { CliError, encRef, forEachArg } from '../command';
import { TABLE_FORMAT_FLAG } from '../flags';
import { ellipsis, formatList, shortId } from '../format';
import { filtersJson } from '../filters';
import { humanDuration, humanSize } from '../units';
import { displayJsonMessages, normalizeName, splitRef } from './pull';
import { goTimeString } from './ps';
import { pruneCommand } from './prune';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any


interface ImageRow {
  Repository: string;
  Tag: string;
  Digest: string;
  ID: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
  Containers: string;
  SharedSize: string;
  UniqueSize: string;
  VirtualSize: string;
}

/** One row per repo:tag (docker's imageFormat), <none> for dangling images. */
export function imageRows(images: Json[], trunc: boolean, now = Date.now()): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const img of images) {
    const base = {
      ID: trunc ? shortId(img.Id) : img.Id,
      CreatedSince: img.Created ? `${humanDuration(now - img.Created * 1000)} ago` : 'N/A',
      CreatedAt: img.Created ? goTimeString(img.Created) : '',
      Size: humanSize(img.Size ?? 0),
      VirtualSize: humanSize(img.VirtualSize ?? img.Size ?? 0, 4),
      Containers: img.Containers === undefined || img.Containers < 0 ? 'N/A' : String(img.Containers),
      SharedSize: img.SharedSize === undefined || img.SharedSize < 0 ? 'N/A' : humanSize(img.SharedSize),
      UniqueSize: img.SharedSize === undefined || img.SharedSize < 0 ? 'N/A' : humanSize((img.Size ?? 0) - img.SharedSize),
    };
    const digests = ((img.RepoDigests ?? []) as string[]).filter((d) => d !== '<none>@<none>');
    const digestFor = (repo: string) => digests.find((d) => d.startsWith(repo + '@'))?.split('@')[1] ?? '<none>';
    const tags = ((img.RepoTags ?? []) as string[]).filter((t) => t !== '<none>:<none>');
    if (tags.length) {
      for (const t of tags) {
        const { name, tag } = splitRef(t);
        rows.push({ ...base, Repository: name, Tag: tag ?? '<none>', Digest: digestFor(name) });
      }
    } else if (digests.length) {
      for (const d of digests) {
        const [name, digest] = d.split('@');
        rows.push({ ...base, Repository: name, Tag: '<none>', Digest: digest });
      }
    } else rows.push({ ...base, Repository: '<none>', Tag: '<none>', Digest: '<none>' });
  }
  return rows;
}

const images: Command = {
  spec: {
    usage: 'images [OPTIONS] [REPOSITORY[:TAG]]',
    description: 'List images',
    maxArgs: 1,
    flags: [
      { name: 'all', short: 'a', kind: 'bool', help: 'Show all images (default hides intermediate images)' },
      { name: 'digests', kind: 'bool', help: 'Show digests' },
      { name: 'filter', short: 'f', kind: 'list', type: 'filter', help: 'Filter output based on conditions provided' },
      TABLE_FORMAT_FLAG,
      { name: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Only show image IDs' },
    ],
  },
  async run(ctx) {
    const filters = [...(ctx.v.filter as string[])];
    if (ctx.args[0]) filters.push(`reference=${ctx.args[0]}`);
    const list = await ctx.client.json<Json[]>('GET', '/images/json', { query: { all: ctx.v.all || undefined, filters: filtersJson(filters) } });
    const rows = imageRows(list, !ctx.v['no-trunc']);
    const fmt = ctx.v.quiet ? '{{.ID}}' : ctx.v.format;
    const defaultTable = `table {{.Repository}}\t{{.Tag}}${ctx.v.digests ? '\t{{.Digest}}' : ''}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}`;
    ctx.out(
      formatList(fmt, {
        defaultTable,
        headers: { Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', ID: 'IMAGE ID', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE', Containers: 'CONTAINERS', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', VirtualSize: 'VIRTUAL SIZE' },
        jsonKeys: ['Containers', 'CreatedAt', 'CreatedSince', 'Digest', 'ID', 'Repository', 'SharedSize', 'Size', 'Tag', 'UniqueSize', 'VirtualSize'],
        rows,
      }),
    );
    return 0;
  },
};

const rmi: Command = {
  spec: {
    usage: 'rmi [OPTIONS] IMAGE [IMAGE...]',
    description: 'Remove one or more images',
    minArgs: 1,
    flags: [
      { name: 'force', short: 'f', kind: 'bool', help: 'Force removal of the image' },
      { name: 'no-prune', kind: 'bool', help: 'Do not delete untagged parents' },
    ],
  },
  run: (ctx) =>
    forEachArg(ctx, async (ref) => {
      const r = await ctx.client.json<Array<{ Untagged?: string; Deleted?: string }>>('DELETE', `/images/${encRef(ref)}`, {
        query: { force: ctx.v.force || undefined, noprune: ctx.v['no-prune'] || undefined },
      });
      const lines = (r ?? []).map((d) => (d.Deleted ? `Deleted: ${d.Deleted}` : `Untagged: ${d.Untagged}`));
      return lines.length ? lines.join('\n') : undefined;
    }),
};

const tag: Command = {
  spec: { usage: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', minArgs: 2, maxArgs: 2, flags: [] },
  async run(ctx) {
    const [src, dst] = ctx.args;
    const { name, tag: t, digest } = splitRef(dst);
    if (digest) throw new CliError('refusing to create a tag with a digest reference');
    (await ctx.client.request('POST', `/images/${encRef(src)}/tag`, { query: { repo: normalizeName(name), tag: t ?? 'latest' } })).resume();
    return 0;
  },
};

const history: Command = {
  spec: {
    usage: 'history [OPTIONS] IMAGE',
    description: 'Show the history of an image',
    minArgs: 1,
    maxArgs: 1,
    flags: [
      TABLE_FORMAT_FLAG,
      { name: 'human', short: 'H', kind: 'bool', help: 'Print sizes and dates in human readable format', default: true },
      { name: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Only show image IDs' },
    ],
  },
  async run(ctx) {
    const list = await ctx.client.json<Json[]>('GET', `/images/${encRef(ctx.args[0])}/history`);
    const trunc = !ctx.v['no-trunc'];
    const human = ctx.v.human !== false;
    const now = Date.now();
    const rows = list.map((h) => ({
      ID: h.Id === '<missing>' || !h.Id ? '<missing>' : trunc ? shortId(h.Id) : h.Id,
      CreatedSince: human ? `${humanDuration(now - h.Created * 1000)} ago` : new Date(h.Created * 1000).toISOString().replace('.000Z', 'Z'),
      CreatedAt: new Date(h.Created * 1000).toISOString().replace('.000Z', 'Z'),
      CreatedBy: trunc ? ellipsis(String(h.CreatedBy ?? '').replace(/\t/g, ' '), 45) : String(h.CreatedBy ?? '').replace(/\t/g, ' '),
      Size: human ? humanSize(h.Size ?? 0) : String(h.Size ?? 0),
      Comment: h.Comment ?? '',
    }));
    ctx.out(
      formatList(ctx.v.quiet ? '{{.ID}}' : ctx.v.format, {
        defaultTable: 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
        headers: { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' },
        jsonKeys: ['Comment', 'CreatedAt', 'CreatedBy', 'CreatedSince', 'ID', 'Size'],
        rows,
      }),
    );
    return 0;
  },
};

function inputStream(file: string | undefined, what: string): Readable {
  if (file && file !== '-') return fs.createReadStream(file);
  if ((process.stdin as NodeJS.ReadStream).isTTY) throw new CliError(`requested ${what} from stdin, but stdin is empty`);
  return process.stdin;
}

async function openInput(file: string | undefined, what: string): Promise<Readable> {
  if (file && file !== '-') await fs.promises.access(file).catch(() => {
    throw new CliError(`open ${file}: no such file or directory`);
  });
  return inputStream(file, what);
}

const importCmd: Command = {
  spec: {
    usage: 'import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
    description: 'Import the contents from a tarball to create a filesystem image',
    minArgs: 1,
    maxArgs: 2,
    flags: [
      { name: 'change', short: 'c', kind: 'list', help: 'Apply Dockerfile instruction to the created image' },
      { name: 'message', short: 'm', kind: 'string', help: 'Set commit message for imported image' },
      { name: 'platform', kind: 'string', help: 'Set platform if server is multi-platform capable' },
    ],
  },
  async run(ctx) {
    const [src, ref] = ctx.args;
    const isUrl = /^https?:\/\//.test(src);
    const { name, tag: t } = ref ? splitRef(ref) : { name: undefined, tag: undefined };
    const body = isUrl ? undefined : await openInput(src, 'import');
    const res = await ctx.client.request('POST', '/images/create', {
      query: { fromSrc: isUrl ? src : '-', repo: name, tag: t, message: ctx.v.message, changes: (ctx.v.change as string[]).length ? ctx.v.change : undefined, platform: ctx.v.platform },
      body,
      headers: body ? { 'Content-Type': 'application/x-tar' } : undefined,
    });
    await displayJsonMessages(ctx, res);
    return 0;
  },
};

const save: Command = {
  spec: {
    usage: 'save [OPTIONS] IMAGE [IMAGE...]',
    description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
    minArgs: 1,
    flags: [
      { name: 'output', short: 'o', kind: 'string', help: 'Write to a file, instead of STDOUT' },
      { name: 'platform', kind: 'list', help: 'Save only the given platform(s)' },
    ],
  },
  async run(ctx) {
    const file = ctx.v.output as string | undefined;
    if (!file && (process.stdout as NodeJS.WriteStream).isTTY) throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const res = await ctx.client.request('GET', '/images/get', { query: { names: ctx.args } });
    const out = file ? fs.createWriteStream(`${file}.skiff-tmp`) : process.stdout;
    await new Promise<void>((resolve, reject) => {
      res.on('error', reject);
      out.on('error', reject);
      res.pipe(out, { end: Boolean(file) });
      if (file) out.on('finish', resolve);
      else res.on('end', resolve);
    });
    // Like docker's atomic write: a partial archive never takes the target name.
    if (file) fs.renameSync(`${file}.skiff-tmp`, file);
    return 0;
  },
};

const load: Command = {
  spec: {
    usage: 'load [OPTIONS]',
    description: 'Load an image from a tar archive or STDIN',
    maxArgs: 0,
    flags: [
      { name: 'input', short: 'i', kind: 'string', help: 'Read from tar archive file, instead of STDIN' },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Suppress the load output' },
      { name: 'platform', kind: 'list', help: 'Load only the given platform(s)' },
    ],
  },
  async run(ctx) {
    const body = await openInput(ctx.v.input, 'load');
    const res = await ctx.client.request('POST', '/images/load', { query: { quiet: ctx.v.quiet || undefined }, body, headers: { 'Content-Type': 'application/x-tar' } });
    await displayJsonMessages(ctx, res);
    return 0;
  },
};

const imagePrune = pruneCommand({
  what: 'image',
  description: 'Remove unused images',
  filterExample: 'until=<timestamp>',
  allHelp: 'Remove all unused images, not just dangling ones',
  warning: (all) => (all ? 'WARNING! This will remove all images without at least one container associated to them.' : 'WARNING! This will remove all dangling images.'),
  impliedFilter: (all) => `dangling=${all ? 'false' : 'true'}`,
});

// pull and push live in ../pull-push.ts (with the client's registry credentials).
export const commands: Record<string, Command> = { images, rmi, tag, history, import: importCmd, save, load, 'image prune': imagePrune };
