import { closeSync, existsSync, openSync, renameSync, rmSync, statfsSync, writeSync } from 'node:fs';
import path from 'node:path';
import { diskFull } from './fs-util';

/** Enough for any table the store rewrites many times over. */
const RESERVE_BYTES = 1 << 20;

/**
 * Space set aside under the store's root, as a file of that size. Rewriting a table (the
 * snapshots', the images') writes the new one before the old one's blocks are freed, so on a
 * full disk even a removal — what a user does to get space back — would fail for want of a
 * block. A removal gives the reserve up and tries again; the store sets it aside anew when it
 * next opens with room to spare.
 */
export class SpaceReserve {
  constructor(private readonly file: string) {}

  /** Set the space aside if it is not, when the disk has room for it and more. Best effort. */
  ensure(): void {
    if (existsSync(this.file)) return;
    try {
      const { bavail, bsize } = statfsSync(path.dirname(this.file));
      // Never the last of a nearly full disk: what a removal freed stays free.
      if (bavail * bsize < 8 * RESERVE_BYTES) return;
      // Written, not truncated to size (a sparse file would hold no blocks), then renamed: a
      // reserve cut short (a kill, a full disk) is never taken for a whole one.
      const temp = `${this.file}.${process.pid}`;
      try {
        const fd = openSync(temp, 'w', 0o600);
        try {
          writeSync(fd, Buffer.alloc(RESERVE_BYTES));
        } finally {
          closeSync(fd);
        }
        renameSync(temp, this.file);
      } finally {
        rmSync(temp, { force: true });
      }
    } catch {
      // Nothing set aside: a removal on a full disk may then fail, as it would without a reserve.
    }
  }

  /**
   * Run `fn`, a write that frees more than it takes (a removal's table rewrite); on a full disk,
   * once more with the reserve given up.
   */
  async freeing<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (!diskFull(error, 'removing') || !this.giveUp()) throw error;
      const result = await fn();
      // Set aside again if what was removed left room enough, for the next removal.
      this.ensure();
      return result;
    }
  }

  private giveUp(): boolean {
    try {
      rmSync(this.file);
      return true;
    } catch {
      return false;
    }
  }
}

/** `fn` run as a removal's write: through `reserve` when there is one. */
export function freeingSpace<T>(reserve: SpaceReserve | undefined, fn: () => Promise<T>): Promise<T> {
  return reserve ? reserve.freeing(fn) : fn();
}
