import { invalidArgument } from '@ctr/errors';

/** dockerd's options for every tmpfs it mounts, before the user's (moby's `withMounts`). */
export const DEFAULT_TMPFS_OPTIONS: readonly string[] = ['noexec', 'nosuid', 'nodev', 'rprivate'];

const PROPAGATION = ['bind', 'rbind', 'unbindable', 'runbindable', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

/**
 * The mount flags a tmpfs takes, each with the flag it sets or clears: two options of one flag
 * (`exec` and `noexec`) are one choice, and so are all the propagations. moby/sys's table.
 */
const FLAGS: ReadonlyMap<string, string> = new Map([
  ...['ro', 'rw'].map((o) => [o, 'rdonly'] as const),
  ...['suid', 'nosuid'].map((o) => [o, 'nosuid'] as const),
  ...['dev', 'nodev'].map((o) => [o, 'nodev'] as const),
  ...['exec', 'noexec'].map((o) => [o, 'noexec'] as const),
  ...['sync', 'async'].map((o) => [o, 'sync'] as const),
  ['dirsync', 'dirsync'],
  ['remount', 'remount'],
  ...['mand', 'nomand'].map((o) => [o, 'mand'] as const),
  ...['atime', 'noatime'].map((o) => [o, 'noatime'] as const),
  ...['diratime', 'nodiratime'].map((o) => [o, 'nodiratime'] as const),
  ...['relatime', 'norelatime'].map((o) => [o, 'relatime'] as const),
  ...['strictatime', 'nostrictatime'].map((o) => [o, 'strictatime'] as const),
  ...PROPAGATION.map((o) => [o, 'propagation'] as const),
]);

/** The `key=value` options a tmpfs takes. */
const DATA_KEYS = new Set(['', 'size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

/**
 * A tmpfs's options with the later of each kind kept (`noexec,…,exec` → `exec`), in their
 * order; an option a tmpfs cannot take is refused in dockerd's words. moby/sys's
 * `MergeTmpfsOptions`, which dockerd applies to its defaults followed by the user's options.
 */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const flags = new Set<string>();
  const data = new Set<string>();
  const merged: string[] = [];
  for (const option of [...options].reverse()) {
    if (option === 'defaults') continue;
    const flag = FLAGS.get(option);
    if (flag !== undefined) {
      if (!flags.has(flag)) merged.unshift(option);
      flags.add(flag);
      continue;
    }
    const eq = option.indexOf('=');
    const key = eq === -1 ? option : option.slice(0, eq);
    if (eq === -1 || !DATA_KEYS.has(key)) {
      // Go's %q of the option split at its `=`.
      const parts = eq === -1 ? [option] : [key, option.slice(eq + 1)];
      throw invalidArgument(`Invalid tmpfs option [${parts.map((p) => JSON.stringify(p)).join(' ')}]`);
    }
    if (!data.has(key)) merged.unshift(option);
    data.add(key);
  }
  return merged;
}
