import { closeSync, constants as fsc, lstatSync, mkdirSync, openSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { invalidArgument } from '@ctr/errors';
import { resolveInRoot, type RootPath } from '@ctr/image';

/**
 * A path inside a container, resolved the way the container itself would see it (by
 * @ctr/image's `resolveInRoot` over a `ContainerView`: `..` stops at the root, symlinks are
 * re-rooted at the container's root, mounts are crossed). This is the trust boundary of
 * `docker cp` (SECURITY-CASES §2 C1/C4): `abs` names a host path below the root filesystem or
 * a mount's source with no symlink left in it (except the last component when `followLast`
 * is false).
 */
export interface ContainerPath {
  /** Host path of the resolved components. */
  abs: string;
  /** Resolved path inside the container, absolute (`/etc/passwd`). */
  inside: string;
  /** What is there (lstat), or undefined when the last component does not exist. */
  stat: Stats | undefined;
  /** Whether the path is on a bind mount or volume rather than the rootfs. */
  mounted: boolean;
  readOnly: boolean;
  /** The path is a directory only the view has (see `containerView`): nothing can be written there. */
  placeholder: boolean;
}

/** A host directory or file mounted into the container (a bind mount, a volume, its /etc/hosts, a tmpfs). */
export interface MountedDir {
  /**
   * What is mounted. Undefined for a tmpfs: it exists only in the container's mount namespace,
   * and the directory under it is what is shown (as moby's view shows it, running or not).
   */
  source?: string;
  target: string;
  readOnly?: boolean;
}

/** A mount placed in a view. */
export interface PlacedMount {
  source: string;
  readOnly: boolean;
  /** Where the mount is, relative to the root, without links. */
  rel: string;
}

/**
 * A container's files as its processes see them — its root filesystem with its mounts on
 * top — as moby's archive operations see them in the private mount namespace they make.
 * Each mount is placed where the runtime puts it: at its target resolved inside the
 * container (links followed), parents before what is mounted below them.
 */
export interface ContainerView {
  readonly rootfs: string;
  readonly mounts: readonly PlacedMount[];
  /** Directories only the view has (relative path → an empty host directory shown for it); see `containerView`. */
  readonly placeholders?: ReadonlyMap<string, string>;
}

const depth = (target: string): number => path.posix.resolve('/', target).split('/').length;

export interface ContainerViewOptions {
  /**
   * Make the mount points that are missing — for a container with no process only: a running
   * one could swap a directory on the way for a link between the walk and the mkdir, and have
   * the host made to make directories outside it.
   */
  makeMountPoints?: boolean;
  /** A new empty host directory to show where a missing directory leads to a mount (see below); needed with `makeMountPoints`. */
  placeholder?: () => string;
}

/**
 * The view of a container's files with `mounts` placed. A mount point the root filesystem
 * lacks (a container never started: the runtime makes them at its start) is made, as moby's
 * view makes it, so that the path to it leads somewhere (with `makeMountPoints`). Never
 * inside another mount's source, a host directory the view does not write to: there the
 * missing directories on the way to the mount (and the point of a tmpfs, which holds nothing
 * yet) are shown as empty directories only the view has, placeholders, which a copy into
 * the container does not write to either.
 */
export function containerView(rootfs: string, mounts: readonly MountedDir[], options: ContainerViewOptions = {}): ContainerView {
  const placed: PlacedMount[] = [];
  const placeholders = new Map<string, string>();
  for (const mount of [...mounts].sort((a, b) => depth(a.target) - depth(b.target))) {
    const within: ContainerView = { rootfs, mounts: placed, placeholders };
    const point = resolveInRoot(rootfs, mount.target, { hostPath: hostPathIn(within) });
    // Nothing is mounted over the root itself (dockerd refuses it at create).
    if (point.rel === '') continue;
    const missing = !point.stat && point.unresolved?.reason !== 'not-a-directory';
    if (missing && options.makeMountPoints) {
      const holder = mountAt(within, point.rel);
      if (!holder) makeMountPoint(point.abs, mount.source);
      else if (options.placeholder) showMissing(within, placeholders, holder.rel, mount.source === undefined ? point.rel : path.posix.dirname(point.rel), options.placeholder);
    }
    if (mount.source === undefined) continue;
    placed.push({ source: path.resolve(mount.source), readOnly: mount.readOnly === true, rel: point.rel });
  }
  return { rootfs, mounts: placed, placeholders };
}

/**
 * Placeholders for the directories from below `holder` (a mount's point) down to `last` that
 * the mount's source lacks: the first missing one and all below it.
 */
function showMissing(view: ContainerView, placeholders: Map<string, string>, holder: string, last: string, make: () => string): void {
  if (last.length <= holder.length) return;
  const hostPath = hostPathIn(view);
  const parts = last.slice(holder.length + 1).split('/');
  let missing = false;
  for (let i = 1; i <= parts.length; i++) {
    const rel = `${holder}/${parts.slice(0, i).join('/')}`;
    missing ||= !placeholders.has(rel) && lstatSync(hostPath(rel), { throwIfNoEntry: false }) === undefined;
    if (missing && !placeholders.has(rel)) placeholders.set(rel, make());
  }
}

/**
 * A directory (or, for a file's mount, an empty file) where a mount goes, with its parents.
 * `abs` has no link in it: the walk that found it missing resolved everything above, and no
 * process runs in the container to change that. One that cannot be made (a file in the way,
 * which the runtime refuses at a start too) leaves the view without it: what is there is shown.
 */
function makeMountPoint(abs: string, source: string | undefined): void {
  try {
    if (source === undefined || statSync(source).isDirectory()) {
      mkdirSync(abs, { recursive: true });
    } else {
      mkdirSync(path.dirname(abs), { recursive: true });
      closeSync(openSync(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o755));
    }
  } catch {
    // See above: the lookups through it say what is missing.
  }
}

/** The mounts below `inside` (a resolved path of the view), where a copy into it would reach. */
export function mountsBelow(view: ContainerView, inside: string): readonly PlacedMount[] {
  const rel = inside.replace(/^\/+/, '');
  return view.mounts.filter((mount) => rel === '' || mount.rel.startsWith(`${rel}/`));
}

/** The mount holding a resolved path: the deepest one, the last placed of equals (it is on top). */
export function mountAt(view: Pick<ContainerView, 'mounts'>, rel: string): PlacedMount | undefined {
  let found: PlacedMount | undefined;
  for (const mount of view.mounts) {
    if ((rel === mount.rel || rel.startsWith(`${mount.rel}/`)) && (!found || mount.rel.length >= found.rel.length)) found = mount;
  }
  return found;
}

function hostPathIn(view: ContainerView): (rel: string) => string {
  return (rel) => {
    const placeholder = view.placeholders?.get(rel);
    if (placeholder !== undefined) return placeholder;
    const mount = mountAt(view, rel);
    if (!mount) return rel === '' ? view.rootfs : path.join(view.rootfs, rel);
    return rel === mount.rel ? mount.source : path.join(mount.source, rel.slice(mount.rel.length + 1));
  };
}

function resolveInView(view: ContainerView, target: string, followLast: boolean): RootPath {
  return resolveInRoot(view.rootfs, target, { followLast, hostPath: hostPathIn(view) });
}

/**
 * Resolve `target` in the container as `docker cp` does (`..` taken lexically first, as moby's
 * `filepath.Join("/", path)`): a file used as a directory is an InvalidArgument (so is a
 * symlink loop); a path that names nothing — its last component or a directory on the way
 * missing — is a result without `stat`, which the caller reports as moby does, naming the
 * path as it was asked for.
 */
export function containerPath(view: ContainerView, target: string, options: { followLast: boolean }): ContainerPath {
  const resolved = resolveInView(view, path.posix.resolve('/', target), options.followLast);
  const problem = resolved.unresolved;
  if (problem && problem.reason !== 'missing') throw invalidArgument(`/${problem.at} is not a directory`);
  const mount = mountAt(view, resolved.rel);
  return {
    abs: resolved.abs,
    inside: `/${resolved.rel}`,
    stat: resolved.stat,
    mounted: mount !== undefined,
    readOnly: mount?.readOnly === true,
    placeholder: view.placeholders?.has(resolved.rel) === true,
  };
}

/**
 * Where a link leads inside the container, followed as far as it goes (moby's
 * `FollowSymlinkInScope`): a dangling link's target is still named.
 */
export function linkTarget(view: ContainerView, inside: string): string {
  return `/${resolveInView(view, inside, true).rel}`;
}

/**
 * The view's mount points as a walk of the host directories finds them: the host path where
 * the mount's target is in whatever holds it (the root filesystem or another mount's source),
 * mapped to what is mounted there. `tarTree` crosses into each.
 */
export function mountPointsOnHost(view: ContainerView): Map<string, string> {
  const hostPath = hostPathIn(view);
  const shown = [...view.mounts.map((mount): [string, string] => [mount.rel, mount.source]), ...(view.placeholders ?? [])];
  return new Map(shown.map(([rel, source]) => [path.join(hostPath(path.posix.dirname(rel).replace(/^\.$/, '')), path.posix.basename(rel)), source]));
}
