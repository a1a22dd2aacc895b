import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { invalidArgument, notFound } from '@ctr/errors';

/**
 * A path inside a container's root, resolved the way the container itself would see it:
 * `..` stops at the root and every symlink is re-rooted (an absolute target starts again at
 * the root, never at the host's `/`). This is the trust boundary of `docker cp`
 * (SECURITY-CASES §2 C1/C4): the result names a host path below `root` with no symlink left
 * in it (except the last component when `followLast` is false).
 */
export interface RootPath {
  /** Host path: `root` joined with the resolved components. */
  abs: string;
  /** Resolved path inside the container, absolute (`/etc/passwd`). */
  inside: string;
  /** What is there (lstat), or undefined when the last component does not exist. */
  stat: Stats | undefined;
}

const MAX_SYMLINKS = 40;

function components(text: string): string[] {
  return text.split('/').filter((part) => part !== '' && part !== '.');
}

/**
 * Resolve `target` (a path inside the container) below `root`. Missing directories on the
 * way are a NotFound; a file used as a directory is an InvalidArgument; so is a symlink loop.
 */
export function resolveInRoot(root: string, target: string, options: { followLast: boolean }): RootPath {
  if (target.includes('\0')) throw invalidArgument(`path "${target.replace(/\0/g, '\\0')}" contains a NUL byte`);
  const resolved: string[] = [];
  const pending = components(target);
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const rel = [...resolved, part];
    const abs = `${root}/${rel.join('/')}`;
    const last = pending.length === 0;
    let stat: Stats;
    try {
      stat = lstatSync(abs);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && last) return { abs, inside: `/${rel.join('/')}`, stat: undefined };
      if (code === 'ENOENT') throw notFound(`Could not find the file /${rel.join('/')} in container`);
      if (code === 'ENOTDIR') throw invalidArgument(`/${resolved.join('/')} is not a directory`);
      throw error;
    }
    if (stat.isSymbolicLink() && (!last || options.followLast)) {
      if (++links > MAX_SYMLINKS) throw invalidArgument(`too many levels of symbolic links resolving ${target}`);
      const link = readlinkSync(abs);
      if (link.startsWith('/')) resolved.length = 0;
      pending.unshift(...components(link));
      continue;
    }
    if (!last && !stat.isDirectory()) throw invalidArgument(`/${rel.join('/')} is not a directory`);
    resolved.push(part);
    if (last) return { abs, inside: `/${resolved.join('/')}`, stat };
  }
  return { abs: root, inside: '/', stat: lstatSync(root) };
}

/** A host directory mounted into the container (a bind mount or a volume). */
export interface MountedDir {
  source: string;
  target: string;
  readOnly?: boolean;
}

/**
 * Which filesystem a container path lives on: the rootfs, or a bind mount / volume whose
 * target is the longest prefix of the path (`..` resolved first, lexically, at the root).
 * A path under a mount is resolved inside the mount's source, so its links never leave it.
 */
export function containerPath(rootfs: string, mounts: readonly MountedDir[], target: string, options: { followLast: boolean }): RootPath & { mounted: boolean; readOnly: boolean } {
  const parts: string[] = [];
  for (const part of components(target)) {
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  const normalized = `/${parts.join('/')}`;
  const mount = [...mounts]
    .filter((m) => normalized === m.target || normalized.startsWith(`${m.target.replace(/\/$/, '')}/`))
    .sort((a, b) => b.target.length - a.target.length)[0];
  if (!mount) return { ...resolveInRoot(rootfs, normalized, options), mounted: false, readOnly: false };
  const rest = normalized.slice(mount.target.replace(/\/$/, '').length) || '/';
  const resolved = resolveInRoot(mount.source, rest, options);
  const inside = `${mount.target.replace(/\/$/, '')}${resolved.inside === '/' ? '' : resolved.inside}` || '/';
  return { ...resolved, inside, mounted: true, readOnly: mount.readOnly === true };
}
