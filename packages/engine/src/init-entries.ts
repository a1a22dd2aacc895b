import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';

/**
 * What the runtime made in a container's upper directory before its process ran: the places
 * runc mounts over (`/etc/hosts`, `/etc/resolv.conf`, `/etc/hostname`; `/proc`, `/sys`, `/dev`
 * and `/etc` where the image lacks them) and the directories copied up to hold them, each with
 * how it was then. Docker keeps these in an "init layer" beneath the container's own, so a
 * build step's layer never has them; noting them as they were lets the step's layer leave out
 * those the step did not touch since (`untouchedInitEntries`).
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
  const untouched = new Set<string>();
  // Deepest first: a directory is judged once everything in it has been.
  const paths = [...noted.keys()].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const rel of paths) {
    const stat = lstatSync(`${upper}/${rel}`, { bigint: true, throwIfNoEntry: false });
    if (stat === undefined || signature(stat) !== noted.get(rel)) continue;
    if (stat.isDirectory() && !readdirSync(`${upper}/${rel}`).every((name) => untouched.has(`${rel}/${name}`))) continue;
    untouched.add(rel);
  }
  return untouched;
}

/** What makes an entry the same one, unchanged: its identity, type and mode, owner, size and times to the nanosecond. */
function signature(stat: BigIntStats): string {
  return [stat.ino, stat.mode, stat.uid, stat.gid, stat.size, stat.mtimeNs, stat.ctimeNs].join(':');
}
