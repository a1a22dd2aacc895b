import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { invalidArgument } from '@ctr/errors';
import type { Command } from '../command';
import { engineModule, getEngine, println } from '../context';
import { bool, list, str } from '../flags';
import { filterFlag, parseFilters } from '../filter-flag';
import { ago, formatItems, humanSize } from '../format';
import { ProgressView } from '../progress';
import { forEachArg } from './each';
import { pullShowingProgress } from './pull-output';
import { parsePlatform, shortId } from '@ctr/image';

const IMAGE_HEADERS: Record<string, string> = { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', CreatedSince: 'CREATED', Size: 'SIZE', Digest: 'DIGEST' };

const images: Command = {
  name: 'images',
  aliases: ['ctr image ls', 'ctr image list'],
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  description: 'List images',
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Show all images (default hides intermediate images)' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { name: 'digests', type: 'bool', description: 'Show digests' },
    filterFlag('Filter output based on conditions provided', { short: true }),
    { name: 'format', type: 'string', description: 'Format output using a custom template' },
  ],
  args: [0, 1],
  async run(args, io) {
    const { splitRepoTag } = engineModule();
    const filters = parseFilters(list(args, 'filter'));
    // As docker's CLI does: `images REPOSITORY[:TAG]` is a `reference` filter.
    const wanted = args.positionals[0];
    if (wanted) (filters.reference ??= []).push(wanted);
    const engine = await getEngine();
    const truncate = !bool(args, 'no-trunc');
    const rows: Record<string, unknown>[] = [];
    for (const image of await engine.images({ all: bool(args, 'all'), filters })) {
      const names = image.RepoTags.length ? image.RepoTags : ['<none>:<none>'];
      for (const name of names) {
        const { repo, tag } = name === '<none>:<none>' ? { repo: '<none>', tag: '<none>' } : splitRepoTag(name);
        rows.push({
          Repository: repo,
          Tag: tag,
          ID: truncate ? image.Id.replace('sha256:', '').slice(0, 12) : image.Id,
          CreatedSince: ago(new Date(image.Created * 1000)),
          CreatedAt: new Date(image.Created * 1000).toISOString(),
          Size: humanSize(image.Size),
          Digest: image.RepoDigests[0]?.split('@')[1] ?? '<none>',
        });
      }
    }
    if (bool(args, 'quiet')) {
      for (const id of new Set(rows.map((r) => String(r.ID)))) println(io, id);
      return 0;
    }
    const format =
      str(args, 'format') ??
      (bool(args, 'digests')
        ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
        : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}');
    const text = formatItems(format, rows, IMAGE_HEADERS);
    if (text) println(io, text);
    return 0;
  },
};

const pull: Command = {
  name: 'pull',
  aliases: ['ctr image pull'],
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  description: 'Download an image from a registry',
  flags: [
    { name: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
  ],
  args: [1, 1],
  async run(args, io) {
    const platform = str(args, 'platform');
    const name = await pullShowingProgress(await getEngine(), args.positionals[0] as string, io.stdout, {
      quiet: bool(args, 'quiet'),
      tellDefaultTag: true,
      ...(platform ? { platform: parsePlatform(platform) } : {}),
    });
    println(io, name);
    return 0;
  },
};

const push: Command = {
  name: 'push',
  aliases: ['ctr image push'],
  usage: '[OPTIONS] NAME[:TAG]',
  description: 'Upload an image to a registry',
  flags: [{ name: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' }],
  args: [1, 1],
  async run(args, io) {
    const { normalizeImageName } = engineModule();
    const ref = args.positionals[0] as string;
    const quiet = bool(args, 'quiet');
    const view = new ProgressView(io.stdout);
    const name = normalizeImageName(ref);
    if (!quiet) println(io, `The push refers to repository [${name.replace(/[:@][^/]*$/, '')}]`);
    const engine = await getEngine();
    // docker shows the layers only, not the image's config blob (progress names blobs by short ID).
    const configId = shortId((await engine.inspectImage(ref)).Id);
    const result = await engine.push(ref, quiet ? {} : { onProgress: (event) => event.id !== configId && view.update(event) });
    println(io, `${name.slice(name.lastIndexOf(':') + 1)}: digest: ${result.digest} size: ${result.size}`);
    return 0;
  },
};

const rmi: Command = {
  name: 'rmi',
  aliases: ['ctr image rm', 'ctr image remove'],
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Remove one or more images',
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force removal of the image' }],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    return forEachArg(args.positionals, io, async (ref) =>
      (await engine.removeImage(ref, { force: bool(args, 'force') })).map((item) => (item.Untagged ? `Untagged: ${item.Untagged}` : `Deleted: ${item.Deleted}`)),
    );
  },
};

const tag: Command = {
  name: 'tag',
  aliases: ['ctr image tag'],
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  flags: [],
  args: [2, 2],
  async run(args) {
    await (await getEngine()).tag(args.positionals[0] as string, args.positionals[1] as string);
    return 0;
  },
};

const save: Command = {
  name: 'save',
  aliases: ['ctr image save'],
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  flags: [{ name: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT' }],
  args: [1, Infinity],
  async run(args, io) {
    const output = str(args, 'output');
    if (!output && io.stdout.isTTY) {
      throw invalidArgument('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    }
    const archive = await (await getEngine()).save(args.positionals);
    await pipeline(archive, output ? createWriteStream(output) : io.stdout);
    return 0;
  },
};

const load: Command = {
  name: 'load',
  aliases: ['ctr image load'],
  usage: '[OPTIONS]',
  description: 'Load an image from a tar archive or STDIN',
  flags: [
    { name: 'input', short: 'i', type: 'string', description: 'Read from tar archive file, instead of STDIN' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress the load output' },
  ],
  args: [0, 0],
  async run(args, io) {
    const input = str(args, 'input');
    if (!input && io.stdin.isTTY) throw invalidArgument('requested load from stdin, but stdin is empty');
    if (input) await stat(input).catch(() => Promise.reject(invalidArgument(`open ${input}: no such file or directory`)));
    const { loaded } = await (await getEngine()).load(input ? createReadStream(input) : io.stdin);
    if (!bool(args, 'quiet')) for (const line of loaded) println(io, line);
    return 0;
  },
};

const importCommand: Command = {
  name: 'import',
  aliases: ['ctr image import'],
  usage: '[OPTIONS] file|DIRECTORY|- [REPOSITORY[:TAG]]',
  description: 'Import the contents from a tarball (or a directory) to create a filesystem image',
  flags: [
    { name: 'change', short: 'c', type: 'list', description: 'Apply Dockerfile instruction to the created image (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL)' },
    { name: 'message', short: 'm', type: 'string', description: 'Set commit message for imported image' },
  ],
  args: [1, 2],
  async run(args, io) {
    const [source, name] = args.positionals as [string, string | undefined];
        const config = engineModule().applyConfigChanges(list(args, 'change'));
    const isDir = source !== '-' && (await stat(source).catch(() => undefined))?.isDirectory();
    if (source !== '-' && isDir === undefined) throw invalidArgument(`open ${source}: no such file or directory`);
    const message = str(args, 'message');
    const image = await (await getEngine()).importImage(isDir ? { dir: source } : { tar: source === '-' ? io.stdin : createReadStream(source) }, {
      config,
      ...(name ? { name } : {}),
      ...(message ? { comment: message } : {}),
    });
    println(io, image.record.id);
    return 0;
  },
};

const history: Command = {
  name: 'history',
  aliases: ['ctr image history'],
  usage: '[OPTIONS] IMAGE',
  description: 'Show the history of an image',
  flags: [
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
    { name: 'format', type: 'string', description: 'Format output using a custom template' },
  ],
  args: [1, 1],
  async run(args, io) {
    const truncate = !bool(args, 'no-trunc');
    const rows = (await (await getEngine()).history(args.positionals[0] as string)).map((h) => ({
      ID: h.Id === '<missing>' || !truncate ? h.Id : h.Id.replace('sha256:', '').slice(0, 12),
      CreatedSince: ago(new Date(h.Created * 1000)),
      CreatedBy: truncate && h.CreatedBy.length > 45 ? `${h.CreatedBy.slice(0, 44)}…` : h.CreatedBy,
      Size: humanSize(h.Size),
      Comment: h.Comment,
    }));
    if (bool(args, 'quiet')) {
      for (const r of rows) println(io, r.ID);
      return 0;
    }
    const format = str(args, 'format') ?? 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
    println(io, formatItems(format, rows, { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' }));
    return 0;
  },
};

export const imageCommands: Command[] = [images, pull, push, rmi, tag, save, load, importCommand, history];
