import { lstatSync, readdirSync, readlinkSync, type BigIntStats, type Stats } from 'node:fs';
import { INIT_FILES } from './init-files';

/**
 * The directories the runtime makes in a container's root where the image lacks them, or that
 * overlayfs copies up when the runtime makes INIT_FILES in them (@ctr/runtime's rootfs preparation).
 */
const INIT_DIRS: readonly string[] = ['proc', 'sys', 'dev', 'etc', 'dev/pts', 'dev/shm'];

/** The empty files the runtime makes in every container's root where the image has none, as Docker's init layer has them: a marker, and a mount point. */
const EMPTY_INIT_FILES: ReadonlySet<string> = new Set(['.dockerenv', 'dev/console']);

/** The link the runtime makes where the image has no /etc/mtab, as Docker's init layer has it. */
const MTAB = 'etc/mtab';
const MTAB_TARGET = '/proc/mounts';

/**
 * What the runtime made in a container's upper directory before its process ran: the places
 * runc mounts over (`/etc/hosts`, `/etc/resolv.conf`, `/etc/hostname`; `/proc`, `/sys`, `/dev`
 * and `/etc` where the image lacks them), the rest of Docker's init layer (`/.dockerenv`,
 * `/dev/console`, `/dev/pts`, `/dev/shm`, `/etc/mtab`), and the directories copied up to hold them, each with
 * how it was then. Docker keeps these in an "init layer" beneath the container's own, so a
 * build step's layer never has them; noting them as they were lets the step's layer leave out
 * those the step did not touch since (`untouchedInitEntries`). A container made long before
 * it is committed or diffed has no notes: `containerInitEntries` finds its entries.
 */
export type InitEntries = ReadonlyMap<string, string>;

/** Everything in `upper` now, by path relative to it. Called right after the runtime made the container: a handful of entries. */
export function noteInitEntries(upper: string): InitEntries {
  const noted = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(rel === '' ? upper : `${upper}/${rel}`)) {
      const child = rel === '' ? name : `${rel}/${name}`;
      const stat = lstatSync(`${upper}/${child}`, { bigint: true });
      noted.set(child, signature(stat));
      if (stat.isDirectory()) walk(child);
    }
  };
  walk('');
  return noted;
}

/**
 * The noted entries the step left as they were: a file unchanged, a directory unchanged (a
 * change inside it, even one undone, moves its times) holding nothing but such entries. They
 * are no change of the step's, as they would not be in Docker's container layer.
 */
export function untouchedInitEntries(upper: string, noted: InitEntries): Set<string> {
  return initOnly(upper, noted.keys(), (rel, stat) => signature(stat) === noted.get(rel));
}

/**
 * A container's init entries in its upper directory, without notes (for `commit` and `diff`):
 * the INIT_FILES the runtime made, its empty `/.dockerenv` and `/dev/console`, its `/etc/mtab`
 * link, and each of INIT_DIRS holding nothing but init entries that
 * the runtime made (no lower layer has it) or copied up (a lower layer's directory with the
 * same mode and owner, and not empty: an empty one was made anew, hiding what was below).
 * `below` gives a path's entry in the container's lower layers. Unlike a build step's notes,
 * this cannot tell a file the container made in /etc and removed again: /etc then stays out.
 */
export function containerInitEntries(upper: string, below: (rel: string) => Stats | undefined): Set<string> {
  return initOnly(upper, [...INIT_FILES, ...EMPTY_INIT_FILES, MTAB, ...INIT_DIRS], (rel, stat) => {
    if (INIT_FILES.has(rel)) return stat.isFile();
    // Not mounted over: a container that wrote to it changed it, and `diff` shows that as Docker's does.
    if (EMPTY_INIT_FILES.has(rel)) return stat.isFile() && stat.size === 0n;
    if (rel === MTAB) return stat.isSymbolicLink() && readlinkSync(`${upper}/${rel}`) === MTAB_TARGET;
    if (!stat.isDirectory()) return false;
    const lower = below(rel);
    if (lower === undefined) return true;
    const sameAsLower = lower.isDirectory() && Number(stat.mode) === lower.mode && Number(stat.uid) === lower.uid && Number(stat.gid) === lower.gid;
    return sameAsLower && readdirSync(`${upper}/${rel}`).length > 0;
  });
}

/**
 * The bytes of a container's upper directory that are Docker's init layer, not the container's
 * own (`SizeRw` leaves them out): the /etc/mtab link, the one init entry with a size, when the
 * runtime made it. Its other entries are empty files and directories.
 */
export function initEntriesSize(upper: string): number {
  const mtab = `${upper}/${MTAB}`;
  const stat = lstatSync(mtab, { throwIfNoEntry: false });
  return stat?.isSymbolicLink() && readlinkSync(mtab) === MTAB_TARGET ? stat.size : 0;
}

/** The `candidates` that are init entries: as the runtime left them (`asLeft`) and, a directory, holding nothing but init entries. */
function initOnly(upper: string, candidates: Iterable<string>, asLeft: (rel: string, stat: BigIntStats) => boolean): Set<string> {
  const found = new Set<string>();
  // Deepest first: a directory is judged once everything in it has been.
  const paths = [...candidates].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const rel of paths) {
    const stat = lstatSync(`${upper}/${rel}`, { bigint: true, throwIfNoEntry: false });
    if (stat === undefined || !asLeft(rel, stat)) continue;
    if (stat.isDirectory() && !readdirSync(`${upper}/${rel}`).every((name) => found.has(`${rel}/${name}`))) continue;
    found.add(rel);
  }
  return found;
}

/** What makes an entry the same one, unchanged: its identity, type and mode, owner, size and times to the nanosecond. */
function signature(stat: BigIntStats): string {
  return [stat.ino, stat.mode, stat.uid, stat.gid, stat.size, stat.mtimeNs, stat.ctimeNs].join(':');
}
