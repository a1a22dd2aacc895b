import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { throwIfAborted } from '@ctr/errors';

const gone = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * The bytes of a layer's directory as dockerd counts them (moby's `directory.Size`): every
 * entry but directories at its apparent size — a symlink's is its target's length, a
 * whiteout's 0 — a file with several links once, and what a running container removes
 * during the walk not at all. A container's writable layer so measured is its `SizeRw`; an
 * image's layers, at unpack, make its size (`LAYER_SIZE_LABEL`).
 */
export async function layerSize(dir: string, signal?: AbortSignal): Promise<number> {
  const seen = new Set<number>();
  let size = 0;
  const pending = [dir];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    throwIfAborted(signal, `measuring ${dir}`);
    const current = next;
    let entries: Dirent[];
    try {
      entries = await fs.readdir(current, { withFileTypes: true });
    } catch (error) {
      if (current !== dir && gone(error)) continue;
      throw error;
    }
    const files: string[] = [];
    for (const entry of entries) (entry.isDirectory() ? pending : files).push(path.join(current, entry.name));
    const stats = await Promise.all(files.map((file) => fs.lstat(file).catch((error: unknown) => (gone(error) ? undefined : Promise.reject(error)))));
    for (const stat of stats) {
      if (!stat || stat.size === 0 || seen.has(stat.ino)) continue;
      // Only a file with other links can be met again: the others need not be remembered.
      if (stat.nlink > 1) seen.add(stat.ino);
      size += stat.size;
    }
  }
  return size;
}
