import { closeSync, constants as fsc, fstatSync, lstatSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { invalidArgument } from '@ctr/errors';

const MAX_LINKS = 40;

/**
 * Resolve `target` (a path as the container sees it) to a host path inside `root`,
 * following symlinks as the container would: an absolute link restarts at `root`, `..`
 * stops at `root`. Nothing outside the root filesystem is ever reached.
 * Returns undefined when a component does not exist. A few lstats on a mounted image, made
 * directly (every container create resolves its user this way).
 */
export async function resolveInRoot(root: string, target: string): Promise<string | undefined> {
  const pending = target.split('/').filter((c) => c !== '' && c !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = path.join(root, ...resolved, part);
    let stat;
    try {
      stat = lstatSync(host);
    } catch {
      return undefined;
    }
    if (!stat.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw invalidArgument(`too many levels of symbolic links resolving ${target} in the container`);
    const link = readlinkSync(host);
    if (link.startsWith('/')) resolved.length = 0;
    pending.unshift(...link.split('/').filter((c) => c !== '' && c !== '.'));
  }
  return path.join(root, ...resolved);
}

/**
 * Read a small text file of the container (`/etc/passwd`) safely: resolved inside the
 * root, opened without following a final symlink, and only if it is a regular file.
 */
export async function readFileInRoot(root: string, target: string, limit = 4 * 1024 * 1024): Promise<string | undefined> {
  const host = await resolveInRoot(root, target);
  if (host === undefined) return undefined;
  let fd;
  try {
    fd = openSync(host, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return undefined;
    if (stat.size > limit) throw invalidArgument(`${target} in the container is larger than ${limit} bytes`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
