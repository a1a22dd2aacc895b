import { promises as fs, statfsSync } from 'node:fs';
import path from 'node:path';

/** The free blocks left on the filesystem holding `dir`. */
export function freeBlocks(dir: string): number {
  return statfsSync(dir).bfree;
}

/**
 * Fill the filesystem holding `disk` to its last block with one file, `<disk>/fill` (removing
 * it frees the space again): in big writes, then block by block.
 */
export async function fillDisk(disk: string): Promise<void> {
  const file = await fs.open(path.join(disk, 'fill'), 'w');
  try {
    for (const size of [1 << 20, 4096]) {
      for (;;) {
        try {
          await file.write(Buffer.alloc(size));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    await file.close();
  }
  if (freeBlocks(disk) !== 0) throw new Error(`${disk} still has ${freeBlocks(disk)} free blocks after filling`);
}
