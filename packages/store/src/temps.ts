import { promises as fs } from 'node:fs';
import path from 'node:path';
import { abandonedTemp, diskUsage, errno, storageError } from './fs-util';
import { mountPoints } from './mount';

/** The temporary files and directories (and trash) in `dir` whose makers (deleters) have ended (`abandonedTemp`). */
export async function abandonedTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    if (errno(error) === 'ENOENT') return [];
    throw storageError(error, `listing ${dir}`);
  }
  return names.filter(abandonedTemp).map((name) => path.join(dir, name));
}

/**
 * Remove what killed processes left in `dirs` (`abandonedTemps`); the bytes freed. One with
 * something mounted in it stays (removing through a mount would reach what it shows), and so
 * does one that will not go: the next call tries again, and what asked goes on.
 */
export async function removeAbandonedTemps(dirs: readonly string[]): Promise<number> {
  let freed = 0;
  let mounted: string[] | undefined;
  for (const dir of dirs) {
    for (const temp of await abandonedTemps(dir)) {
      mounted ??= await mountPoints();
      if (mountedIn(temp, mounted)) continue;
      const { size } = await diskUsage(temp).catch(() => ({ size: 0 }));
      if (await fs.rm(temp, { recursive: true, force: true }).then(() => true, () => false)) freed += size;
    }
  }
  return freed;
}

/** Whether one of `points` (`mountPoints()`) is `dir` or inside it: deleting `dir` would reach what it shows. */
export function mountedIn(dir: string, points: readonly string[]): boolean {
  return points.some((point) => point === dir || point.startsWith(`${dir}/`));
}
