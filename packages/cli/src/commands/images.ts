import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { HistoryItem, ImageSummary } from '@ctr/engine';
import { invalidArgument } from '@ctr/errors';
import type { Command } from '../command';
import { contentTrustFlag, signPushed, trustedPull, verifiesTrust } from '../content-trust';
import { engineModule, getEngine, println } from '../context';
import { bool, list, str, type FlagSpec, type ParsedArgs } from '../flags';
import { filterFlag, parseFilters } from '../filter-flag';
import { ago, ellipsis, formatContext, formatList, goStruct, goUnixTime, headerContext, humanSize, isTable, printedAs, rfc3339, truncateId } from '../format';
import { forEachArg } from './each';
import { pullAllTagsShowingProgress, pullShowingProgress, pushRepository, pushShowingProgress } from './pull-output';
import { familiarName, parsePlatform, parseReference, type Platform, type Reference } from '@ctr/image';

/** How docker's `--platform` help says to write a platform. */
const PLATFORM_FORMAT = 'Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")';

/** `--platform`, its value checked as it is parsed: a malformed one is a usage error. */
function platformFlag(description: string): FlagSpec {
  return { name: 'platform', type: 'string', description, check: (value) => void parsePlatform(value) };
}

/** A `--platform` value, as the engine takes it. */
function platformOption(text: string | undefined): { platform?: Platform } {
  return text ? { platform: parsePlatform(text) } : {};
}

/**
 * `--platform` where docker's CLI defaults it to `$DOCKER_DEFAULT_PLATFORM`: create, run, pull,
 * import and build (not push, save, load or history). A `--platform` given wins, even empty.
 */
export function platformOrDefault(args: ParsedArgs, env: NodeJS.ProcessEnv): string | undefined {
  return str(args, 'platform') ?? env.DOCKER_DEFAULT_PLATFORM;
}

/** `docker images`' column names, by field (docker's imageContext header). */
export const IMAGE_HEADERS: Readonly<Record<string, string>> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  VirtualSize: 'SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
};

/** The repository, tag and digest of one row of `docker images`. */
export interface ImageRow {
  readonly repo: string;
  readonly tag: string;
  readonly digest: string;
}

/** A size go-units' HumanSize writes, or docker's `N/A` for the daemon's -1 (not computed). */
const sizeOrNa = (bytes: number): string => (bytes === -1 ? 'N/A' : humanSize(bytes, 4));

/** What `docker images --format` sees of one row: docker's imageContext. `truncate` cuts the ID short. */
export function imageContext(image: ImageSummary, row: ImageRow, truncate: boolean): object {
  const context = formatContext('*formatter.imageContext', {
    ID: truncate ? truncateId(image.Id) : image.Id,
    Repository: row.repo,
    Tag: row.tag,
    Digest: row.digest,
    CreatedSince: ago(new Date(image.Created * 1000)),
    CreatedAt: goUnixTime(image.Created),
    Size: humanSize(image.Size),
    Containers: image.Containers === -1 ? 'N/A' : String(image.Containers),
    VirtualSize: humanSize(image.Size, 4),
    SharedSize: sizeOrNa(image.SharedSize),
    UniqueSize: image.Size === -1 || image.SharedSize === -1 ? 'N/A' : humanSize(image.Size - image.SharedSize, 4),
  });
  // `%v` prints docker's imageContext: the API's image.Summary, in its order, among its fields.
  const summary = (): object =>
    goStruct('image.Summary', {
      Containers: image.Containers,
      Created: image.Created,
      ID: image.Id,
      Labels: image.Labels ?? {},
      ParentID: image.ParentId,
      Descriptor: null,
      Manifests: [],
      RepoDigests: image.RepoDigests,
      RepoTags: image.RepoTags,
      SharedSize: image.SharedSize,
      Size: image.Size,
      VirtualSize: image.VirtualSize,
    });
  return printedAs(context, () => [['HeaderContext', headerContext()], ['trunc', truncate], ['i', summary()], ['repo', row.repo], ['tag', row.tag], ['digest', row.digest]]);
}

/** docker's isDangling: no name at all, or only the `<none>` placeholders. */
function isDangling(image: Pick<ImageSummary, 'RepoTags' | 'RepoDigests'>): boolean {
  if (image.RepoTags.length === 0 && image.RepoDigests.length === 0) return true;
  return image.RepoTags.length === 1 && image.RepoTags[0] === '<none>:<none>' && image.RepoDigests.length === 1 && image.RepoDigests[0] === '<none>@<none>';
}

/** Each name in `references` with what `part` takes from it, by repository as users write it, in order. */
function byRepository(references: readonly string[], part: (reference: Reference) => string | undefined): Map<string, string[]> {
  const repos = new Map<string, string[]>();
  for (const text of references) {
    let reference: Reference;
    try {
      reference = parseReference(text);
    } catch {
      continue;
    }
    const value = part(reference);
    if (value === undefined) continue;
    const repo = familiarName(reference);
    repos.set(repo, [...(repos.get(repo) ?? []), value]);
  }
  return repos;
}

/**
 * The rows docker's images list gives an image (imageFormatTaggedAndDigest): one per tag of
 * each repository, and per digest too when `withDigests` (they are shown); a repository
 * with digests and no tag has rows of its own, with its digests only when `digestsFlag`.
 */
export function imageRows(image: Pick<ImageSummary, 'RepoTags' | 'RepoDigests'>, withDigests: boolean, digestsFlag: boolean): ImageRow[] {
  if (isDangling(image)) return [{ repo: '<none>', tag: '<none>', digest: '<none>' }];
  const tags = byRepository(image.RepoTags, (reference) => reference.tag);
  const digests = byRepository(image.RepoDigests, (reference) => reference.digest);
  const rows: ImageRow[] = [];
  for (const [repo, repoTags] of tags) {
    const repoDigests = withDigests ? digests.get(repo) ?? [] : [];
    digests.delete(repo);
    for (const tag of repoTags) {
      if (repoDigests.length === 0) rows.push({ repo, tag, digest: '<none>' });
      for (const digest of repoDigests) rows.push({ repo, tag, digest });
    }
  }
  for (const [repo, repoDigests] of digests) {
    if (!digestsFlag) rows.push({ repo, tag: '<none>', digest: '' });
    else for (const digest of repoDigests) rows.push({ repo, tag: '<none>', digest });
  }
  return rows;
}

const IMAGE_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
const IMAGE_TABLE_WITH_DIGEST = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';

/** docker's `raw` format of an image, with or without its digest. */
function rawImageFormat(digest: boolean): string {
  return `repository: {{ .Repository }}\ntag: {{.Tag}}\n${digest ? 'digest: {{.Digest}}\n' : ''}image_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n`;
}

/** docker's NewImageFormat: what `--format` (or none), `-q` and `--digests` make the template. */
export function imageFormat(given: string, quiet: boolean, digests: boolean): string {
  if (given === 'table') return quiet ? '{{.ID}}' : digests ? IMAGE_TABLE_WITH_DIGEST : IMAGE_TABLE;
  if (given === 'raw') return quiet ? 'image_id: {{.ID}}' : rawImageFormat(digests);
  return isTable(given) && digests && !given.includes('{{.Digest}}') ? `${given}\t{{.Digest}}` : given;
}

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
    const filters = parseFilters(list(args, 'filter'));
    // As docker's CLI does: `images REPOSITORY[:TAG]` is a `reference` filter.
    const wanted = args.positionals[0];
    if (wanted) (filters.reference ??= []).push(wanted);
    const engine = await getEngine();
    const truncate = !bool(args, 'no-trunc');
    const digests = bool(args, 'digests');
    const format = imageFormat(str(args, 'format') || 'table', bool(args, 'quiet'), digests);
    const withDigests = digests || format.includes('{{.Digest}}');
    const items = (await engine.images({ all: bool(args, 'all'), filters })).flatMap((image) =>
      imageRows(image, withDigests, digests).map((row) => imageContext(image, row, truncate)),
    );
    io.stdout.write(formatList(format, items, IMAGE_HEADERS));
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
    contentTrustFlag,
    platformFlag('Set platform if server is multi-platform capable'),
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
  ],
  args: [1, 1],
  async run(args, io) {
    const ref = args.positionals[0] as string;
    const options = { quiet: bool(args, 'quiet'), ...platformOption(platformOrDefault(args, io.env)) };
    // As docker's client: a tag with --all-tags is refused before the daemon is asked.
    const repository = bool(args, 'all-tags') ? engineModule().allTagsRepository(ref) : undefined;
    const engine = await getEngine();
    if (verifiesTrust(args, ref)) {
      // docker's trusted pull: each signed tag pulled by digest (its own output), then tagged.
      if (repository === undefined && !options.quiet && !/[:@]/.test(ref.slice(ref.lastIndexOf('/') + 1))) println(io, 'Using default tag: latest');
      const pullOne = (digestRef: string): Promise<unknown> => pullShowingProgress(engine, digestRef, io.stdout, options);
      await trustedPull(engine, io, ref, { ...options, allTags: repository !== undefined, pull: pullOne });
      println(io, repository ?? engineModule().normalizeImageName(ref));
      return 0;
    }
    // docker's last line is the reference pulled, in full: `docker.io/library/busybox:latest`.
    if (repository !== undefined) {
      await pullAllTagsShowingProgress(engine, ref, io.stdout, options);
      println(io, repository);
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
    // push signs rather than verifies, and docker's push says so.
    { ...contentTrustFlag, description: 'Skip image signing' },
    platformFlag(
      "Push a platform-specific manifest as a single-platform image to the registry.\nImage index won't be pushed, meaning that other manifests, including attestations won't be preserved.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)",
    ),
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
  ],
  args: [1, 1],
  async run(args, io) {
    const ref = args.positionals[0] as string;
    const quiet = bool(args, 'quiet');
    const allTags = bool(args, 'all-tags');
    const named = parseReference(ref);
    // docker's client refuses a digest before it says anything.
    const repository = pushRepository(ref, allTags);
    if (!allTags && !quiet && named.tag === undefined) println(io, 'Using default tag: latest');
    const engine = await getEngine();
    const pushed = await pushShowingProgress(engine, ref, io.stdout, { quiet, allTags, ...platformOption(str(args, 'platform')) });
    if (verifiesTrust(args)) {
      // docker signs only a tag it was given: `push -a` with trust on is an unsigned push.
      if (allTags) io.stderr.write('No tag specified, skipping trust metadata push\n');
      else await signPushed(io, engineModule().pushName(ref), pushed[0]);
    }
    // docker -q says only what it pushed, in full.
    if (quiet) println(io, allTags ? repository : engineModule().normalizeImageName(ref));
    // docker's notes come last, quiet or not, each under its " Info -> " header.
    for (const { pushedInsteadOfIndex: instead } of pushed) {
      if (!instead) continue;
      const note = `Not all multiplatform-content is present and only the available single-platform image was pushed\n${instead.originalIndex.digest} -> ${instead.selectedManifest.digest}`;
      println(io, `\n Info -> ${note.split('\n').join(`\n${' '.repeat(9)}`)}`);
    }
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

/**
 * A name to tag an image with (`tag`, `commit`), checked as docker's client checks it before
 * asking the daemon (so an unknown image or container is not said first), in its words.
 */
export function checkNewTag(reference: string, unreadable: (error: Error) => Error = (error) => error): void {
  let digest: string | undefined;
  try {
    ({ digest } = parseReference(reference));
  } catch (error) {
    throw unreadable(error as Error);
  }
  if (digest !== undefined) throw invalidArgument('refusing to create a tag with a digest reference');
}

const tag: Command = {
  name: 'tag',
  aliases: ['ctr image tag'],
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  flags: [],
  args: [2, 2],
  async run(args) {
    const [source, target] = args.positionals as [string, string];
    checkNewTag(target, (error) => invalidArgument(`Error parsing reference: ${JSON.stringify(target)} is not a valid repository/tag: ${error.message}`, { cause: error }));
    await (await getEngine()).tag(source, target);
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
    const archive = await (await getEngine()).save(args.positionals, platformOption(str(args, 'platform')));
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
    // docker's -q hides the layers' progress, never the `Loaded image` lines scripts read; ctr
    // shows no progress, so the flag is accepted and changes nothing.
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress the load output' },
  ],
  args: [0, 0],
  async run(args, io) {
    const input = str(args, 'input');
    if (!input && io.stdin.isTTY) throw invalidArgument('requested load from stdin, but stdin is empty');
    if (input) await stat(input).catch(() => Promise.reject(invalidArgument(`open ${input}: no such file or directory`)));
    const { loaded } = await (await getEngine()).load(input ? createReadStream(input) : io.stdin, platformOption(str(args, 'platform')));
    for (const line of loaded) println(io, line);
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
  // docker's check is at-least-one only: what follows the repository is not looked at.
  args: [1, Infinity],
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
      ...platformOption(platformOrDefault(args, io.env)),
    });
    println(io, image.record.id);
    return 0;
  },
};

/** `docker history`'s column names, by field. */
const HISTORY_HEADERS: Readonly<Record<string, string>> = {
  ID: 'IMAGE',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  CreatedBy: 'CREATED BY',
  Size: 'SIZE',
  Comment: 'COMMENT',
};

/** What `docker history --format` sees of one layer: docker's historyContext. `human`: sizes and times for people. */
function historyContext(h: HistoryItem, truncate: boolean, human: boolean): object {
  // docker cuts the column at 45 columns, tabs made spaces.
  const createdBy = h.CreatedBy.replace(/\t/g, ' ');
  return formatContext('*image.historyContext', {
    ID: truncate ? truncateId(h.Id) : h.Id,
    CreatedAt: rfc3339(h.Created),
    CreatedSince: human ? ago(new Date(h.Created * 1000)) : rfc3339(h.Created),
    CreatedBy: truncate ? ellipsis(createdBy, 45) : createdBy,
    Size: human ? humanSize(h.Size) : String(h.Size),
    Comment: h.Comment,
  });
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
    const items = await (await getEngine()).history(args.positionals[0] as string, platformOption(str(args, 'platform')));
    const given = str(args, 'format') || 'table';
    const table = human ? 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}' : 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
    const format = given === 'table' ? (bool(args, 'quiet') ? '{{.ID}}' : table) : given;
    io.stdout.write(formatList(format, items.map((h) => historyContext(h, truncate, human)), HISTORY_HEADERS));
    return 0;
  },
};

export const imageCommands: Command[] = [images, pull, push, rmi, tag, save, load, importCommand, history];
