import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { conflict, invalidArgument, notFound } from '@ctr/errors';
import { TAR_END, TarReader, applyLayer, createLayerFromDirectory, encodeTarHeader, resolveInRoot, tarPadding, type TarEntryType } from '@ctr/image';
import type { ContainerRecord } from './container-records';
import { mountedRootfs } from './container-root';
import { quiesce } from './quiesce';
import type { EngineContext } from './context';
import { volumeDirOf } from './volumes-spec';
import { containerPath, containerView, linkTarget, mountPointsOnHost, mountsBelow, type ContainerPath, type ContainerView } from './container-path';
import { INIT_FILES } from './init-files';
import { tarTree } from './tar-tree';

/** What `HEAD /containers/{id}/archive` reports (the `X-Docker-Container-Path-Stat` header). */
export interface PathStat {
  name: string;
  size: number;
  /** Go's `os.FileMode` bits, as Docker sends them (directory 1<<31, symlink 1<<27). */
  mode: number;
  mtime: string;
  /** For a symlink: where it points, resolved inside the container. */
  linkTarget: string;
}

export interface PutArchiveOptions {
  /** Fail instead of replacing a directory with a non-directory or the reverse (Docker's `noOverwriteDirNonDir`). */
  noOverwriteDirNonDir?: boolean;
  signal?: AbortSignal;
}

/**
 * The container's files with its bind mounts and volumes on top — its own /etc/hosts,
 * /etc/resolv.conf and /etc/hostname among them (unless it mounts its own there), as moby's
 * archive operations see them, running or not. Its root filesystem is mounted if it is not.
 */
async function containerFiles(ctx: EngineContext, record: ContainerRecord): Promise<ContainerView> {
  const [root, { bundle }, state] = await Promise.all([mountedRootfs(ctx, record), ctx.runtime.inspect(record.id), ctx.runtime.state(record.id).catch(() => undefined)]);
  const own = record.mounts.flatMap((m) => (m.type === 'bind' || m.type === 'volume' ? [{ source: mountSource(m), target: m.target, readOnly: m.readOnly === true }] : []));
  const initFiles = await Promise.all(
    [...INIT_FILES].map(async (rel) => {
      const source = path.join(bundle, path.basename(rel));
      const mountedOver = own.some((m) => path.posix.resolve('/', m.target) === `/${rel}`);
      return !mountedOver && (await fs.access(source).then(() => true, () => false)) ? [{ source, target: `/${rel}` }] : [];
    }),
  );
  // Mount points are made only where no process of the container can race the walk.
  return containerView(root, [...own, ...initFiles.flat()], { makeMountPoints: state?.running !== true });
}

/**
 * The host directory a bind or volume mount shows. A volume's subpath is resolved inside the
 * volume (a link in it never leads out), as the runtime's staged subpath mount would show it.
 */
function mountSource(mount: Exclude<ContainerRecord['mounts'][number], { type: 'tmpfs' }>): string {
  if (mount.type !== 'volume' || mount.subpath === undefined) return mount.source;
  return resolveInRoot(volumeDirOf(mount), mount.subpath).abs;
}

const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;

function goMode(stat: import('node:fs').Stats): number {
  return (stat.mode & 0o777) + (stat.isDirectory() ? GO_DIR : 0) + (stat.isSymbolicLink() ? GO_SYMLINK : 0);
}

/**
 * A `docker cp` source read as moby's `ResolvePath` reads it: the last component is taken as
 * it is (a symlink is copied as the link) unless the path ends in `/` or `/.`, which name the
 * directory there — a link's target, resolved inside the container like every other link.
 * `stat.name` is the last component as requested (`.` for `PATH/.`), as moby names it.
 */
async function resolveSource(view: ContainerView, record: ContainerRecord, inside: string): Promise<{ resolved: ContainerPath; stat: PathStat }> {
  const contentsOnly = path.posix.basename(inside) === '.';
  const namesDirectory = contentsOnly || inside.endsWith('/');
  const resolved = containerPath(view, inside, { followLast: namesDirectory });
  if (!resolved.stat) throw notFound(`Could not find the file ${inside} in container ${record.name}`);
  if (namesDirectory && !resolved.stat.isDirectory()) throw invalidArgument(`${inside} is not a directory`);
  const stat = {
    name: contentsOnly ? '.' : path.posix.basename(path.posix.resolve('/', inside)) || '/',
    size: resolved.stat.size,
    mode: goMode(resolved.stat),
    mtime: resolved.stat.mtime.toISOString(),
    linkTarget: resolved.stat.isSymbolicLink() ? linkTarget(view, resolved.inside) : '',
  };
  return { resolved, stat };
}

/** A path's stat inside the container, resolved as `docker cp` resolves its source. */
export async function statPath(ctx: EngineContext, record: ContainerRecord, inside: string): Promise<PathStat> {
  return (await resolveSource(await containerFiles(ctx, record), record, inside)).stat;
}

/**
 * `docker cp CONTAINER:PATH -`: a tar of the path, entries named from its base name. A
 * running container is paused until the stream ends, so nothing inside can move a path
 * component while it is read. Nothing from the container is executed or loaded (§2 C2).
 */
export async function getArchive(
  ctx: EngineContext,
  record: ContainerRecord,
  inside: string,
  options: { signal?: AbortSignal } = {},
): Promise<{ stat: PathStat; tar: Readable }> {
  const resume = await quiesce(ctx, record.id);
  try {
    const view = await containerFiles(ctx, record);
    const { resolved, stat } = await resolveSource(view, record, inside);
    // Entries are named as the path was asked for, as moby rebases them: `dirlnk/…` for
    // `dirlnk/`, not the target's name; `./…` for `PATH/.` and `/…` for `/`, which the docker
    // CLI rebases onto its destination (bare names would land beside it: `destbin`).
    const tar = tarTree(resolved.abs, stat.name, { mounts: mountPointsOnHost(view), ...(options.signal ? { signal: options.signal } : {}), onDone: resume });
    return { stat, tar };
  } catch (error) {
    await resume();
    throw error;
  }
}

/**
 * `docker cp - CONTAINER:DIR`: extract a tar (plain or gzip, decompressed in-process) into a
 * directory of the container. The directory is resolved inside the container's root; the
 * extraction is @ctr/image's `applyLayer`, which never follows links out of its target and
 * rejects `..` escapes (§1, §2 C3/C4). A running container is paused meanwhile (§2 C1).
 */
export async function putArchive(
  ctx: EngineContext,
  record: ContainerRecord,
  inside: string,
  tar: Readable,
  options: PutArchiveOptions = {},
): Promise<void> {
  let resume = async (): Promise<void> => undefined;
  try {
    resume = await quiesce(ctx, record.id);
    const view = await containerFiles(ctx, record);
    const target = containerPath(view, inside, { followLast: true });
    if (!target.stat) throw notFound(`Could not find the file ${inside} in container ${record.name}`);
    // In moby's order and words (its InvalidParameter, a 400).
    if (!target.stat.isDirectory()) throw invalidArgument(`extraction point is not a directory`, { hint: `${inside} in ${record.name} is not a directory` });
    if (target.readOnly) throw invalidArgument(`mounted volume is marked read-only`, { hint: `${target.inside} is on a read-only mount of ${record.name}` });
    if (!target.mounted && record.run.readOnlyRootfs) throw invalidArgument(`container rootfs is marked read-only`, { hint: `${record.name} was created with --read-only` });
    const checks = [
      ...(options.noOverwriteDirNonDir ? [dirNonDirCheck(target.abs)] : []),
      ...(mountsBelow(view, target.inside).length > 0 ? [mountCheck(mountsBelow(view, target.inside), target.inside)] : []),
    ];
    const source = checks.length > 0 ? Readable.from(checkedEntries(tar, checks)) : tar;
    await applyLayer(target.abs, source, { whiteouts: 'delete', ...(options.signal ? { signal: options.signal } : {}) });
  } catch (error) {
    tar.destroy();
    throw error;
  } finally {
    await resume();
  }
}

/** `docker export`: the container's merged filesystem as one tar stream. */
export async function exportContainer(ctx: EngineContext, record: ContainerRecord, options: { signal?: AbortSignal } = {}): Promise<Readable> {
  const root = await mountedRootfs(ctx, record);
  return createLayerFromDirectory(root, { xattrs: false, ...(options.signal ? { signal: options.signal } : {}) });
}

const TYPES: Record<string, TarEntryType> = { '0': 'file', '\0': 'file', '7': 'file', S: 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };

/** Plain tar bytes from a tar that may be gzip-compressed (in-process zlib, never a helper binary: §2 C3). */
async function* plainTar(tar: Readable): AsyncGenerator<Buffer> {
  const iterator = tar[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await iterator.next();
  if (first.done) return;
  const rest = (async function* () {
    yield first.value;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  })();
  if (first.value[0] !== 0x1f || first.value[1] !== 0x8b) {
    yield* rest;
    return;
  }
  const gunzip = createGunzip();
  // pipeline destroys gunzip with any error of either side, which ends the iteration below with it.
  pipeline(Readable.from(rest), gunzip, () => undefined);
  try {
    yield* gunzip;
  } catch (error) {
    throw invalidArgument(`the archive is not valid gzip: ${(error as Error).message}`, { cause: error });
  }
}

/** A check of one entry of a copy's archive (its name as in the tar, its type): it throws to refuse the copy. */
type EntryCheck = (name: string, type: TarEntryType) => Promise<void>;

/** Docker's `noOverwriteDirNonDir`: no entry replaces an existing directory with a non-directory or the reverse. */
function dirNonDirCheck(target: string): EntryCheck {
  return async (name, type) => {
    const existing = await existingKind(target, name);
    const isDir = type === 'dir';
    if (existing === 'dir' && !isDir) throw conflict(`cannot overwrite directory "/${name.replace(/\/$/, '')}" with non-directory "${name}"`);
    if (existing === 'other' && isDir) throw conflict(`cannot overwrite non-directory "/${name.replace(/\/$/, '')}" with directory "${name}"`);
  };
}

/**
 * No entry goes below a mount under the copy's directory: the extraction writes into the root
 * filesystem (or the directory's own mount), where it would land hidden under the mount, not
 * in it. Refused rather than lost; a copy into the mount's own path reaches it.
 */
function mountCheck(mounts: ReadonlyArray<{ rel: string }>, inside: string): EntryCheck {
  const base = inside.replace(/^\/+/, '');
  return async (name) => {
    const rel = path.posix.join(base, path.posix.normalize(`/${name}`)).replace(/^\/+/, '').replace(/\/+$/, '');
    const mount = mounts.find((m) => rel.startsWith(`${m.rel}/`));
    if (mount) {
      throw invalidArgument(`cannot copy "${name}" into ${inside}: it lies below the mount at /${mount.rel}, where it would be hidden`, {
        hint: `copy what goes into the mount to /${mount.rel} itself`,
      });
    }
  };
}

/** The same archive, re-encoded entry by entry, each entry checked before it goes on. */
async function* checkedEntries(tar: Readable, checks: readonly EntryCheck[]): AsyncGenerator<Buffer> {
  const reader = new TarReader(plainTar(tar));
  for (let entry = await reader.next(); entry; entry = await reader.next()) {
    const type = TYPES[entry.header.typeflag];
    if (!type) continue;
    const name = entry.header.name;
    for (const check of checks) await check(name, type);
    const h = entry.header;
    yield encodeTarHeader({
      name,
      type,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      size: type === 'file' ? h.size : 0,
      mtime: h.mtime.sec,
      linkname: h.linkname,
      devmajor: h.devmajor,
      devminor: h.devminor,
      xattrs: h.xattrs,
    });
    if (type === 'file') {
      for await (const chunk of entry.content()) yield Buffer.from(chunk);
      yield tarPadding(h.size);
    }
  }
  yield TAR_END;
}

async function existingKind(target: string, name: string): Promise<'dir' | 'other' | undefined> {
  try {
    const found = containerPath(containerView(target, []), name, { followLast: false });
    if (!found.stat) return undefined;
    return found.stat.isDirectory() ? 'dir' : 'other';
  } catch {
    return undefined;
  }
}
