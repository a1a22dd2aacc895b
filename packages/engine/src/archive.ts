import { once } from 'node:events';
import { chmodSync, promises as fs, mkdtempSync, statSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { aborted, conflict, invalidArgument, notFound, type CtrError } from '@ctr/errors';
import { TAR_END, TarReader, applyLayer, createLayerFromDirectory, encodeTarHeader, resolveInRoot, tarPadding, type ApplyLayerOptions, type TarEntryType } from '@ctr/image';
import type { ContainerRecord } from './container-records';
import { holdRootfs } from './container-root';
import { quiesce } from './quiesce';
import type { EngineContext } from './context';
import { volumeDirOf } from './volumes-spec';
import { containerPath, containerView, linkTarget, mountAt, mountPointsOnHost, mountsBelow, type ContainerPath, type ContainerView, type MountedDir, type PlacedMount } from './container-path';
import { holdDevices } from './held-mounts';
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

/** A container's files for one operation, and the undo of what showing them took. */
interface ContainerFiles {
  view: ContainerView;
  /** Resume the container, unmount its device volumes and (stopped) its root filesystem, remove the view's placeholders; safe to call twice. */
  release(): Promise<void>;
}

/**
 * The container's files with its mounts on top — bind mounts, volumes, its own /etc/hosts,
 * /etc/resolv.conf and /etc/hostname (unless it mounts its own there) — as moby's archive
 * operations see them, running or not. With `pause` a running container is frozen first (see
 * `quiesce`). Its root filesystem is held mounted until `release` (see `holdRootfs`: its exit
 * meanwhile leaves it mounted, its removal waits), and so are the device volumes of one not
 * running (see `holdDevices`).
 */
async function openContainerFiles(ctx: EngineContext, record: ContainerRecord, options: { pause: boolean }): Promise<ContainerFiles> {
  const undo: Array<() => Promise<void>> = [];
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    const errors: unknown[] = [];
    for (const step of undo.reverse()) await step().catch((error: unknown) => errors.push(error));
    if (errors.length > 0) throw errors[0];
  };
  try {
    if (options.pause) undo.push(await quiesce(ctx, record.id));
    undo.push(await holdRootfs(ctx, record, 'copied'));
    const root = record.rootfs;
    const [{ bundle }, state] = await Promise.all([ctx.runtime.inspect(record.id), ctx.runtime.state(record.id).catch(() => undefined)]);
    const running = state?.running === true && state.pid > 0;
    if (!running) undo.push(await holdDevices(ctx, record));
    // A tmpfs is shown as the directory under it, running or not: its files are only in the
    // container's mount namespace, and reaching them through /proc/<pid>/root lets the
    // container's own links lead the host's walk anywhere (moby's view shows the same).
    const own = record.mounts.map((m): MountedDir => (m.type === 'tmpfs' ? { target: m.target } : { source: mountSource(m), target: m.target, readOnly: m.readOnly === true }));
    const initFiles = await Promise.all(
      [...INIT_FILES].map(async (rel) => {
        const source = path.join(bundle, path.basename(rel));
        const mountedOver = own.some((m) => path.posix.resolve('/', m.target) === `/${rel}`);
        return !mountedOver && (await fs.access(source).then(() => true, () => false)) ? [{ source, target: `/${rel}` }] : [];
      }),
    );
    let placeholders: string | undefined;
    const placeholder = (): string => {
      if (placeholders === undefined) {
        placeholders = mkdtempSync(path.join(ctx.runRoot, 'cp-'));
        const dir = placeholders;
        undo.push(() => fs.rm(dir, { recursive: true, force: true }));
      }
      // Shown as the directory a mkdir would have made.
      const made = mkdtempSync(path.join(placeholders, 'd'));
      chmodSync(made, 0o755);
      return made;
    };
    // Mount points are made only where no process of the container can race the walk.
    const view = containerView(root, [...own, ...initFiles.flat()], { makeMountPoints: !running, placeholder });
    return { view, release };
  } catch (error) {
    await release().catch(() => undefined);
    throw error;
  }
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
async function resolveSource(view: ContainerView, ref: string, inside: string): Promise<{ resolved: ContainerPath; stat: PathStat }> {
  const contentsOnly = path.posix.basename(inside) === '.';
  const namesDirectory = contentsOnly || inside.endsWith('/');
  const resolved = containerPath(view, inside, { followLast: namesDirectory });
  if (!resolved.stat) throw fileNotFound(inside, ref);
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

/**
 * moby's containerFileNotFound: the path and the container as the request named them (`ref`:
 * a name, or an ID or its prefix), whichever component of the path is missing.
 */
function fileNotFound(inside: string, ref: string): CtrError {
  return notFound(`Could not find the file ${inside} in container ${ref}`);
}

/** A path's stat inside the container, resolved as `docker cp` resolves its source; `ref` as the request named the container. */
export async function statPath(ctx: EngineContext, record: ContainerRecord, ref: string, inside: string): Promise<PathStat> {
  const files = await openContainerFiles(ctx, record, { pause: false });
  try {
    return (await resolveSource(files.view, ref, inside)).stat;
  } finally {
    await files.release();
  }
}

/**
 * `docker cp CONTAINER:PATH -`: a tar of the path, entries named from its base name. A
 * running container is paused until the stream ends, so nothing inside can move a path
 * component while it is read. Nothing from the container is executed or loaded (§2 C2).
 */
export async function getArchive(
  ctx: EngineContext,
  record: ContainerRecord,
  ref: string,
  inside: string,
  options: { signal?: AbortSignal } = {},
): Promise<{ stat: PathStat; tar: Readable }> {
  const files = await openContainerFiles(ctx, record, { pause: true });
  try {
    const view = files.view;
    const { resolved, stat } = await resolveSource(view, ref, inside);
    // Entries are named as the path was asked for, as moby rebases them: `dirlnk/…` for
    // `dirlnk/`, not the target's name; `./…` for `PATH/.` and `/…` for `/`, which the docker
    // CLI rebases onto its destination (bare names would land beside it: `destbin`).
    const tar = tarTree(resolved.abs, stat.name, { mounts: mountPointsOnHost(view), ...(options.signal ? { signal: options.signal } : {}), onDone: files.release });
    return { stat, tar };
  } catch (error) {
    await files.release();
    throw error;
  }
}

/**
 * `docker cp - CONTAINER:DIR`: extract a tar (plain or gzip, decompressed in-process) into a
 * directory of the container. The directory is resolved inside the container's view; the
 * extraction is @ctr/image's `applyLayer`, which never follows links out of its target and
 * rejects `..` escapes (§1, §2 C3/C4). A running container is paused meanwhile (§2 C1).
 */
export async function putArchive(
  ctx: EngineContext,
  record: ContainerRecord,
  ref: string,
  inside: string,
  tar: Readable,
  options: PutArchiveOptions = {},
): Promise<void> {
  let files: ContainerFiles | undefined;
  try {
    files = await openContainerFiles(ctx, record, { pause: true });
    const target = containerPath(files.view, inside, { followLast: true });
    if (!target.stat) throw fileNotFound(inside, ref);
    // In moby's order and words (its InvalidParameter, a 400).
    if (!target.stat.isDirectory()) throw invalidArgument(`extraction point is not a directory`, { hint: `${inside} in ${record.name} is not a directory` });
    if (target.readOnly) throw invalidArgument(`mounted volume is marked read-only`, { hint: `${target.inside} is on a read-only mount of ${record.name}` });
    if (!target.mounted && record.run.readOnlyRootfs) throw invalidArgument(`container rootfs is marked read-only`, { hint: `${record.name} was created with --read-only` });
    const below = mountsBelow(files.view, target.inside);
    if (below.length === 0 && !target.placeholder && !options.noOverwriteDirNonDir) await applyLayer(target.abs, tar, applyOptions(options.signal));
    else await extractAcross(files.view, target, below, tar, options);
  } catch (error) {
    tar.destroy();
    throw error;
  } finally {
    await files?.release();
  }
}

/** `docker export`: the container's merged filesystem as one tar stream, its root filesystem held mounted until the stream ends. */
export async function exportContainer(ctx: EngineContext, record: ContainerRecord, options: { signal?: AbortSignal } = {}): Promise<Readable> {
  const release = await holdRootfs(ctx, record, 'exported', { refusal: `You cannot export container ${record.id} which is being removed` });
  let layer: Readable;
  try {
    layer = createLayerFromDirectory(record.rootfs, { xattrs: false, ...(options.signal ? { signal: options.signal } : {}) });
  } catch (error) {
    await release();
    throw error;
  }
  // The walk's descriptors are closed (the layer destroyed, and closed) before the hold ends:
  // one still open in the root filesystem would keep it from being unmounted.
  let finished: Promise<void> | undefined;
  const finish = (): Promise<void> =>
    (finished ??= (async () => {
      if (!layer.closed) {
        const closed = new Promise((resolve) => layer.once('close', resolve));
        layer.destroy();
        await closed;
      }
      await release();
    })());
  // The hold ends before the last chunk (the end-of-archive blocks) goes out, so a reader that
  // saw the end finds the container as it was (unmounted, stopped), as `tarTree`'s end does.
  const tar = Readable.from(
    (async function* () {
      let last: Buffer | undefined;
      try {
        for await (const chunk of layer) {
          if (last) yield last;
          last = chunk as Buffer;
        }
      } finally {
        await finish();
      }
      if (last) yield last;
    })(),
    { objectMode: false, highWaterMark: 1 << 20 },
  );
  // Destroyed before it was first read, the generator never runs, nor its finally.
  tar.once('close', () => void finish().catch(() => undefined));
  return tar;
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

/** How a copy's archive is extracted: whiteouts delete. */
function applyOptions(signal: AbortSignal | undefined): ApplyLayerOptions {
  return { whiteouts: 'delete', ...(signal ? { signal } : {}) };
}

/** One extraction of a copy, fed entry by entry. */
interface Outlet {
  input: PassThrough;
  applied: Promise<unknown>;
}

function outlet(abs: string, signal: AbortSignal | undefined): Outlet {
  const input = new PassThrough();
  // Why a write fails is what `applied` rejects with; the stream's own error says less.
  input.on('error', () => undefined);
  const applied = applyLayer(abs, input, applyOptions(signal));
  applied.catch(() => undefined);
  return { input, applied };
}

async function send(out: Outlet, chunk: Buffer): Promise<void> {
  if (out.input.write(chunk)) return;
  try {
    await Promise.race([once(out.input, 'drain'), out.applied]);
  } catch (error) {
    await out.applied;
    throw error;
  }
  if (out.input.destroyed) await out.applied;
}

/**
 * Extract a copy's archive as moby's extraction in the container's mounted view does: an entry
 * below a mount under the destination lands in that mount — an extraction of its own, rooted
 * at the mount's source, so no link in the archive or the mount leads it out — and every other
 * in the destination. Entries are refused that would replace a mount's point or a directory
 * holding one (moby's unlink of a mount point fails), go into a read-only mount, hard-link
 * across mounts, or be written into a placeholder (see `containerView`).
 */
async function extractAcross(view: ContainerView, target: ContainerPath, below: readonly PlacedMount[], tar: Readable, options: PutArchiveOptions): Promise<void> {
  const base = target.inside.replace(/^\/+/, '');
  const mounts = { mounts: below };
  const outlets = new Map<PlacedMount | undefined, Outlet>();
  const outletOf = (mount: PlacedMount | undefined): Outlet => {
    const existing = outlets.get(mount);
    if (existing) return existing;
    const made = outlet(mount?.source ?? target.abs, options.signal);
    outlets.set(mount, made);
    return made;
  };
  try {
    const reader = new TarReader(plainTar(tar));
    for (let entry = await reader.next(); entry; entry = await reader.next()) {
      if (options.signal?.aborted) throw aborted(options.signal, 'copying into the container');
      const h = entry.header;
      const type = TYPES[h.typeflag];
      if (!type) continue;
      if (options.noOverwriteDirNonDir) refuseDirNonDir(view, target.inside, h.name, type);
      const rel = entryPath(base, h.name, target.inside);
      refuseOverMountPoint(below, rel, h.name, type);
      const mount = mountAt(mounts, rel);
      if (mount?.readOnly) throw invalidArgument(`mounted volume is marked read-only`, { hint: `"${h.name}" would land on the read-only mount at /${mount.rel}` });
      if (!mount && target.placeholder) {
        throw invalidArgument(`cannot copy "${h.name}" into ${target.inside}: it is not a directory of the container, only the way to a mount below it`, {
          hint: `copy into the mount itself (${below.map((m) => `/${m.rel}`).join(', ') || 'none'}), or into the directory that holds ${target.inside}`,
        });
      }
      let linkname = h.linkname;
      if (type === 'hardlink') {
        const linkRel = entryPath(base, h.linkname, target.inside);
        if (mountAt(mounts, linkRel) !== mount) throw invalidArgument(`cannot link "${h.name}" to "${h.linkname}": invalid cross-device link`);
        if (mount) linkname = pathIn(mount, linkRel);
      }
      const out = outletOf(mount);
      await send(
        out,
        encodeTarHeader({
          name: mount ? pathIn(mount, rel) || './' : h.name,
          type,
          mode: h.mode,
          uid: h.uid,
          gid: h.gid,
          size: type === 'file' ? h.size : 0,
          mtime: h.mtime.sec,
          linkname,
          devmajor: h.devmajor,
          devminor: h.devminor,
          xattrs: h.xattrs,
        }),
      );
      if (type === 'file') {
        for await (const chunk of entry.content()) await send(out, Buffer.from(chunk));
        await send(out, tarPadding(h.size));
      }
    }
    for (const out of outlets.values()) out.input.end(TAR_END);
    await Promise.all([...outlets.values()].map((out) => out.applied));
  } catch (error) {
    for (const out of outlets.values()) out.input.destroy();
    await Promise.allSettled([...outlets.values()].map((out) => out.applied));
    throw error;
  }
}

/** Where an entry lands, relative to the container's root; one that climbs out of the destination is refused, in moby's words. */
function entryPath(base: string, name: string, inside: string): string {
  const parts = base === '' ? [] : base.split('/');
  const floor = parts.length;
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') parts.push(part);
    else if (parts.length > floor) parts.pop();
    else throw invalidArgument(`${JSON.stringify(name)} is outside of ${JSON.stringify(inside)}`);
  }
  return parts.join('/');
}

/** `rel` (a path at or below the mount's point) relative to the mount: '' for its point. */
function pathIn(mount: PlacedMount, rel: string): string {
  return rel === mount.rel ? '' : rel.slice(mount.rel.length + 1);
}

/**
 * No entry takes the place of a mount's point or of a directory that holds one (moby's unlink
 * of a mount point fails): as something other than a directory there, or a whiteout of it, or
 * an opaque directory that would clear one away — nor is a directory put on a file's mount.
 */
function refuseOverMountPoint(below: readonly PlacedMount[], rel: string, name: string, type: TarEntryType): void {
  const leaf = path.posix.basename(rel);
  const dir = rel.includes('/') ? path.posix.dirname(rel) : '';
  const atOrBelow = (replaced: string) => (mount: PlacedMount): boolean => replaced === '' || mount.rel === replaced || mount.rel.startsWith(`${replaced}/`);
  let hit: PlacedMount | undefined;
  if (leaf === '.wh..wh..opq') hit = below.find((mount) => dir === '' || mount.rel.startsWith(`${dir}/`));
  else if (leaf.startsWith('.wh.')) hit = below.find(atOrBelow(path.posix.join(dir, leaf.slice('.wh.'.length))));
  else if (type !== 'dir') hit = below.find(atOrBelow(rel));
  else hit = below.find((mount) => mount.rel === rel && !statSync(mount.source).isDirectory());
  if (hit) {
    throw invalidArgument(`cannot copy "${name}": the mount at /${hit.rel} is in its way`, {
      hint: 'a copy does not remove or replace a mount point, or what holds one; copy into the mount, or beside it',
    });
  }
}

/** Docker's `noOverwriteDirNonDir`: no entry replaces an existing directory with a non-directory or the reverse. */
function refuseDirNonDir(view: ContainerView, inside: string, name: string, type: TarEntryType): void {
  const existing = existingKind(view, path.posix.join(inside, name));
  const isDir = type === 'dir';
  if (existing === 'dir' && !isDir) throw conflict(`cannot overwrite directory "/${name.replace(/\/$/, '')}" with non-directory "${name}"`);
  if (existing === 'other' && isDir) throw conflict(`cannot overwrite non-directory "/${name.replace(/\/$/, '')}" with directory "${name}"`);
}

function existingKind(view: ContainerView, inside: string): 'dir' | 'other' | undefined {
  try {
    const found = containerPath(view, inside, { followLast: false });
    if (!found.stat) return undefined;
    return found.stat.isDirectory() ? 'dir' : 'other';
  } catch {
    return undefined;
  }
}
