/**
 * What the runtime makes in every container's root filesystem to mount over (Docker keeps
 * them in its "init layer"): never part of a committed or built layer, never in `docker diff`.
 * Relative to the root, as layer paths are.
 */
export const INIT_FILES: ReadonlySet<string> = new Set(['etc/hosts', 'etc/resolv.conf', 'etc/hostname']);
