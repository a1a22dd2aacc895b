import { promises as fs, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { aborted } from '@ctr/errors';
import { TAR_END, encodeTarHeader, tarFileEntry, type TarEntryType, type TarWriteHeader } from '@ctr/image';

export interface TarTreeOptions {
  signal?: AbortSignal;
  /** Run once: at the archive's end, on failure, or when the stream is destroyed unread. */
  onDone?: () => Promise<void>;
  /**
   * Host paths the walk reaches (a container's mount points) mapped to what is mounted there,
   * which is read in their place — listed even where the directory below has no such entry.
   */
  mounts?: ReadonlyMap<string, string>;
}

/**
 * A tar stream of one host path (a file, link or whole directory) whose entries are named
 * under `prefix`, as `docker cp` produces them (`etc/`, `etc/passwd`, …; `/`, `/bin/`, … for
 * the prefix `/`). Nothing is followed: links are stored as links, files are opened with
 * O_NOFOLLOW, and a path that changes type while it is read is skipped rather than trusted.
 * Contents are streamed.
 */
export function tarTree(abs: string, prefix: string, options: TarTreeOptions = {}): Readable {
  return tarTrees([{ path: abs, name: prefix }], options);
}

/**
 * `tarTree` of several host paths in one archive, in order, each under its own name (what
 * compose's watch sends: every changed file at its place in the container, one extraction).
 * A path that is gone by the time it is read is left out.
 */
export function tarTrees(roots: readonly { path: string; name: string }[], options: TarTreeOptions = {}): Readable {
  const given = options.onDone;
  let done: Promise<void> | undefined;
  const onDone = given && ((): Promise<void> => (done ??= given()));
  const tar = Readable.from(finishing(entries(roots, options.signal, options.mounts ?? new Map()), onDone), { objectMode: false, highWaterMark: 1 << 20 });
  // A stream destroyed before it was first read never runs the generator, nor its finally.
  if (onDone) tar.once('close', () => void onDone().catch(() => undefined));
  return tar;
}

/**
 * Awaits `onDone` once the last file has been read and before the end-of-archive blocks go
 * out (so a reader that saw the end sees what `onDone` did), or on failure.
 */
async function* finishing(chunks: AsyncGenerator<Buffer>, onDone: (() => Promise<void>) | undefined): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of chunks) {
      if (chunk === TAR_END) await onDone?.();
      yield chunk;
    }
  } finally {
    await onDone?.();
  }
}

function typeOf(stat: Stats): TarEntryType | undefined {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isCharacterDevice()) return 'char';
  if (stat.isBlockDevice()) return 'block';
  if (stat.isFIFO()) return 'fifo';
  return undefined; // sockets: docker skips them too
}

async function* entries(roots: readonly { path: string; name: string }[], signal: AbortSignal | undefined, mounts: ReadonlyMap<string, string>): AsyncGenerator<Buffer> {
  const links = new Map<string, string>();
  // Popped from the end: the first root goes last onto the stack.
  const stack: Array<{ abs: string; name: string }> = roots.map((root) => ({ abs: root.path, name: root.name })).reverse();
  while (stack.length > 0) {
    if (signal?.aborted) throw aborted(signal, 'reading the archive');
    const { abs: path, name } = stack.pop() as { abs: string; name: string };
    const stat = await fs.lstat(path).catch(() => undefined);
    const type = stat && typeOf(stat);
    if (!stat || !type) continue;
    const header: TarWriteHeader = {
      name: type === 'dir' ? `${name || '.'}/`.replace(/^\/\/$/, '/') : name,
      type,
      mode: stat.mode & 0o7777,
      uid: stat.uid,
      gid: stat.gid,
      mtime: Math.floor(stat.mtimeMs / 1000),
    };
    if (type === 'symlink') header.linkname = await fs.readlink(path);
    if (type === 'char' || type === 'block') {
      header.devmajor = (stat.rdev >> 8) & 0xfff;
      header.devminor = (stat.rdev & 0xff) | ((stat.rdev >> 12) & 0xfff00);
    }
    if (type === 'file' && stat.nlink > 1) {
      const key = `${stat.dev}:${stat.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        yield encodeTarHeader({ ...header, type: 'hardlink', linkname: first });
        continue;
      }
      links.set(key, name);
    }
    if (type === 'file') {
      yield* tarFileEntry(path, header, stat.size);
      continue;
    }
    yield encodeTarHeader(header);
    if (type === 'dir') {
      const children = new Set(await fs.readdir(path).catch(() => [] as string[]));
      for (const point of mounts.keys()) if (dirname(point) === path) children.add(basename(point));
      for (const child of [...children].sort().reverse()) {
        const childPath = `${path}/${child}`;
        stack.push({ abs: mounts.get(childPath) ?? childPath, name: name === '' ? child : `${name.replace(/\/$/, '')}/${child}` });
      }
    }
  }
  yield TAR_END;
}
