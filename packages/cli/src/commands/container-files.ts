import { createWriteStream } from 'node:fs';
import { lstat, mkdtemp, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { goErrnoWords, invalidArgument, notFound } from '@ctr/errors';
import { applyLayer } from '@ctr/image';
import type { Command, Io } from '../command';
import { eprintln, engineModule, getEngine, println } from '../context';
import { bool, str } from '../flags';
import { humanSize } from '../format';

/** `CONTAINER:PATH` → its parts; a local path (with no colon before a slash) → undefined. */
function splitContainerPath(arg: string): { container: string; path: string } | undefined {
  const colon = arg.indexOf(':');
  if (colon <= 0 || arg.slice(0, colon).includes('/')) return undefined;
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) || '/' };
}

/** Counts the bytes passing through, for docker's "Successfully copied" line. */
function counted(source: Readable): { stream: Transform; bytes: () => number } {
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  source.on('error', (error) => stream.destroy(error));
  source.pipe(stream);
  return { stream, bytes: () => bytes };
}

/**
 * A local source that cannot be read, as docker cp finds it (Go's EvalSymlinks of its parent,
 * then an lstat): the first part of its absolute path that fails, `lstat /a/b: no such file or directory`.
 */
export async function sourceMissing(source: string): Promise<Error> {
  let at = '/';
  for (const part of path.resolve(source).split('/').filter(Boolean)) {
    at = path.join(at, part);
    const problem = await lstat(at).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (problem) return notFound(`lstat ${at}: ${goErrnoWords(problem)}`, { cause: problem });
  }
  return notFound(`lstat ${path.resolve(source)}: no such file or directory`);
}

/**
 * docker cp's resolveLocalPath: the local path made absolute and clean, keeping a trailing `/`
 * or `.` (they change what is copied); its report names the destination this way.
 */
function absoluteLocalPath(local: string): string {
  let resolved = path.resolve(local);
  if (path.basename(local) === '.' && path.basename(resolved) !== '.') resolved = `${resolved.replace(/\/$/, '')}/.`;
  return local.endsWith('/') && !resolved.endsWith('/') ? `${resolved}/` : resolved;
}

export async function copyOut(from: { container: string; path: string }, given: string, io: Io, archive: boolean, follow: boolean): Promise<number> {
  const dest = given === '-' ? given : absoluteLocalPath(given);
  // As docker cp: the destination's directory is looked for before the daemon is asked.
  const parent = path.dirname(path.resolve(dest));
  if (dest !== '-' && !(await stat(parent).catch(() => undefined))) throw invalidArgument(`invalid output path: directory ${JSON.stringify(parent)} does not exist`);
  const engine = await getEngine();
  if (follow) {
    const link = await engine.statPath(from.container, from.path);
    if (link.linkTarget) from = { ...from, path: link.linkTarget };
  }
  const { stat: source, tar } = await engine.getArchive(from.container, from.path);
  if (dest === '-') {
    await pipeline(tar, io.stdout);
    return 0;
  }
  const target = await stat(dest).catch(() => undefined);
  const isDirSource = (source.mode & 2 ** 31) !== 0;
  if (target && !target.isDirectory() && isDirSource) throw invalidArgument('cannot copy directory');
  const { stream, bytes } = counted(tar);
  const options = { chown: archive, whiteouts: 'delete' as const };
  if (target?.isDirectory() && !from.path.endsWith('/.')) {
    await applyLayer(dest, stream, options);
  } else {
    // Extract beside the destination, then move the one entry into its place under the new name.
    if (!(await stat(parent).catch(() => undefined))?.isDirectory()) throw invalidArgument(`invalid output path: directory ${parent} does not exist`);
    const scratch = await mkdtemp(path.join(parent, '.ctr-cp-'));
    try {
      await applyLayer(scratch, stream, options);
      const extracted = from.path.endsWith('/.') ? scratch : path.join(scratch, source.name);
      if (target?.isDirectory()) await applyLayerFromDir(extracted, dest);
      else await rename(extracted, dest);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  eprintln(io, `Successfully copied ${humanSize(bytes())} to ${dest}`);
  return 0;
}

/** `cp c:/dir/. existing-dir`: the contents merge into the existing directory. */
async function applyLayerFromDir(dir: string, dest: string): Promise<void> {
  await applyLayer(dest, engineModule().tarTree(dir, ''), { chown: false, whiteouts: 'delete' });
}

export async function copyIn(src: string, to: { container: string; path: string }, io: Io, follow: boolean): Promise<number> {
  const engine = await getEngine();
  if (follow && src !== '-') src = await realpath(src).catch(() => src);
  const target = await engine.statPath(to.container, to.path).catch((error) => {
    // A path not there yet is made by the copy; a container that is not there is said so by it.
    if ((error as { code?: string }).code === 'NotFound') return undefined;
    throw error;
  });
  const targetIsDir = target !== undefined && (target.mode & 2 ** 31) !== 0;
  if (src === '-') {
    // A tar stream is unpacked into a directory, so docker refuses anything else before reading it.
    if (!targetIsDir) throw invalidArgument(`destination "${to.container}:${to.path}" must be a directory`);
    await engine.putArchive(to.container, to.path, io.stdin);
    // docker counts nothing of a tar it passes on from stdin, and reports the copy all the same.
    eprintln(io, `Successfully copied ${humanSize(0)} to ${to.container}:${to.path}`);
    return 0;
  }
  const local = await stat(src).catch(() => undefined);
  if (!local) throw await sourceMissing(src);
  const contentsOnly = /(^|\/)\.$/.test(src);
  if (target && !targetIsDir && local.isDirectory()) throw invalidArgument('cannot copy directory');
  const into = targetIsDir ? to.path : path.posix.dirname(to.path);
  const name = contentsOnly ? '' : targetIsDir ? path.basename(path.resolve(src)) : path.posix.basename(to.path);
  const { stream, bytes } = counted(engineModule().tarTree(path.resolve(src), name));
  await engine.putArchive(to.container, into, stream);
  eprintln(io, `Successfully copied ${humanSize(bytes())} to ${to.container}:${to.path}`);
  return 0;
}

const cp: Command = {
  name: 'cp',
  aliases: ['ctr container cp'],
  usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tctr cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  description: "Copy files/folders between a container and the local filesystem\n\nUse '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\nUse '-' as the destination to stream a tar archive of a\ncontainer source to stdout.",
  flags: [
    { name: 'archive', short: 'a', type: 'bool', description: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', type: 'bool', description: 'Always follow symbol link in SRC_PATH' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
  ],
  args: [2, 2],
  async run(args, io) {
    const [src, dest] = args.positionals as [string, string];
    const from = splitContainerPath(src);
    const to = splitContainerPath(dest);
    if (from && to) throw invalidArgument('copying between containers is not supported');
    if (!from && !to) throw invalidArgument('must specify at least one container source');
    // docker reports the copy only to a terminal unless -q says otherwise (cp.go: `quiet = !Out().IsTerminal()`).
    const quiet = args.flags.quiet === undefined ? !io.stdout.isTTY : bool(args, 'quiet');
    const quietIo: Io = quiet ? { ...io, stderr: new PassThrough() } : io;
    const follow = bool(args, 'follow-link');
    return from ? copyOut(from, dest, quietIo, bool(args, 'archive'), follow) : copyIn(src, to as { container: string; path: string }, quietIo, follow);
  },
};

const exportCommand: Command = {
  name: 'export',
  aliases: ['ctr container export'],
  usage: '[OPTIONS] CONTAINER',
  description: "Export a container's filesystem as a tar archive",
  flags: [{ name: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT' }],
  args: [1, 1],
  async run(args, io) {
    const output = str(args, 'output');
    if (!output && io.stdout.isTTY) throw invalidArgument('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    // As docker export: the file's directory is looked for before the daemon is asked.
    const directory = output ? path.dirname(output) : '.';
    const missing = directory === '.' ? undefined : await stat(directory).then(() => undefined, (error: unknown) => error);
    if (missing) throw invalidArgument(`failed to export container: invalid output path: stat ${directory}: ${goErrnoWords(missing)}`, { cause: missing });
    const tar = await (await getEngine()).export(args.positionals[0] as string);
    await pipeline(tar, output ? createWriteStream(output) : io.stdout);
    return 0;
  },
};

const KIND = ['C', 'A', 'D'];

const diff: Command = {
  name: 'diff',
  aliases: ['ctr container diff'],
  usage: 'CONTAINER',
  description: "Inspect changes to files or directories on a container's filesystem",
  flags: [],
  args: [1, 1],
  async run(args, io) {
    for (const change of await (await getEngine()).changes(args.positionals[0] as string)) println(io, `${KIND[change.Kind]} ${change.Path}`);
    return 0;
  },
};

export const containerFileCommands: Command[] = [cp, exportCommand, diff];
