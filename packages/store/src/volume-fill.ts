import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { conflict, isNotFound, notFound } from '@ctr/errors';
import { applyLayer, createLayerFromDirectory } from '@ctr/image';
import { errno, fsyncDir, readJson, storageError, uniqueHex, writeFileAtomic } from './fs-util';
import { openBeneath, pathComponents, withDirectoryBeneath, type RefuseWalk } from './safe-walk';

/*
 * Filling a volume from an image, as dockerd's populateVolume does: when a container is made
 * with a volume whose directory is empty, what the image has at the mount point goes into it.
 *
 * dockerd copies straight into the volume, so a copy cut short leaves a volume that is not
 * empty — a half copy every later container takes for the volume's data. Here the copy goes
 * to a temporary directory of the store first (`.tmp-<pid>-…`, which `fsck` removes once its
 * process is gone); a copy cut short leaves the volume as empty as it was, and the next
 * container made with it copies again. Only a complete copy is published, under the
 * volumes' lock: its directory is renamed into the volume as `filling/`, after a journal
 * (`filling.json`) saying where it goes, and its entries are moved into place one by one.
 * A process killed among those moves leaves the journal; whoever takes the lock for that
 * volume next (a fill, a container's use of it) finishes the moves.
 *
 * Moves never replace anything: a container already running with the volume may write into
 * it meanwhile, and what it wrote stays. Whatever cannot go in (a name it took first) is kept
 * beside the data as `unfilled-<random>/`, never deleted.
 */

const FILLING = 'filling';
const JOURNAL = 'filling.json';

/** The journal of a fill being published: where it goes, and the source directory's own metadata for the volume's. */
interface FillJournal {
  subpath: string;
  uid: number;
  gid: number;
  mode: number;
  atimeMs: number;
  mtimeMs: number;
}

/** dockerd's words (safepath) for a subpath it cannot reach; `full` is the path asked for. */
export function refuseSubpath(full: string): RefuseWalk {
  return (problem) => {
    switch (problem) {
      case 'symlink':
        return notFound(`cannot access path ${full}: too many levels of symbolic links`, { hint: 'a volume subpath may not go through a symbolic link' });
      case 'changed':
        return conflict(`cannot access path ${full}: it changed while it was being mounted`, { hint: 'a container using the volume replaced it meanwhile; start again' });
      default:
        return notFound(`cannot access path ${full}: ${problem === 'missing' ? 'no such file or directory' : 'not a directory'}`);
    }
  };
}

/**
 * The host path of `subpath` in a volume's data directory, as dockerd's safepath finds it:
 * every component must exist and none may be a symbolic link. NotFound in dockerd's words
 * (`cannot access path …`) otherwise; `..` or an absolute path is InvalidArgument. For
 * showing only: a path string may lead elsewhere by the time it is used (`bindBeneath` mounts
 * a subpath safely).
 */
export function subpathIn(data: string, subpath: string): string {
  openBeneath(data, subpath, refuseSubpath(path.join(data, subpath))).close();
  return path.join(data, ...pathComponents(subpath));
}

/**
 * Run `fn` with the fill target open — the data directory, or its subpath when that is a
 * directory reached without a symbolic link — or with undefined when there is none to fill.
 */
async function withFillTarget<T>(data: string, subpath: string, fn: (target: { dir: fs.FileHandle; handle: string } | undefined) => Promise<T>): Promise<T> {
  let entered = false;
  try {
    return await withDirectoryBeneath(data, subpath, refuseSubpath(path.join(data, subpath)), (dir, handle) => {
      entered = true;
      return fn({ dir, handle });
    });
  } catch (error) {
    // Only the walk's refusal means "nothing to fill"; a failure inside `fn` is the caller's.
    if (entered || !isNotFound(error)) throw error;
    return fn(undefined);
  }
}

/** Whether the fill target (see `withFillTarget`) is there and empty: only then is a volume filled. */
export async function isEmptyBeneath(data: string, subpath: string): Promise<boolean> {
  return withFillTarget(data, subpath, async (target) => target !== undefined && (await fs.readdir(target.handle)).length === 0);
}

/**
 * Copy `source` (a directory) into `staging` (a new, empty directory of the store): every
 * entry with its owner, mode, times, extended attributes, hard links and symbolic links as
 * they are (links are never followed), streamed as one layer written and applied at once.
 */
export async function copyTree(source: string, staging: string, signal?: AbortSignal): Promise<void> {
  await applyLayer(staging, createLayerFromDirectory(source, signal ? { signal } : {}), { whiteouts: 'delete', ...(signal ? { signal } : {}) });
}

/**
 * Publish a complete copy (`staging`, made from `sourceStat`'s directory) into a volume —
 * `volumeDir` holds `_data` — if its target is empty; to be called under the volumes' lock.
 * Whether the volume was filled.
 */
export async function publishFill(volumeDir: string, staging: string, subpath: string, sourceStat: Stats): Promise<boolean> {
  await finishFill(volumeDir);
  if (!(await isEmptyBeneath(path.join(volumeDir, '_data'), subpath))) return false;
  const journal: FillJournal = {
    subpath,
    uid: sourceStat.uid,
    gid: sourceStat.gid,
    mode: sourceStat.mode & 0o7777,
    atimeMs: sourceStat.atimeMs,
    mtimeMs: sourceStat.mtimeMs,
  };
  await writeFileAtomic(path.join(volumeDir, JOURNAL), JSON.stringify(journal));
  await fs.rename(staging, path.join(volumeDir, FILLING));
  await fsyncDir(volumeDir);
  await finishFill(volumeDir);
  return true;
}

/**
 * Finish a fill whose publishing was cut short (nothing to do when none was): move what is
 * left of it into the volume, give the target the source directory's owner, mode and times
 * (as dockerd's copy does), and drop the journal. Under the volumes' lock.
 *
 * The target is reached and changed only through a descriptor of it, opened without
 * following a symbolic link: a container running with the whole volume may swap any
 * directory on the way for a link to the host meanwhile. The journal goes only once the
 * moves are on disk (the target's and `filling/`'s entries fsynced): after a power cut,
 * either the journal is there to redo them or they are done.
 */
export async function finishFill(volumeDir: string): Promise<void> {
  const journalFile = path.join(volumeDir, JOURNAL);
  const journal = await readJson<FillJournal>(journalFile);
  if (journal === undefined) return;
  const filling = path.join(volumeDir, FILLING);
  if (await fs.lstat(filling).then(() => true, () => false)) {
    await withFillTarget(path.join(volumeDir, '_data'), journal.subpath, async (target) => {
      for (const entry of await fs.readdir(filling)) {
        if (target) await moveWithoutReplacing(path.join(filling, entry), path.join(target.handle, entry));
      }
      if (target) {
        await target.dir.chown(journal.uid, journal.gid);
        await target.dir.chmod(journal.mode);
        await target.dir.utimes(journal.atimeMs / 1000, journal.mtimeMs / 1000);
        await target.dir.sync();
      }
    });
    await fsyncDir(filling);
    // What could not go in (a name a running container took first) is kept aside, never deleted.
    if ((await fs.readdir(filling)).length === 0) await fs.rmdir(filling);
    else await fs.rename(filling, path.join(volumeDir, `unfilled-${uniqueHex()}`));
    await fsyncDir(volumeDir);
  }
  await fs.rm(journalFile, { force: true });
  await fsyncDir(volumeDir);
}

/**
 * Move an entry to a place nothing holds, never replacing what is there: files and links
 * by a hard link (which fails on an existing name) and the removal of the old name, a
 * directory by rename (which fails on a directory with anything in it). Whether it moved.
 */
async function moveWithoutReplacing(from: string, to: string): Promise<boolean> {
  const [source, existing] = await Promise.all([fs.lstat(from), fs.lstat(to).catch(() => undefined)]);
  // A move cut short between its link and its unlink: the entry is in place already.
  if (existing && existing.ino === source.ino && existing.dev === source.dev) {
    await fs.unlink(from);
    return true;
  }
  if (existing) return false;
  try {
    if (source.isDirectory()) await fs.rename(from, to);
    else {
      await fs.link(from, to);
      await fs.unlink(from);
    }
    return true;
  } catch (error) {
    if (['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR'].includes(errno(error) ?? '')) return false;
    throw storageError(error, `moving ${from} into the volume`);
  }
}
