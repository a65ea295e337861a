/**
 * `skiff pull` and `skiff push`: like docker's, including the credentials docker sends. The registry's
 * entry in the client's config.json ($DOCKER_CONFIG or ~/.docker, written by `docker login`) goes to the
 * engine as X-Registry-Auth (base64url JSON AuthConfig); without one the request is anonymous ("e30=").
 */
import type { Command, Ctx } from './command';
import { encRef } from './command';
import { displayJsonMessages, hostOf, normalizeName, registryAuthFor, splitRef } from './commands/pull';

export { registryAuthFor };

const pull: Command = {
  spec: {
    usage: 'pull [OPTIONS] NAME[:TAG|@DIGEST]',
    description: 'Download an image from a registry',
    minArgs: 1,
    maxArgs: 1,
    flags: [
      { name: 'all-tags', short: 'a', kind: 'bool', help: 'Download all tagged images in the repository' },
      { name: 'platform', kind: 'string', help: 'Set platform if server is multi-platform capable' },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Suppress verbose output' },
    ],
  },
  async run(ctx: Ctx) {
    const { name, tag, digest } = splitRef(ctx.args[0]);
    const quiet = Boolean(ctx.v.quiet);
    if (!tag && !digest && !quiet) ctx.out('Using default tag: latest\n');
    const full = normalizeName(name);
    const res = await ctx.client.request('POST', '/images/create', {
      query: { fromImage: full, tag: digest ?? tag ?? 'latest' },
      headers: { 'X-Registry-Auth': registryAuthFor(hostOf(full)) },
    });
    await displayJsonMessages(ctx, res, quiet);
    // docker prints the reference pulled last.
    ctx.out(`${full}${digest ? `@${digest}` : `:${tag ?? 'latest'}`}\n`);
    return 0;
  },
};

const push: Command = {
  spec: {
    usage: 'push [OPTIONS] NAME[:TAG]',
    description: 'Upload an image to a registry',
    minArgs: 1,
    maxArgs: 1,
    flags: [
      { name: 'all-tags', short: 'a', kind: 'bool', help: 'Push all tags of an image to the repository' },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Suppress verbose output' },
    ],
  },
  async run(ctx: Ctx) {
    const { name, tag } = splitRef(ctx.args[0]);
    const all = Boolean(ctx.v['all-tags']);
    const quiet = Boolean(ctx.v.quiet);
    if (!tag && !all && !quiet) ctx.out('Using default tag: latest\n');
    const full = normalizeName(name);
    const res = await ctx.client.request('POST', `/images/${encRef(full)}/push`, {
      query: { tag: all ? undefined : (tag ?? 'latest') },
      headers: { 'X-Registry-Auth': registryAuthFor(hostOf(full)) },
    });
    await displayJsonMessages(ctx, res, quiet);
    if (quiet) ctx.out(`${ctx.args[0]}\n`);
    return 0;
  },
};

export const commands: Record<string, Command> = { pull, push };
