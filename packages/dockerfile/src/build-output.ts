import { createReadStream, createWriteStream, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CtrError, aborted, goErrnoWords, goPathError, invalidArgument, noSpaceLeft, throwIfAborted } from '@ctr/errors';
import { TAR_END, encodeTarHeader, tarFileEntry, type TarWriteHeader } from '@ctr/image';

/**
 * Where a build's result goes instead of an image (buildx's `--output`): the target stage's
 * filesystem written into a directory (`local`, BuildKit's local exporter), or as a tar to a
 * file or a stream (`tar`; the stream is written to, never ended: it is the caller's).
 */
export type BuildOutput = { type: 'local'; dest: string } | { type: 'tar'; dest: string } | { type: 'tar'; stream: Writable };

/** An output checked before the build, as buildx checks it: a bad destination fails before any step runs. */
export interface OutputSink {
  /** Write the filesystem under `root` out. */
  write(root: string, signal: AbortSignal): Promise<void>;
}

/** Open `output` for the build that is about to run, checking its destination as buildx does. */
export async function openOutput(output: BuildOutput): Promise<OutputSink> {
  if (output.type === 'local') {
    const dest = output.dest;
    // BuildKit's receiver makes the directory (MkdirAll) and merges into it: only a non-directory in the way fails.
    const st = await fs.stat(dest).catch(() => undefined);
    if (st && !st.isDirectory()) throw invalidArgument(`failed to create synctarget dest dir ${dest}: mkdir ${dest}: not a directory`);
    return { write: (root, signal) => exportLocal(root, dest, signal) };
  }
  if ('stream' in output) {
    const stream = output.stream;
    return { write: (root, signal) => exportTar(root, { out: stream }, signal) };
  }
  return openTarFile(output.dest);
}

/** buildx's checks and words for a tar's file, opened (created, truncated) now. */
async function openTarFile(dest: string): Promise<OutputSink> {
  const st = await fs.stat(dest).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw invalidArgument(`invalid destination file: ${dest}: ${goPathError(error, dest)}`, { cause: error });
  });
  if (st?.isDirectory()) throw invalidArgument(`destination file ${dest} is a directory`);
  // Created now, as buildx creates it: a destination that cannot be written fails before the build.
  await fs.open(dest, 'w').then((handle) => handle.close(), (error: NodeJS.ErrnoException) => {
    throw invalidArgument(`failed to open ${goPathError(error, dest)}`, { cause: error });
  });
  return { write: (root, signal) => exportTar(root, { out: createWriteStream(dest), dest }, signal) };
}

/** One thing under the exported root, in walk order: a directory before what it holds. */
interface TreeEntry {
  rel: string;
  abs: string;
  stat: Stats;
}

/** The tree under `root`, names sorted, nothing followed. */
async function* walk(root: string, rel: string, signal: AbortSignal): AsyncGenerator<TreeEntry> {
  for (const name of (await fs.readdir(path.join(root, rel))).sort()) {
    throwIfAborted(signal, 'the export');
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const abs = path.join(root, childRel);
    const stat = await fs.lstat(abs);
    yield { rel: childRel, abs, stat };
    if (stat.isDirectory()) yield* walk(root, childRel, signal);
  }
}

/** The first name a multiply-linked file was exported under, by inode: later names are links to it. */
class Links {
  private readonly first = new Map<string, string>();

  /** The earlier name of this file, or undefined (and this one remembered) when it is the first. */
  seen(entry: TreeEntry): string | undefined {
    if (!entry.stat.isFile() || entry.stat.nlink < 2) return undefined;
    const key = `${entry.stat.dev}:${entry.stat.ino}`;
    const earlier = this.first.get(key);
    if (earlier === undefined) this.first.set(key, entry.rel);
    return earlier;
  }
}

/**
 * BuildKit's local exporter: the tree merged into `dest` (made 0700 when missing), each file,
 * directory and link with its mode and times, owned by whoever runs the export (its receiver
 * sets every owner to the client's user). What is in the way of a name is replaced.
 * Sockets, fifos and devices are not written: a directory of artifacts has no use for them.
 */
async function exportLocal(root: string, dest: string, signal: AbortSignal): Promise<void> {
  await fs.mkdir(dest, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
    throw new CtrError('InvalidArgument', `failed to create synctarget dest dir ${dest}: ${goPathError(error, dest)}`, { cause: error });
  });
  const links = new Links();
  // A directory's mode and time are set once what it holds is written: a read-only one would refuse its files.
  const dirs: TreeEntry[] = [];
  try {
    for await (const entry of walk(root, '', signal)) {
      const target = path.join(dest, entry.rel);
      const { stat } = entry;
      const existing = await fs.lstat(target).catch(() => undefined);
      if (stat.isDirectory()) {
        if (existing && !existing.isDirectory()) await fs.rm(target, { recursive: true, force: true });
        if (!existing?.isDirectory()) await fs.mkdir(target, { mode: 0o700 });
        dirs.push(entry);
        continue;
      }
      if (!stat.isFile() && !stat.isSymbolicLink()) continue;
      if (existing) await fs.rm(target, { recursive: true, force: true });
      const earlier = links.seen(entry);
      if (earlier !== undefined) await fs.link(path.join(dest, earlier), target);
      else if (stat.isSymbolicLink()) {
        await fs.symlink(await fs.readlink(entry.abs), target);
        await fs.lutimes(target, stat.atime, stat.mtime);
      } else {
        await pipeline(createReadStream(entry.abs), createWriteStream(target, { mode: 0o600 }), { signal });
        await fs.chmod(target, stat.mode & 0o7777);
        await fs.utimes(target, stat.atime, stat.mtime);
      }
    }
    for (const dir of dirs.reverse()) {
      const target = path.join(dest, dir.rel);
      await fs.chmod(target, dir.stat.mode & 0o7777);
      await fs.utimes(target, dir.stat.atime, dir.stat.mtime);
    }
  } catch (error) {
    if (signal.aborted) throw aborted(signal, 'the export');
    throw noSpaceLeft(error, dest) ?? new CtrError('Internal', `failed to receive fs changes: ${goPathError(error, dest)}`, { cause: error });
  }
}

/**
 * BuildKit's tar exporter: the tree as a tar (names relative, directories ending in `/`),
 * owners and modes as they are, multiply-linked files as hard links. Pulled through the
 * stream one block at a time: no file is held whole.
 */
async function exportTar(root: string, to: { out: Writable; dest?: string }, signal: AbortSignal): Promise<void> {
  try {
    // A caller's stream stays open unless it is ours (a file): it is theirs (stdout goes on after the tar).
    await pipeline(Readable.from(tarEntries(root, signal), { objectMode: false }), to.out, { signal, end: to.dest !== undefined });
  } catch (error) {
    if (signal.aborted) throw aborted(signal, 'the export');
    const { syscall, path: where } = error as NodeJS.ErrnoException;
    if (typeof syscall !== 'string') throw error;
    // Reading the tree names the file; a write names none: it failed at the destination (a caller's stream has no name to give).
    const at = where ?? to.dest;
    const full = noSpaceLeft(error, at, 'writing the tar');
    if (full) throw full;
    const reason = at === undefined ? goErrnoWords(error) : goPathError(error, at);
    throw new CtrError('Internal', `failed to write the tar: ${reason}`, { cause: error });
  }
}

async function* tarEntries(root: string, signal: AbortSignal): AsyncGenerator<Buffer> {
  const links = new Links();
  for await (const entry of walk(root, '', signal)) {
    const { stat } = entry;
    const header: TarWriteHeader = { name: entry.rel, type: 'file', mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: Math.floor(stat.mtimeMs / 1000) };
    const earlier = links.seen(entry);
    if (earlier !== undefined) yield encodeTarHeader({ ...header, type: 'hardlink', linkname: earlier });
    else if (stat.isDirectory()) yield encodeTarHeader({ ...header, name: `${entry.rel}/`, type: 'dir' });
    else if (stat.isSymbolicLink()) yield encodeTarHeader({ ...header, type: 'symlink', linkname: await fs.readlink(entry.abs) });
    else if (stat.isFile()) yield* tarFileEntry(entry.abs, header, stat.size);
  }
  yield TAR_END;
}
