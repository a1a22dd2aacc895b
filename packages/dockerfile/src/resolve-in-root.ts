import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { invalidArgument } from '@ctr/errors';

const MAX_SYMLINKS = 255;

/**
 * Resolve a path inside `root` the way a chroot would see it: `..` stops at the root and
 * symlinks (absolute or relative) are re-rooted, so nothing resolves outside the root
 * (SECURITY-CASES B3). Missing components are kept as written. With `followFinal` false the
 * last component is not followed when it is a symlink (so it can be copied as a link).
 * Returns the path relative to the root, without a leading slash ('' is the root itself).
 */
export async function resolveInRoot(root: string, target: string, followFinal = true): Promise<string> {
  let pending = target.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, part];
    const isFinal = pending.length === 0;
    let link: string | undefined;
    try {
      const st = await fs.lstat(path.join(root, ...candidate));
      if (st.isSymbolicLink() && (!isFinal || followFinal)) link = await fs.readlink(path.join(root, ...candidate));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
    }
    if (link === undefined) {
      resolved.push(part);
      continue;
    }
    if (++hops > MAX_SYMLINKS) throw invalidArgument(`too many levels of symbolic links resolving ${target}`);
    const linkParts = link.split('/').filter((p) => p !== '' && p !== '.');
    if (link.startsWith('/')) resolved.length = 0;
    pending = [...linkParts, ...pending];
  }
  return resolved.join('/');
}
