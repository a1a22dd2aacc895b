import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { aborted, asCtrError, invalidArgument, notFound } from '@ctr/errors';
import { TarReader, resolveInRoot } from '@ctr/image';
import { cleanPath } from './clean-path';
import { PatternMatcher, readDockerignore } from './dockerignore';

/** The files a build may read: a directory, and the `.dockerignore` rules that hide some of them from COPY/ADD. */
export interface BuildContext {
  root: string;
  ignore: PatternMatcher;
  /** Remove what opening the context created (the extracted tar). */
  dispose(): Promise<void>;
}

/**
 * A context from a directory (used in place) or a tar stream, plain or gzip (what
 * `docker build -` and the API send), extracted into a private directory under `scratchDir`.
 */
export async function openContext(context: string | Readable, signal: AbortSignal, scratchDir = os.tmpdir()): Promise<BuildContext> {
  if (typeof context === 'string') {
    const st = await fs.stat(context).catch(() => undefined);
    if (!st?.isDirectory()) throw notFound(`build context ${context} is not a directory`, { hint: 'Pass a directory or a tar stream as the context.' });
    const root = await fs.realpath(context);
    return { root, ignore: await readIgnore(root), dispose: async () => undefined };
  }
  const root = await fs.mkdtemp(path.join(scratchDir, 'ctr-build-context-'));
  try {
    await extractContextTar(context, root, signal);
    return { root, ignore: await readIgnore(root), dispose: () => fs.rm(root, { recursive: true, force: true }) };
  } catch (e) {
    await fs.rm(root, { recursive: true, force: true });
    throw e;
  }
}

async function readIgnore(root: string): Promise<PatternMatcher> {
  const text = await fs.readFile(path.join(root, '.dockerignore'), 'utf8').catch(() => '');
  return new PatternMatcher(readDockerignore(text));
}

/** Peek at the first bytes to decide whether the stream is gzip. */
async function decompressed(stream: Readable): Promise<Readable> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  const first = await iterator.next();
  const head = first.done ? undefined : Buffer.from(first.value);
  const all = Readable.from(
    (async function* () {
      if (head) yield head;
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
    })(),
  );
  if (head?.[0] !== 0x1f || head[1] !== 0x8b) return all;
  const gunzip = createGunzip();
  pipeline(all, gunzip, () => undefined); // an error on either side destroys the other
  return gunzip;
}

/**
 * Extract a context tar safely: names are cleaned and kept under the root, parent paths are
 * resolved inside the root (symlinks re-rooted), leaves are replaced, never written through.
 */
export async function extractContextTar(stream: Readable, root: string, signal: AbortSignal): Promise<void> {
  const reader = new TarReader(await decompressed(stream));
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

const maxDockerfileSize = 16 << 20;

/** The Dockerfile from the context (bounded: it is parsed in memory). */
export async function readContextFile(context: BuildContext, name: string): Promise<Buffer> {
  const { abs: full, stat: st } = resolveInRoot(context.root, cleanPath('/' + name));
  if (!st?.isFile()) throw notFound(`Cannot locate specified Dockerfile: ${name}`, { hint: 'Give the Dockerfile path relative to the context root.' });
  if (st.size > maxDockerfileSize) throw invalidArgument(`Dockerfile ${name} is ${st.size} bytes; the limit is ${maxDockerfileSize}`);
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(full)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
