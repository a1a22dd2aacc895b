import { promises as fs, type Stats } from 'node:fs';
import { resolveInRoot } from '@ctr/image';
import type { ContainerRecord } from './container-records';
import type { EngineContext } from './context';
import { holdRootfs } from './container-root';
import { containerInitEntries } from './init-entries';

/** One line of `docker diff`: Kind 0 modified (`C`), 1 added (`A`), 2 deleted (`D`). */
export interface FilesystemChange {
  Path: string;
  Kind: 0 | 1 | 2;
}

const MODIFIED = 0;
const ADDED = 1;
const DELETED = 2;

/**
 * `docker diff`: what the container changed, read from its overlay upper directory the way
 * Docker's overlay2 driver does. A 0/0 character device is a deletion; anything else is a
 * modification when a lower layer has the path and an addition when none does. What the
 * runtime made to mount over is no change (`containerInitEntries`), as it is in Docker's init
 * layer, not the container's. The container is held meanwhile, as moby's diff holds its lock:
 * its removal waits for the walk, which never reads a layer being deleted.
 */
export async function containerChanges(ctx: EngineContext, record: ContainerRecord): Promise<FilesystemChange[]> {
  const release = await holdRootfs(ctx, record, 'diffed', { mount: false });
  try {
    return await changesIn(ctx, record);
  } finally {
    await release();
  }
}

async function changesIn(ctx: EngineContext, record: ContainerRecord): Promise<FilesystemChange[]> {
  const upper = await ctx.store.snapshots.upperDir(record.snapshot);
  const below = await lowerEntries(ctx, record.snapshot);
  const init = containerInitEntries(upper, below);
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
      if (init.has(child.slice(1))) continue;
      const kind = below(child) !== undefined ? MODIFIED : ADDED;
      if (stat.isDirectory()) {
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

/**
 * A lookup of a path (relative to the root) in a container's lower layers: its entry in the
 * topmost layer that has it. Each layer is looked in inside its own root, so its symlinks never
 * lead out of it.
 */
export async function lowerEntries(ctx: EngineContext, snapshot: string): Promise<(rel: string) => Stats | undefined> {
  const lowers = lowerDirs(await ctx.store.snapshots.mounts(snapshot));
  return (rel) => {
    for (const lower of lowers) {
      try {
        const { stat } = resolveInRoot(lower, rel, { followLast: false });
        if (stat !== undefined) return stat;
      } catch {
        // a symlink loop on the way: nothing can be there
      }
    }
    return undefined;
  };
}

/** The overlay mount's `lowerdir=` list (top first); a snapshot with no parent is a bind mount and has none. */
function lowerDirs(mounts: ReadonlyArray<{ type: string; options: string[] }>): string[] {
  const overlay = mounts.find((m) => m.type === 'overlay');
  const option = overlay?.options.find((o) => o.startsWith('lowerdir='));
  return option ? option.slice('lowerdir='.length).split(':') : [];
}
