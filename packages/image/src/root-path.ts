import { closeSync, constants as fsc, fstatSync, lstatSync, openSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { invalidArgument } from '@ctr/errors';

/**
 * Paths inside a root directory (a layer, a rootfs, a build context), resolved the way a
 * process chrooted into it would see them: `..` stops at the root and every symlink is
 * re-rooted — an absolute target starts again at the root, never at the host's `/`. This is
 * the rule of SECURITY-CASES §0.1 that every path escape there (T3/T4, B3, C1/C4) comes down to.
 */

/** Linux's MAXSYMLINKS: more links than this on one path is ELOOP. */
const MAX_SYMLINKS = 40;

/**
 * What the walk does with one component (`rel`, relative to the root, with no symlink left
 * above it): a string is a symlink target to follow, `true` takes the component as it is,
 * `false` ends the walk.
 */
export type RootStep = (rel: string, last: boolean) => string | boolean;

function components(text: string): string[] {
  return text.split('/').filter((part) => part !== '' && part !== '.');
}

/**
 * The one walk every resolver of ours runs over `target`'s components, one at a time: `..`
 * pops (never above the root), a followed symlink's target is spliced in front of what is
 * left. Returns the resolved path relative to the root ('' is the root), or undefined when
 * `step` ended the walk.
 */
export function walkInRoot(target: string, step: RootStep): string | undefined {
  const pending = components(target);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const rel = resolved.length === 0 ? part : `${resolved.join('/')}/${part}`;
    const next = step(rel, pending.length === 0);
    if (next === false) return undefined;
    if (next === true) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) {
      throw invalidArgument(`too many levels of symbolic links resolving ${target}`, { details: { path: target, at: rel } });
    }
    if (next.startsWith('/')) resolved.length = 0;
    pending.unshift(...components(next));
  }
  return resolved.join('/');
}

/** A path inside a root, resolved. */
export interface RootPath {
  /** Host path: the root joined with `rel`. No symlink in it, except the last component when it was not followed. */
  abs: string;
  /** The resolved path relative to the root, without a leading slash; '' is the root itself. */
  rel: string;
  /**
   * What is there (lstat). Undefined when nothing is — the last component is missing, or a
   * component before it is (see `unresolved`).
   */
  stat: Stats | undefined;
  /**
   * The first component before the last that is missing or is not a directory, relative to the
   * root: the path names nothing (the kernel's ENOENT / ENOTDIR). The walk went on past it with
   * the remaining components as written, so `rel` is where a `mkdir -p` of the path would lead.
   */
  unresolved?: { at: string; reason: 'missing' | 'not-a-directory' };
}

export interface ResolveInRootOptions {
  /** Follow the last component when it is a symlink (default true); false names the link itself. */
  followLast?: boolean;
  /**
   * Where a resolved path (relative to the root, '' the root itself) is on the host: `root`
   * joined with it by default. A root with other directories mounted into it (a container's
   * volumes) maps the paths below each mount point into the mounted directory.
   */
  hostPath?: (rel: string) => string;
}

/**
 * Resolve `target` (a path as seen from inside `root`; absolute or not, the same) below
 * `root`. Symlink loops and NUL bytes are InvalidArgument; a missing or non-directory
 * component is reported in the result, not thrown, because callers differ on what it means.
 * Synchronous: a few lstats, cheaper than thread-pool round trips.
 */
export function resolveInRoot(root: string, target: string, options: ResolveInRootOptions = {}): RootPath {
  if (target.includes('\0')) throw invalidArgument(`path "${target.replace(/\0/g, '\\0')}" contains a NUL byte`);
  const followLast = options.followLast ?? true;
  const hostPath = options.hostPath ?? ((rel: string): string => (rel === '' ? root : path.join(root, rel)));
  let unresolved: RootPath['unresolved'];
  let taken: { rel: string; stat: Stats | undefined } | undefined;
  const rel = walkInRoot(target, (rel, last) => {
    const stat = lstatQuiet(hostPath(rel));
    if (stat === undefined) {
      if (!last) unresolved ??= { at: rel, reason: 'missing' };
    } else if (stat.isSymbolicLink() && (followLast || !last)) {
      return readlinkSync(hostPath(rel));
    } else if (!last && !stat.isDirectory()) {
      unresolved ??= { at: rel, reason: 'not-a-directory' };
    }
    taken = { rel, stat };
    return true;
  }) as string;
  const abs = hostPath(rel);
  const stat = unresolved ? undefined : taken?.rel === rel ? taken.stat : lstatQuiet(abs);
  return unresolved ? { abs, rel, stat, unresolved } : { abs, rel, stat };
}

/** lstat, or undefined when nothing is there (also below a non-directory). */
function lstatQuiet(abs: string): Stats | undefined {
  try {
    return lstatSync(abs, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/**
 * Read a small text file of a root (`/etc/passwd`) safely: resolved inside the root, opened
 * without following a last symlink (O_NOFOLLOW against a swap after the walk), and only if it
 * is a regular file. Undefined when there is none.
 */
export function readFileInRoot(root: string, target: string, limit = 4 * 1024 * 1024): string | undefined {
  const resolved = resolveInRoot(root, target);
  if (!resolved.stat?.isFile()) return undefined;
  let fd: number;
  try {
    fd = openSync(resolved.abs, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return undefined;
    if (stat.size > limit) throw invalidArgument(`${target} is larger than ${limit} bytes`, { details: { path: target, limit } });
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
