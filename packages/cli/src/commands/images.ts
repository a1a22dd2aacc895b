import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { PushLayerProgress } from '@ctr/api';
import type { PushedTag } from '@ctr/engine';
import { invalidArgument } from '@ctr/errors';
import type { Command } from '../command';
import { engineModule, getEngine, println } from '../context';
import { bool, list, str, type FlagSpec, type ParsedArgs } from '../flags';
import { filterFlag, parseFilters } from '../filter-flag';
import { ago, formatItems, humanSize } from '../format';
import { ProgressView } from '../progress';
import { forEachArg } from './each';
import { pullAllTagsShowingProgress, pullShowingProgress } from './pull-output';
import { parsePlatform, parseReference, referenceName, type Platform } from '@ctr/image';

/** How docker's `--platform` help says to write a platform. */
const PLATFORM_FORMAT = 'Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")';

/** `--platform`, its value checked as it is parsed: a malformed one is a usage error. */
function platformFlag(description: string): FlagSpec {
  return { name: 'platform', type: 'string', description, check: (value) => void parsePlatform(value) };
}

/** The `--platform` given, as the engine takes it. */
function platformOption(args: ParsedArgs): { platform?: Platform } {
  const text = str(args, 'platform');
  return text ? { platform: parsePlatform(text) } : {};
}

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
    { name: 'all-tags', short: 'a', type: 'bool', description: 'Download all tagged images in the repository' },
    platformFlag('Set platform if server is multi-platform capable'),
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
  ],
  args: [1, 1],
  async run(args, io) {
    const ref = args.positionals[0] as string;
    const options = { quiet: bool(args, 'quiet'), ...platformOption(args) };
    const engine = await getEngine();
    // docker's last line is the reference pulled, in full: `docker.io/library/busybox:latest`.
    if (bool(args, 'all-tags')) {
      await pullAllTagsShowingProgress(engine, ref, io.stdout, options);
      println(io, referenceName(parseReference(ref)));
    } else {
      await pullShowingProgress(engine, ref, io.stdout, { ...options, tellDefaultTag: true });
      println(io, engineModule().normalizeImageName(ref));
    }
    return 0;
  },
};

const push: Command = {
  name: 'push',
  aliases: ['ctr image push'],
  usage: '[OPTIONS] NAME[:TAG]',
  description: 'Upload an image to a registry',
  flags: [
    { name: 'all-tags', short: 'a', type: 'bool', description: 'Push all tags of an image to the repository' },
    platformFlag(
      "Push a platform-specific manifest as a single-platform image to the registry.\nImage index won't be pushed, meaning that other manifests, including attestations won't be preserved.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)",
    ),
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
  ],
  args: [1, 1],
  async run(args, io) {
    const { allTagsRepository, normalizeImageName, pushName } = engineModule();
    const ref = args.positionals[0] as string;
    const quiet = bool(args, 'quiet');
    const allTags = bool(args, 'all-tags');
    const named = parseReference(ref);
    // docker's client refuses a digest before it says anything.
    const repository = allTags ? allTagsRepository(ref) : referenceName(parseReference(pushName(ref)));
    if (!allTags && !quiet && named.tag === undefined) println(io, 'Using default tag: latest');
    const engine = await getEngine();
    if (!quiet) println(io, `The push refers to repository [${repository}]`);
    // Each tag's layers are drawn above its digest line; docker shows a push's layers, not the image config.
    let view = new ProgressView(io.stdout);
    const progress = { ...platformOption(args), ...(quiet ? {} : { onProgress: (event: PushLayerProgress) => event.kind === 'layer' && view.update(event) }) };
    const pushed = (result: PushedTag): void => {
      if (!quiet) println(io, `${result.tag}: digest: ${result.digest} size: ${result.size}`);
      view = new ProgressView(io.stdout);
    };
    if (allTags) await engine.pushAllTags(ref, { ...progress, onPushed: pushed });
    else pushed({ tag: named.tag ?? 'latest', ...(await engine.push(ref, progress)) });
    // docker -q says only what it pushed, in full.
    if (quiet) println(io, allTags ? repository : normalizeImageName(ref));
    return 0;
  },
};

const rmi: Command = {
  name: 'rmi',
  aliases: ['ctr image rm', 'ctr image remove'],
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Remove one or more images',
  flags: [
    { name: 'force', short: 'f', type: 'bool', description: 'Force removal of the image' },
    { name: 'no-prune', type: 'bool', description: 'Do not delete untagged parents' },
    { ...platformFlag(`Remove only the given platform variant. ${PLATFORM_FORMAT}`), type: 'list' },
  ],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    const platforms = list(args, 'platform').map(parsePlatform);
    const options = { force: bool(args, 'force'), noPrune: bool(args, 'no-prune'), ...(platforms.length > 0 ? { platforms } : {}) };
    return forEachArg(args.positionals, io, async (ref) =>
      (await engine.removeImage(ref, options)).map((item) => (item.Untagged ? `Untagged: ${item.Untagged}` : `Deleted: ${item.Deleted}`)),
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
  flags: [
    { name: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT' },
    platformFlag(`Save only the given platform variant. ${PLATFORM_FORMAT}`),
  ],
  args: [1, Infinity],
  async run(args, io) {
    const output = str(args, 'output');
    if (!output && io.stdout.isTTY) {
      throw invalidArgument('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    }
    const archive = await (await getEngine()).save(args.positionals, platformOption(args));
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
    platformFlag(`Load only the given platform variant. ${PLATFORM_FORMAT}`),
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress the load output' },
  ],
  args: [0, 0],
  async run(args, io) {
    const input = str(args, 'input');
    if (!input && io.stdin.isTTY) throw invalidArgument('requested load from stdin, but stdin is empty');
    if (input) await stat(input).catch(() => Promise.reject(invalidArgument(`open ${input}: no such file or directory`)));
    const { loaded } = await (await getEngine()).load(input ? createReadStream(input) : io.stdin, platformOption(args));
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
    platformFlag('Set platform if server is multi-platform capable'),
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
      ...platformOption(args),
    });
    println(io, image.record.id);
    return 0;
  },
};

/** Go's `time.Unix(seconds, 0).Format(time.RFC3339)`: local time with its offset, `Z` for UTC. */
function rfc3339(seconds: number): string {
  const date = new Date(seconds * 1000);
  const offset = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 19);
  if (offset === 0) return `${local}Z`;
  const minutes = Math.abs(offset);
  return `${local}${offset > 0 ? '+' : '-'}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

const history: Command = {
  name: 'history',
  aliases: ['ctr image history'],
  usage: '[OPTIONS] IMAGE',
  description: 'Show the history of an image',
  flags: [
    { name: 'format', type: 'string', description: 'Format output using a custom template' },
    { name: 'human', short: 'H', type: 'bool', description: 'Print sizes and dates in human readable format', default: true },
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    platformFlag(`Show history for the given platform. ${PLATFORM_FORMAT}`),
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
  ],
  args: [1, 1],
  async run(args, io) {
    const truncate = !bool(args, 'no-trunc');
    const human = bool(args, 'human');
    const items = await (await getEngine()).history(args.positionals[0] as string, platformOption(args));
    const rows = items.map((h) => {
      // docker cuts the column at 45 characters (not bytes), tabs made spaces.
      const createdBy = [...h.CreatedBy.replace(/\t/g, ' ')];
      return {
        ID: h.Id === '<missing>' || !truncate ? h.Id : h.Id.replace('sha256:', '').slice(0, 12),
        CreatedAt: rfc3339(h.Created),
        CreatedSince: human ? ago(new Date(h.Created * 1000)) : rfc3339(h.Created),
        CreatedBy: truncate && createdBy.length > 45 ? `${createdBy.slice(0, 44).join('')}…` : createdBy.join(''),
        Size: human ? humanSize(h.Size) : String(h.Size),
        Comment: h.Comment,
      };
    });
    if (bool(args, 'quiet')) {
      for (const r of rows) println(io, r.ID);
      return 0;
    }
    const format = str(args, 'format') ?? 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
    println(io, formatItems(format, rows, { ID: 'IMAGE', CreatedAt: 'CREATED AT', CreatedSince: 'CREATED', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' }));
    return 0;
  },
};

export const imageCommands: Command[] = [images, pull, push, rmi, tag, save, load, importCommand, history];
