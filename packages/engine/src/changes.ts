import { promises as fs } from 'node:fs';
import { resolveInRoot } from '@ctr/image';
import type { ContainerRecord } from './container-records';
import type { EngineContext } from './context';
import { INIT_FILES } from './init-files';

/** One line of `docker diff`: Kind 0 modified (`C`), 1 added (`A`), 2 deleted (`D`). */
export interface FilesystemChange {
  Path: string;
  Kind: 0 | 1 | 2;
}

const MODIFIED = 0;
const ADDED = 1;
const DELETED = 2;

/** Kernel filesystems' mount points the runtime makes when an image lacks them: not changes either. */
const INIT_DIRS = new Set(['/proc', '/sys', '/dev']);

/**
 * `docker diff`: what the container changed, read from its overlay upper directory the way
 * Docker's overlay2 driver does. A 0/0 character device is a deletion; anything else is a
 * modification when a lower layer has the path and an addition when none does. Lower layers
 * are looked up inside their own roots, so their symlinks never lead out of them.
 */
export async function containerChanges(ctx: EngineContext, record: ContainerRecord): Promise<FilesystemChange[]> {
  const upper = await ctx.store.snapshots.upperDir(record.snapshot);
  const lowers = lowerDirs(await ctx.store.snapshots.mounts(record.snapshot));
  const inLower = (rel: string): boolean =>
    lowers.some((lower) => {
      try {
        return resolveInRoot(lower, rel, { followLast: false }).stat !== undefined;
      } catch {
        // a symlink loop on the way: nothing can be there
        return false;
      }
    });
  const isInit = (child: string, kind: number): boolean => INIT_FILES.has(child.slice(1)) || (INIT_DIRS.has(child) && kind === ADDED);
  const out: FilesystemChange[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = await fs.readdir(rel === '' ? upper : `${upper}${rel}`).catch(() => [] as string[]);
    for (const name of names) {
      const child = `${rel}/${name}`;
      const stat = await fs.lstat(`${upper}${child}`);
      if (stat.isCharacterDevice() && stat.rdev === 0) {
        out.push({ Path: child, Kind: DELETED });
        continue;
      }
      const kind = inLower(child) ? MODIFIED : ADDED;
      if (isInit(child, kind)) continue;
      if (stat.isDirectory()) {
        const inside = await fs.readdir(`${upper}${child}`);
        // A directory copied up only because init entries were made in it is not a change.
        if (kind === MODIFIED && inside.length > 0 && inside.every((n) => isInit(`${child}/${n}`, inLower(`${child}/${n}`) ? MODIFIED : ADDED))) continue;
        out.push({ Path: child, Kind: kind });
        await walk(child);
        continue;
      }
      out.push({ Path: child, Kind: kind });
    }
  };
  await walk('');
  return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}

/** The overlay mount's `lowerdir=` list (top first); a snapshot with no parent is a bind mount and has none. */
function lowerDirs(mounts: ReadonlyArray<{ type: string; options: string[] }>): string[] {
  const overlay = mounts.find((m) => m.type === 'overlay');
  const option = overlay?.options.find((o) => o.startsWith('lowerdir='));
  return option ? option.slice('lowerdir='.length).split(':') : [];
}
