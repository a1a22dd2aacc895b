import { closeSync, fsync, promises as fs, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { CtrError, isCtrError, noSpaceLeft } from '@ctr/errors';
import { holderRuns, processAlive, thisProcess, type ProcessHolder } from './holder';

/** Prefix of every temporary file or directory the store makes; fsck removes leftovers with it. */
export const TEMP_PREFIX = '.tmp-';

/**
 * Prefix of a tree on its way out: renamed so in one step, then deleted by the process its
 * name gives (`trashName`), which may outlive the one that removed it (the mount relay).
 */
export const TRASH_PREFIX = '.trash-';

/** A temporary name in `dir` that says whose it is: `.tmp-<pid>-<start time>-<hex>`. */
export function tempName(dir: string): string {
  return heldName(dir, TEMP_PREFIX, thisProcess());
}

/** A name in `dir` for a tree that `deleter` deletes: `.trash-<pid>-<start time>-<hex>`. */
export function trashName(dir: string, deleter: ProcessHolder): string {
  return heldName(dir, TRASH_PREFIX, deleter);
}

function heldName(dir: string, prefix: string, { pid, startTime }: ProcessHolder): string {
  return path.join(dir, `${prefix}${pid}-${startTime}-${uniqueHex()}`);
}

/**
 * Whether the temporary file or trash `name` (a `tempName`'s or `trashName`'s base name) was
 * left by a process that has ended. Temporary names made before they carried a start time
 * (`.tmp-<pid>-<hex>`) go by the PID alone.
 */
export function abandonedTemp(name: string): boolean {
  const prefix = [TEMP_PREFIX, TRASH_PREFIX].find((p) => name.startsWith(p));
  if (prefix === undefined) return false;
  const [pid, startTime, hex] = name.slice(prefix.length).split('-');
  const holder: ProcessHolder = { pid: Number(pid), startTime: startTime ?? '' };
  if (!Number.isSafeInteger(holder.pid) || holder.pid <= 0) return true;
  return hex === undefined ? !processAlive(holder.pid) : !holderRuns(holder);
}

/**
 * 12 hex characters for a name beside this process's ID (a temporary file, a lock's
 * token), which must differ from every other such name, not be secret. Math.random, which
 * V8 seeds from the kernel's random source: loading node:crypto costs every `ctr run` ≈ 3 ms.
 */
export function uniqueHex(): string {
  return Math.floor(Math.random() * 2 ** 48)
    .toString(16)
    .padStart(12, '0');
}

/*
 * The store's metadata files are small. Opening, writing, renaming and reading them only
 * touches the page cache, so those calls are made directly: each takes microseconds, where a
 * round trip through libuv's four-thread pool costs a few hundred, and starting or removing
 * a container makes dozens of them in a row. fsync waits for the disk and stays off the
 * event loop.
 */
const fsyncFd = promisify(fsync);

/** Make a directory entry change (create, rename, unlink) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replace `file` with `data` so that a crash at any instant leaves either the old or the new
 * contents: write a temp file beside it, fsync, rename over, fsync the directory. `mode` is
 * the new file's (default 0644: a secret wants 0600). `durable: false` skips the syncs, for
 * records a machine crash may lose without harm: other processes still see a whole file.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: { mode?: number; durable?: boolean } = {},
): Promise<void> {
  const durable = options.durable ?? true;
  const dir = path.dirname(file);
  const temp = tempName(dir);
  try {
    const fd = openSync(temp, 'wx', options.mode ?? 0o644);
    try {
      writeFileSync(fd, data);
      if (durable) await fsyncFd(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw storageError(error, `writing ${file}`);
  }
  if (durable) await fsyncDir(dir);
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined;
    throw storageError(error, `reading ${file}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new CtrError('Internal', `${file} is corrupt (not valid JSON)`, {
      cause: error,
      hint: 'run fsck on the store; restore the file from a backup if fsck cannot repair it',
    });
  }
}

/** Unlink `file` in one system call; whether it was there (of processes racing to remove it, one took it). */
export function unlinkIfPresent(file: string): boolean {
  try {
    unlinkSync(file);
    return true;
  } catch (error) {
    if (errno(error) === 'ENOENT') return false;
    throw error;
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (error) {
    if (errno(error) === 'ENOENT') return false;
    throw storageError(error, `checking ${file}`);
  }
}

export function errno(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/**
 * ResourceExhausted when the disk is full, found anywhere in the error's `cause` chain (other
 * packages wrap the ENOSPC they hit), in the words every full disk gets (`noSpaceLeft`), saying
 * what the store was doing; undefined for any other error.
 */
export function diskFull(error: unknown, what: string): CtrError | undefined {
  return noSpaceLeft(error, undefined, what);
}

/** Turn a filesystem error into a CtrError a person can act on (ENOSPC → ResourceExhausted). */
export function storageError(error: unknown, what: string): CtrError {
  if (isCtrError(error)) return error;
  const full = diskFull(error, what);
  if (full) return full;
  const text = error instanceof Error ? error.message : String(error);
  switch (errno(error)) {
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new CtrError('Denied', `permission denied while ${what}: ${text}`, { cause: error });
    case 'ENOENT':
      return new CtrError('NotFound', `${what}: ${text}`, { cause: error });
    default:
      return new CtrError('Internal', `${what}: ${text}`, { cause: error });
  }
}

/**
 * Bytes under `dir` as moby's directory.Size counts them, dockerd's one measure of a volume (its
 * size in `docker system df -v`, what its prune reclaims): the apparent size of everything but
 * directories (a symlink's own), each inode once; what vanishes meanwhile counts nothing.
 */
export async function apparentSize(dir: string): Promise<number> {
  const seen = new Set<number>();
  const visit = async (p: string): Promise<number> => {
    const st = await fs.lstat(p).catch((error: unknown) => {
      if (p !== dir && errno(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (st?.isDirectory()) {
      let total = 0;
      for (const entry of await fs.readdir(p).catch(() => [])) total += await visit(path.join(p, entry));
      return total;
    }
    if (!st || seen.has(st.ino)) return 0;
    seen.add(st.ino);
    return st.size;
  };
  return visit(dir);
}

/** Total bytes of regular files under `dir` (hardlinked files counted once). */
export async function diskUsage(dir: string): Promise<{ size: number; inodes: number }> {
  const seen = new Set<number>();
  let size = 0;
  let inodes = 0;
  const visit = async (p: string): Promise<void> => {
    const st = await fs.lstat(p);
    if (seen.has(st.ino)) return;
    seen.add(st.ino);
    inodes++;
    if (st.isDirectory()) {
      for (const entry of await fs.readdir(p)) await visit(path.join(p, entry));
    } else {
      size += st.blocks * 512;
    }
  };
  await visit(dir);
  return { size, inodes };
}
