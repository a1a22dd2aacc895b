import type { Stats } from 'node:fs';
import path from 'node:path';
import { invalidArgument, notFound } from '@ctr/errors';
import { resolveInRoot } from '@ctr/image';

/**
 * A path inside a container, resolved the way the container itself would see it (by
 * @ctr/image's `resolveInRoot`: `..` stops at the root, symlinks are re-rooted). This is the
 * trust boundary of `docker cp` (SECURITY-CASES §2 C1/C4): `abs` names a host path below the
 * root with no symlink left in it (except the last component when `followLast` is false).
 */
export interface ContainerPath {
  /** Host path of the resolved components. */
  abs: string;
  /** Resolved path inside the container, absolute (`/etc/passwd`). */
  inside: string;
  /** What is there (lstat), or undefined when the last component does not exist. */
  stat: Stats | undefined;
  /** Whether the path is on a bind mount or volume rather than the rootfs. */
  mounted: boolean;
  readOnly: boolean;
}

/** A host directory mounted into the container (a bind mount or a volume). */
export interface MountedDir {
  source: string;
  target: string;
  readOnly?: boolean;
}

/**
 * Resolve `target` below `root` as `docker cp` does: a missing directory on the way is a
 * NotFound, a file used as a directory an InvalidArgument (so is a symlink loop); a missing
 * last component is a result without `stat`.
 */
function resolveForCp(root: string, target: string, followLast: boolean): { abs: string; inside: string; stat: Stats | undefined } {
  const resolved = resolveInRoot(root, target, { followLast });
  const problem = resolved.unresolved;
  if (problem?.reason === 'missing') throw notFound(`Could not find the file /${problem.at} in container`);
  if (problem) throw invalidArgument(`/${problem.at} is not a directory`);
  return { abs: resolved.abs, inside: `/${resolved.rel}`, stat: resolved.stat };
}

/**
 * Which filesystem a container path lives on: the rootfs, or a bind mount / volume whose
 * target is the longest prefix of the path (`..` resolved first, lexically, at the root).
 * A path under a mount is resolved inside the mount's source, so its links never leave it.
 */
export function containerPath(rootfs: string, mounts: readonly MountedDir[], target: string, options: { followLast: boolean }): ContainerPath {
  const normalized = path.posix.resolve('/', target);
  const mount = [...mounts]
    .filter((m) => normalized === m.target || normalized.startsWith(`${m.target.replace(/\/$/, '')}/`))
    .sort((a, b) => b.target.length - a.target.length)[0];
  if (!mount) return { ...resolveForCp(rootfs, normalized, options.followLast), mounted: false, readOnly: false };
  const rest = normalized.slice(mount.target.replace(/\/$/, '').length) || '/';
  const resolved = resolveForCp(mount.source, rest, options.followLast);
  const inside = `${mount.target.replace(/\/$/, '')}${resolved.inside === '/' ? '' : resolved.inside}` || '/';
  return { ...resolved, inside, mounted: true, readOnly: mount.readOnly === true };
}
