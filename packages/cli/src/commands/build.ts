import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { CtrError, asCtrError, invalidArgument, notFound, unsupported } from '@ctr/errors';
import type { BuildEvent, BuildOutput as OutputOption } from '@ctr/dockerfile';
import type { Command, Io } from '../command';
import { apiModule, engineModule, getEngine, imageModule } from '../context';
import { contentTrustFlag, tagTrusted, trustedDockerfile, verifiesTrust, type TrustedBase } from '../content-trust';
import { bool, list, str } from '../flags';
import { buildStepFlags, buildStepOptions, csvFields, keyValues } from './create-flags';
import { buildSecretFlags, buildSecretOptions } from './build-secrets';
import { platformOrDefault } from './images';
import { buildOutput, progressMode } from '../build-view';
import { localDockerfile } from '../build-dockerfile';

/**
 * `--build-arg`s as docker's CLI sends them (ValidateEnv, ConvertKVStringsToMapWithNil): `NAME`
 * alone takes the value from the environment, and stays null (given, no value) when it has none.
 */
function buildArgValues(values: string[], env: NodeJS.ProcessEnv): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq === -1) out[value] = env[value] ?? null;
    else out[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return out;
}

export const buildCommand: Command = {
  name: 'build',
  aliases: ['ctr image build'],
  usage: '[OPTIONS] PATH | URL | -',
  description: 'Build an image from a Dockerfile',
  flags: [
    // docker's validateTag, as the flag is parsed.
    { name: 'tag', short: 't', type: 'list', description: 'Name and optionally a tag in the "name:tag" format', check: (tag) => void engineModule().normalizeImageName(tag) },
    { name: 'file', short: 'f', type: 'string', description: "Name of the Dockerfile (default: 'PATH/Dockerfile')" },
    { name: 'build-arg', type: 'list', description: 'Set build-time variables' },
    { name: 'target', type: 'string', description: 'Set the target build stage to build' },
    { name: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' },
    { name: 'label', type: 'list', description: 'Set metadata for an image' },
    { name: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress the build output and print image ID on success' },
    { name: 'network', type: 'string', description: 'Set the networking mode for the RUN instructions during build', default: 'default' },
    { name: 'pull', type: 'bool', description: 'Always attempt to pull a newer version of the image' },
    { name: 'rm', type: 'bool', description: 'Remove intermediate containers after a successful build', default: true },
    { name: 'force-rm', type: 'bool', description: 'Always remove intermediate containers' },
    { name: 'iidfile', type: 'string', description: 'Write the image ID to the file' },
    { name: 'cache-from', type: 'list', description: 'Images to consider as cache sources' },
    { name: 'squash', type: 'bool', description: 'Squash newly built layers into a single new layer' },
    { name: 'compress', type: 'bool', description: 'Compress the build context using gzip' },
    { name: 'isolation', type: 'string', description: 'Container isolation technology' },
    contentTrustFlag,
    { name: 'progress', type: 'string', description: 'Set type of progress output (auto, plain, tty, quiet, rawjson)' },
    { name: 'output', short: 'o', type: 'list', valueName: 'stringArray', description: 'Output destination (format: "type=local,dest=path")' },
    { name: 'build-context', type: 'list', valueName: 'stringArray', description: 'Additional build contexts (e.g., name=path)' },
    ...buildStepFlags,
    ...buildSecretFlags,
  ],
  args: [1, 1],
  async run(args, io) {
    const source = args.positionals[0] as string;
    const file = str(args, 'file');
    // `-f -` reads the Dockerfile from stdin with the context from PATH; `-` as PATH is a context
    // on stdin: an archive, or a Dockerfile alone (the engine tells them apart, as docker's CLI does).
    if (source === '-' && file === '-') throw invalidArgument('invalid argument: can\'t use stdin for both build context and dockerfile');
    const exported = outputOption(list(args, 'output'), io.stdout);
    // Exported, the build names no image (buildx tags only what an image exporter makes).
    const tags = exported.output ? [] : [...list(args, 'tag'), ...exported.names];
    for (const name of exported.names) engineModule().normalizeImageName(name);
    // The Dockerfile package is loaded only when something is built.
    const { classicStreamText, parseBuildContexts, remoteContextKind } = require('@ctr/dockerfile') as typeof import('@ctr/dockerfile');
    const buildContexts = parseBuildContexts(list(args, 'build-context'));
    // A tar on stdout has it to itself: the progress goes to stderr, as buildx's always does.
    const progressTo = exported.output && 'stream' in exported.output ? io.stderr : io.stdout;
    const quiet = bool(args, 'quiet');
    // dockerd's stream as docker's CLI prints it (RUN's stderr in red, escapes and all).
    const output = buildOutput(progressMode(str(args, 'progress'), quiet, progressTo), progressTo, classicStreamText);
    // docker's CLI with -q: the build's output is held back, and shown on stderr if the build fails.
    const held: string[] = [];
    const onEvent = quiet ? (event: BuildEvent): void => void held.push(classicStreamText(event)) : output.onEvent;
    const target = str(args, 'target');
    const isolation = str(args, 'isolation');
    // docker's `--cache-from` is a string slice: repeated, or comma-separated.
    const cacheFrom = list(args, 'cache-from').flatMap((value) => value.split(',')).filter(Boolean);
    const platform = platformOrDefault(args, io.env);
    const iidfile = str(args, 'iidfile');
    // Gone before the build, as docker removes it: a failed build must not leave the last ID for a script to find.
    if (iidfile) await fs.rm(iidfile, { force: true });
    // docker's order: `-`, a local directory, then a git repository or an http(s) URL.
    const local = source === '-' ? undefined : await fs.stat(source).catch(() => undefined);
    const remote = source !== '-' && remoteContextKind(source) !== undefined && !local?.isDirectory();
    // docker's CLI says these before it reaches any daemon (its own errors, not the daemon's).
    if (source !== '-' && !remote && !local) throw notFound(`unable to prepare context: path ${JSON.stringify(source)} not found`);
    if (local && !local.isDirectory()) throw invalidArgument(`unable to prepare context: context must be a directory: ${path.resolve(source)}`);
    const dockerfileContent = file === '-' ? await readStdin(io.stdin) : undefined;
    const prepared = await preparedInput(io, { source, remote, ...(file && file !== '-' ? { file } : {}), ...(dockerfileContent ? { dockerfileContent } : {}) });
    let input = prepared;
    try {
      if (verifiesTrust(args)) input = await trustedBuildInput(io, prepared);
      const engine = await getEngine();
      const result = await engine
        .build({
          ...(isolation ? { isolation } : {}),
          ...(cacheFrom.length > 0 ? { cacheFrom } : {}),
          squash: bool(args, 'squash'),
          compress: bool(args, 'compress'),
          context: input.context,
          ...(input.dockerfile !== undefined ? { dockerfile: input.dockerfile } : {}),
          ...(input.dockerfileContent !== undefined ? { dockerfileContent: input.dockerfileContent } : {}),
          ...(target ? { target } : {}),
          ...(platform ? { platform } : {}),
          buildArgs: buildArgValues(list(args, 'build-arg'), io.env),
          // docker's ConvertKVStringsToMap: `key` alone is the empty value.
          labels: keyValues(list(args, 'label')),
          noCache: bool(args, 'no-cache'),
          pull: bool(args, 'pull'),
          remove: bool(args, 'rm'),
          forceRemove: bool(args, 'force-rm'),
          network: str(args, 'network') ?? 'default',
          tags,
          steps: buildStepOptions(args),
          ...(await buildSecretOptions(args, io.env)),
          ...(onEvent ? { onEvent } : {}),
          ...(Object.keys(buildContexts).length > 0 ? { buildContexts } : {}),
          ...(exported.output ? { output: exported.output } : {}),
        })
        .catch((error: unknown) => {
          io.stderr.write(held.join(''));
          throw error;
        })
        .finally(() => output.close());
      // Written out, the result is no image to give the ID of.
      if (!exported.output) {
        if (iidfile) await fs.writeFile(iidfile, result.id);
        output.done(result.id, tags.map((tag) => engineModule().familiarImageName(engineModule().normalizeImageName(tag))));
      }
      // docker's TagTrusted of each base once the build succeeded: the digest built from gets its tag.
      for (const base of input.resolved) await tagTrusted(engine, io, base);
    } finally {
      await input.dispose();
    }
    return 0;
  },
};

/** What `--output` asks for: the filesystem written out (`output`), or the image, with `names` besides `-t`'s. */
interface OutputFlag {
  output?: OutputOption;
  names: string[];
}

/**
 * buildx's `--output` (its ParseOutputs and checks, its words): `type=local,dest=DIR` (`-o DIR`
 * for short), `type=tar[,dest=FILE]` (stdout by default, `-o -` for short), or the image into
 * the store as without the flag (`type=image` / `type=docker`, `name=` tags it).
 */
function outputOption(values: readonly string[], stdout: Io['stdout']): OutputFlag {
  const given = values.filter((value) => value !== '');
  if (given.length === 0) return { names: [] };
  if (given.length > 1) throw invalidArgument('multiple outputs are not supported by this builder: give one --output');
  const value = given[0] as string;
  const fields = csvFields(value, (message) => {
    throw invalidArgument(message);
  });
  const attrs = new Map<string, string>();
  if (fields.length === 1 && fields[0] === value && !value.startsWith('type=')) {
    attrs.set('type', value === '-' ? 'tar' : 'local').set('dest', value);
  } else {
    for (const field of fields) {
      const eq = field.indexOf('=');
      if (eq === -1) throw invalidArgument(`invalid value ${field}`);
      attrs.set(field.slice(0, eq).trim().toLowerCase(), field.slice(eq + 1));
    }
  }
  const type = attrs.get('type');
  attrs.delete('type');
  if (!type) throw invalidArgument('type is required for output');
  const only = (...keys: string[]): void => {
    for (const key of attrs.keys()) {
      if (!keys.includes(key)) throw invalidArgument(`unknown output option "${key}" for type=${type}`, { hint: `type=${type} takes ${keys.join(', ') || 'no options'}.` });
    }
  };
  switch (type) {
    case 'local': {
      only('dest');
      const dest = attrs.get('dest');
      if (dest === undefined) throw invalidArgument('dest is required for local output');
      return { output: { type: 'local', dest }, names: [] };
    }
    case 'tar': {
      only('dest');
      const dest = attrs.get('dest') ?? '-';
      if (dest !== '-') return { output: { type: 'tar', dest }, names: [] };
      if (stdout.isTTY) throw invalidArgument('output file is required for tar exporter. refusing to write to console');
      return { output: { type: 'tar', stream: stdout }, names: [] };
    }
    case 'image':
    case 'docker':
      only('name');
      return { names: (attrs.get('name') ?? '').split(',').filter(Boolean) };
    case 'oci':
    case 'registry':
    case 'cacheonly':
      throw unsupported(`output type=${type} is not supported by this builder`, { hint: 'Use type=image (the default), type=local or type=tar; ctr save and ctr push take an image further.' });
    default:
      throw notFound(`exporter "${type}" could not be found`);
  }
}

/** What the builder is given: the context, the Dockerfile (by name, or its content), and the bases resolved through trust. */
interface BuildInput {
  context: string | Readable;
  dockerfile?: string;
  dockerfileContent?: Buffer;
  resolved: TrustedBase[];
  /** Remove what opening the context here created. */
  dispose(): Promise<void>;
}

/**
 * What docker's CLI makes of PATH and `-f` before it sends anything: stdin as it is; a git
 * repository or an http(s) URL fetched here, for the engine in this process too, as docker's
 * CLI fetches it; a directory with its Dockerfile found as docker's CLI finds it
 * (`localDockerfile`). What fails here fails in docker's CLI's words, `unable to prepare context: …`.
 */
async function preparedInput(io: Io, given: { source: string; remote: boolean; file?: string; dockerfileContent?: Buffer }): Promise<BuildInput> {
  const named = given.file !== undefined ? { dockerfile: given.file } : {};
  const content = given.dockerfileContent !== undefined ? { dockerfileContent: given.dockerfileContent } : {};
  const nothingToDispose = async (): Promise<void> => undefined;
  if (given.source === '-') return { context: io.stdin as Readable, ...named, resolved: [], dispose: nothingToDispose };
  if (given.remote) {
    const { openRemoteContext } = require('@ctr/dockerfile') as typeof import('@ctr/dockerfile');
    const signal = new AbortController().signal;
    const opened = await openRemoteContext(given.source, { ...(given.file !== undefined ? { dockerfile: given.file } : {}), fetch: engineModule().getTrustingExtraCas, signal, client: true }).catch(
      (error: unknown) => {
        const failed = asCtrError(error);
        throw new CtrError(failed.code, `unable to prepare context: ${failed.message}`, { cause: error, ...(failed.hint !== undefined ? { hint: failed.hint } : {}) });
      },
    );
    return { context: opened.root, ...named, ...content, resolved: [], dispose: () => opened.dispose() };
  }
  if (given.dockerfileContent !== undefined) return { context: given.source, ...content, resolved: [], dispose: nothingToDispose };
  const found = await localDockerfile(given.source, given.file);
  return { context: given.source, ...('name' in found ? { dockerfile: found.name } : { dockerfileContent: found.content }), resolved: [], dispose: nothingToDispose };
}

/**
 * docker's build with content trust (rewriteDockerfileFromForContentTrust), client-side so it
 * holds for ctrd as for the in-process engine: the FROM lines are resolved to signed digests
 * before anything is built. A Dockerfile given by content is rewritten as it is; the context's
 * own Dockerfile is replaced in the context sent (a tar, nothing else in it changed). A context
 * from stdin is opened here, as docker's CLI reads it, to find that Dockerfile.
 */
async function trustedBuildInput(io: Io, input: BuildInput): Promise<BuildInput> {
  if (input.dockerfileContent !== undefined) {
    const { dockerfile, resolved } = await trustedDockerfile(io, input.dockerfileContent.toString('utf8'));
    return { ...input, dockerfileContent: Buffer.from(dockerfile), resolved };
  }
  const { cleanPath, maxDockerfileSize, openContext } = require('@ctr/dockerfile') as typeof import('@ctr/dockerfile');
  const opened = typeof input.context === 'string' ? undefined : await openContext(input.context, new AbortController().signal);
  try {
    // docker's CLI: a Dockerfile sent as the context names itself, another one besides is ambiguous.
    if (opened?.dockerfile !== undefined && input.dockerfile !== undefined) throw invalidArgument('ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles');
    const root = opened?.root ?? (input.context as string);
    const name = opened?.dockerfile ?? input.dockerfile ?? 'Dockerfile';
    // Not found here, it is not found by the builder either, which says so in its words.
    const text = imageModule().readFileInRoot(root, cleanPath(`/${name}`), maxDockerfileSize);
    const rewritten = text === undefined ? undefined : await trustedDockerfile(io, text);
    const changed = rewritten !== undefined && rewritten.resolved.length > 0 ? rewritten : undefined;
    if (opened === undefined && changed === undefined) return input;
    const tar = apiModule().contextTar(root, { dockerfile: name, ...(changed ? { dockerfileContent: Buffer.from(changed.dockerfile) } : {}) });
    return {
      context: tar,
      dockerfile: name,
      resolved: changed?.resolved ?? [],
      dispose: async () => {
        await opened?.dispose();
        await input.dispose();
      },
    };
  } catch (error) {
    await opened?.dispose();
    throw error;
  }
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

