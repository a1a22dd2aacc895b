import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Address blocks for tests that choose subnets themselves. Test files run in several processes
 * at once, so a block is reserved host-wide — an exclusively created file naming the reserving
 * process — not merely found unused: two files that looked at the host's addresses at the same
 * moment would otherwise both take the same block (one then gets "overlaps an address already
 * in use"). The range is 10.212.0.0/14, which exists only inside bridges the tests make.
 */
export interface TestBlock {
  /** The first three octets of the i-th /24 of the block (0-15). */
  net(i: number): string;
  /** `${net(i)}.0/24`. */
  subnet(i: number): string;
  /** Give the block back (afterAll). */
  release(): void;
}

const RESERVATIONS = '/tmp/ctr-test-subnets';
const BLOCKS = 64;

function prefixOf(block: number): (i: number) => string {
  return (i) => `10.${212 + Math.floor(block / 16)}.${(block % 16) * 16 + i}`;
}

/** The PID a reservation names; undefined while it cannot be read (gone, or replaced meanwhile). */
function holder(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Take `file` for this process: the PID is written aside and linked into place, so a
 * reservation is never seen empty; one whose process has gone (killed mid-file) is taken over
 * by renaming it away first, which one process alone can do.
 */
function reserve(file: string): boolean {
  const mine = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(mine, String(process.pid));
  try {
    for (let tries = 0; tries < 3; tries++) {
      try {
        linkSync(mine, file);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const pid = holder(file);
      if (pid !== undefined && existsSync(`/proc/${pid}`)) return false;
      if (pid === undefined) continue;
      const stale = `${mine}.stale`;
      try {
        renameSync(file, stale);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      // Renamed away after another process took it over: that one's reservation goes back.
      if (holder(stale) === pid) rmSync(stale, { force: true });
      else renameSync(stale, file);
    }
    return false;
  } finally {
    rmSync(mine, { force: true });
  }
}

/** A /20 of 10.212.0.0/14 that no other test holds and no address of which is on the host. */
export function reserveTestBlock(): TestBlock {
  mkdirSync(RESERVATIONS, { recursive: true });
  for (let tries = 0; tries < BLOCKS * 4; tries++) {
    const block = Math.floor(Math.random() * BLOCKS);
    const file = path.join(RESERVATIONS, String(block));
    if (!reserve(file)) continue;
    const prefix = prefixOf(block);
    const used = execFileSync('ip', ['-4', '-o', 'addr', 'show']).toString();
    if (Array.from({ length: 16 }, (_, i) => prefix(i)).some((p) => used.includes(` ${p}.`))) {
      rmSync(file, { force: true });
      continue;
    }
    return { net: prefix, subnet: (i) => `${prefix(i)}.0/24`, release: () => rmSync(file, { force: true }) };
  }
  throw new Error(`no free test address block in 10.212.0.0/14 (reservations: ${RESERVATIONS})`);
}
