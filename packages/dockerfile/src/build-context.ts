import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { aborted, asCtrError, invalidArgument, notFound } from '@ctr/errors';
import { TarReader, decompressArchive, peekStream, resolveInRoot, sniffCompression, tarErrorReason } from '@ctr/image';
import { cleanPath } from './clean-path';
import { PatternMatcher, readDockerignore } from './dockerignore';

/** The files a build may read: a directory, and the `.dockerignore` rules that hide some of them from COPY/ADD. */
export interface BuildContext {
  root: string;
  ignore: PatternMatcher;
  /**
   * Set when the stream was a Dockerfile, not an archive (`docker build - < Dockerfile`): the
   * name it was saved under, the context's only file.
   */
  dockerfile?: string;
  /** Remove what opening the context created (the extracted tar). */
  dispose(): Promise<void>;
}

/** What docker's CLI reads of its input to tell an archive from a Dockerfile (DetectArchiveReader: two tar blocks). */
const ARCHIVE_HEAD = 1024;

/** The name a Dockerfile sent alone is saved under: docker's CLI sends it so (WriteTempDockerfile). */
const STREAM_DOCKERFILE = 'Dockerfile';

/**
 * A context from a directory (used in place) or a stream, extracted into a private directory
 * under `scratchDir`. A stream is an archive — a tar, plain or compressed (gzip, bzip2, xz or
 * zstd), as `docker build -` and the API may send it — or else a Dockerfile, which is then the
 * context's only file (`docker build - < Dockerfile`: docker's CLI tells them apart by the head).
 */
export async function openContext(context: string | Readable, signal: AbortSignal, scratchDir = os.tmpdir()): Promise<BuildContext> {
  if (typeof context === 'string') {
    // docker's CLI in its words (`docker build PATH`: GetContextFromLocalDir, ResolveAndValidateContextPath).
    const st = await fs.stat(context).catch(() => undefined);
    if (!st) throw notFound(`unable to prepare context: path ${JSON.stringify(context)} not found`, { hint: 'Pass a directory or a tar stream as the context.' });
    if (!st.isDirectory()) {
      throw invalidArgument(`unable to prepare context: context must be a directory: ${path.resolve(context)}`, { hint: 'Pass a directory or a tar stream as the context.' });
    }
    const root = await fs.realpath(context);
    return { root, ignore: await readIgnore(root), dispose: async () => undefined };
  }
  const root = await fs.mkdtemp(path.join(scratchDir, 'ctr-build-context-'));
  try {
    const { head, whole: all } = await peekStream(context, ARCHIVE_HEAD);
    const archive = await isArchiveHead(head);
    if (archive) await extractContextTar(all, root, signal);
    else await writeContextDockerfile(all, root, STREAM_DOCKERFILE, 'the Dockerfile read from the build\'s input', signal);
    return { root, ignore: await readIgnore(root), ...(archive ? {} : { dockerfile: STREAM_DOCKERFILE }), dispose: () => fs.rm(root, { recursive: true, force: true }) };
  } catch (e) {
    await fs.rm(root, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Whether a stream beginning with `head` is an archive, as docker's CLI decides (`IsArchive`):
 * compressed, or a tar — its first block a header with a good checksum. Only that block is
 * judged: an entry that goes on past it (a PAX header's records) is a tar all the same.
 */
export async function isArchiveHead(head: Buffer): Promise<boolean> {
  if (compressionOf(head) !== undefined) return true;
  if (head.length < 512) return false;
  try {
    await new TarReader(Readable.from([head.subarray(0, 512)])).next();
    return true;
  } catch (error) {
    return tarErrorReason(error) === 'truncated';
  }
}

/**
 * A Dockerfile sent alone, saved as `name` in the context directory `root` (mode 0644, as docker's
 * CLI sends it): streamed to disk, refused once past `maxDockerfileSize` (`what` names it then).
 */
export async function writeContextDockerfile(body: Readable, root: string, name: string, what: string, signal: AbortSignal): Promise<void> {
  const file = resolveInRoot(root, cleanPath(`/${name}`)).abs;
  await fs.mkdir(path.dirname(file), { recursive: true });
  let size = 0;
  try {
    await streamPipeline(
      body,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          size += chunk.length;
          if (size > maxDockerfileSize) throw invalidArgument(`${what} is larger than ${maxDockerfileSize} bytes`);
          yield chunk;
        }
      },
      createWriteStream(file, { flags: 'wx', mode: 0o644 }),
      { signal },
    );
  } catch (error) {
    throw signal.aborted ? aborted(signal, `reading ${what}`) : error;
  }
}

export async function readIgnore(root: string): Promise<PatternMatcher> {
  const text = await fs.readFile(path.join(root, '.dockerignore'), 'utf8').catch(() => '');
  return new PatternMatcher(readDockerignore(text));
}

/** The compression a context tar is in (docker's: gzip, bzip2, xz, zstd); gzip goes through zlib, the rest through their commands. */
export function compressionOf(head: Buffer): string | undefined {
  const kind = sniffCompression(head);
  return kind === 'none' ? undefined : kind;
}

/**
 * Extract a context tar safely: names are cleaned and kept under the root, parent paths are
 * resolved inside the root (symlinks re-rooted), leaves are replaced, never written through.
 */
export async function extractContextTar(stream: Readable, root: string, signal: AbortSignal): Promise<void> {
  const reader = new TarReader(await decompressArchive(stream, { signal, what: 'the build context' }));
  try {
    for (let entry = await reader.next(); entry; entry = await reader.next()) {
      if (signal.aborted) throw aborted(signal, 'reading the build context');
      const h = entry.header;
      const name = cleanPath('/' + h.name).slice(1);
      if (name === '' || h.name.includes('\0')) continue;
      const leaf = path.join(resolveInRoot(root, path.posix.dirname(name)).abs, path.posix.basename(name));
      await fs.mkdir(path.dirname(leaf), { recursive: true });
      const existing = await fs.lstat(leaf).catch(() => undefined);
      const mode = h.mode & 0o7777;
      if (h.typeflag === '5') {
        if (existing && !existing.isDirectory()) await fs.rm(leaf, { force: true });
        if (!existing?.isDirectory()) await fs.mkdir(leaf, { mode });
        continue;
      }
      if (existing) await fs.rm(leaf, { recursive: true, force: true });
      if (h.typeflag === '0' || h.typeflag === '\0' || h.typeflag === '7') {
        const file = await fs.open(leaf, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
        try {
          for await (const chunk of entry.content()) await file.write(chunk);
          await file.chmod(mode);
        } finally {
          await file.close();
        }
      } else if (h.typeflag === '2') {
        await fs.symlink(h.linkname, leaf);
      } else if (h.typeflag === '1') {
        const target = resolveInRoot(root, cleanPath('/' + h.linkname), { followLast: false });
        if (!target.stat?.isFile()) throw invalidArgument(`build context: hard link ${name} points at ${h.linkname}, which is not a file in the context`);
        await fs.link(target.abs, leaf);
      }
      // devices, fifos and sockets have no place in a build context: skipped
    }
  } catch (e) {
    throw asCtrError(e, 'InvalidArgument', 'reading the build context tar');
  }
}

export const maxDockerfileSize = 16 << 20;

/** The name a build reads its Dockerfile by when given none. */
const DEFAULT_DOCKERFILE = 'Dockerfile';

/**
 * The Dockerfile from the context (bounded: it is parsed in memory). The default name, missing,
 * is looked for in lower case too, as dockerd does (remotecontext's withDockerfileFromContext).
 */
export async function readContextFile(context: BuildContext, name: string): Promise<Buffer> {
  let { abs: full, stat: st } = resolveInRoot(context.root, cleanPath('/' + name));
  if (!st && name === DEFAULT_DOCKERFILE) ({ abs: full, stat: st } = resolveInRoot(context.root, cleanPath('/' + name.toLowerCase())));
  // dockerd's words alone: the API appends a hint to its message, which would then not be dockerd's.
  if (!st?.isFile()) throw notFound(`Cannot locate specified Dockerfile: ${name}`);
  if (st.size > maxDockerfileSize) throw invalidArgument(`Dockerfile ${name} is ${st.size} bytes; the limit is ${maxDockerfileSize}`);
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(full)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
