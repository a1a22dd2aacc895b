import { closeSync, constants as fsc, fstatSync, openSync, promises as fs, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { invalidArgument, type CtrError } from '@ctr/errors';
import { errno, storageError } from './fs-util';
import { run } from './exec';
import { unmount } from './mount';

/*
 * Reaching a path below a directory that someone else may change meanwhile — a volume a
 * running container has whole, a cache another build step shares — without ever leaving it.
 * A check of the path's components followed by a use of the path as a string leaves a window
 * in which a component can become a symbolic link to anywhere on the host. Here each
 * component is opened alone, relative to the descriptor of its parent and without following
 * a link (openat with O_NOFOLLOW: Node has no openat, and `/proc/self/fd/<fd>/<name>` is one),
 * and every use goes through the descriptor of what was checked.
 */

/** Linux's O_PATH, which Node's constants lack: a handle to an inode that reads nothing (a FIFO's open does not wait). */
const O_PATH = 0o10000000;

/**
 * Why a path could not be reached: a component is missing (or below a non-directory), a
 * symbolic link, or the end is no directory when one is wanted; or, once mounted, what is
 * mounted is not what was reached (`bindBeneath`).
 */
export type WalkProblem = 'missing' | 'symlink' | 'not-a-directory' | 'changed';

/** What a caller says, in its own words, for each problem. */
export type RefuseWalk = (problem: WalkProblem) => CtrError;

/** A path reached below a root: a descriptor of it (O_PATH) and what it is. Closed by `close`. */
export interface Beneath {
  readonly fd: number;
  readonly stat: Stats;
  /** `/proc/self/fd/<fd>`: the checked inode by path, for this process's calls only. */
  readonly handle: string;
  close(): void;
}

/**
 * The components of a relative path inside a volume or cache (`a/./b/` → `a`, `b`). A `..`
 * or an absolute path is refused: either could name something outside, whatever the walk
 * checks.
 */
export function pathComponents(relative: string): string[] {
  if (relative.startsWith('/')) throw invalidArgument(`invalid subpath ${relative}: must be relative`, { hint: 'a subpath names a directory or file inside the volume' });
  const parts = relative.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw invalidArgument(`invalid subpath ${relative}: must not contain ".."`, { hint: 'a subpath names a directory or file inside the volume' });
  return parts;
}

/**
 * Open `relative` below `root` one component at a time, never following a symbolic link;
 * `refuse` words the failure. `root` itself is the caller's own, trusted, directory. With
 * `directory`, the end must be a directory.
 */
export function openBeneath(root: string, relative: string, refuse: RefuseWalk, options: { directory?: boolean } = {}): Beneath {
  const parts = pathComponents(relative);
  let fd = openSync(root, O_PATH | fsc.O_DIRECTORY);
  try {
    let stat = fstatSync(fd);
    for (const part of parts) {
      if (!stat.isDirectory()) throw refuse('missing');
      let next: number;
      try {
        next = openSync(`/proc/self/fd/${fd}/${part}`, O_PATH | fsc.O_NOFOLLOW);
      } catch (error) {
        if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') throw refuse('missing');
        throw storageError(error, `opening ${path.join(root, relative)}`);
      }
      closeSync(fd);
      fd = next;
      stat = fstatSync(fd);
      if (stat.isSymbolicLink()) throw refuse('symlink');
    }
    if (options.directory && !stat.isDirectory()) throw refuse('not-a-directory');
    const opened = fd;
    return { fd, stat, handle: `/proc/self/fd/${fd}`, close: () => closeSync(opened) };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Run `fn` with `relative` below `root` opened as a directory that may be read and changed
 * (fchown, fsync, entries by `<handle>/<name>`, where only `<name>` is looked up and never
 * followed as the last component of a rename, link or lstat). Closed after.
 */
export async function withDirectoryBeneath<T>(root: string, relative: string, refuse: RefuseWalk, fn: (dir: fs.FileHandle, handle: string) => Promise<T>): Promise<T> {
  const beneath = openBeneath(root, relative, refuse, { directory: true });
  let dir: fs.FileHandle;
  try {
    // Reopened through the O_PATH handle: the same inode, now with a descriptor that can change it.
    dir = await fs.open(beneath.handle, fsc.O_RDONLY | fsc.O_DIRECTORY);
  } finally {
    beneath.close();
  }
  try {
    return await fn(dir, `/proc/self/fd/${dir.fd}`);
  } finally {
    await dir.close();
  }
}

/**
 * Bind-mount `relative` below `root` onto `staging` (a path of the caller's, outside `root`),
 * reached without following a symbolic link (`openBeneath`, `bindOpened`). What is then given
 * to anyone (runc) is `staging`, never a path inside `root`. The caller unmounts it.
 */
export async function bindBeneath(root: string, relative: string, staging: string, refuse: RefuseWalk, options: { directory?: boolean } = {}): Promise<Stats> {
  const beneath = openBeneath(root, relative, refuse, options);
  try {
    await bindOpened(beneath, staging, refuse);
  } finally {
    beneath.close();
  }
  return beneath.stat;
}

/**
 * Bind-mount what `beneath` holds onto `staging` (made here: a directory, or an empty file for
 * a file). The mount's source is the descriptor (mount(8) told not to canonicalize it, so the
 * kernel takes that very inode, whatever its path has become); the check after is a second
 * guard, and a mismatch is unmounted and refused with `refuse('changed')`.
 */
export async function bindOpened(beneath: Beneath, staging: string, refuse: RefuseWalk): Promise<void> {
  if (beneath.stat.isDirectory()) await fs.mkdir(staging, { recursive: true, mode: 0o700 });
  else {
    await fs.mkdir(path.dirname(staging), { recursive: true, mode: 0o700 });
    await fs.writeFile(staging, '', { mode: 0o600, flag: 'a' });
  }
  await run('mount', ['--no-canonicalize', '--bind', `/proc/${process.pid}/fd/${beneath.fd}`, staging]);
  const mounted = statSync(staging);
  if (mounted.dev !== beneath.stat.dev || mounted.ino !== beneath.stat.ino) {
    await unmount(staging);
    throw refuse('changed');
  }
}
