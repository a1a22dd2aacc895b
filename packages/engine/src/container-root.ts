import { promises as fs, mkdirSync, rmdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { CtrError, asCtrError, conflict, internal, isCtrError, isNotFound, noSpaceLeft, notFound } from '@ctr/errors';
import { mountAll, mountPoints, removeLinkIfUnchanged, unlinkIfPresent, unmount, type Mount } from '@ctr/store';
import { ContainerRecords, type ContainerRecord } from './container-records';
import { underContainerLock } from './container-lock';
import type { EngineContext } from './context';
import { abandonedNote, liveNotes, makeNote, noteHolderRuns, ownNote, readNote } from './process-notes';

/**
 * A container's root filesystem is mounted while it runs, and while a process works on its
 * files (a start on its way, a copy, an export): a stopped one is unmounted, as dockerd and
 * Podman unmount it at its exit (commit and diff read the snapshot's directories themselves:
 * they hold the container without mounting it). Several engine processes share a root, so who
 * needs it is noted on disk, in `<runRoot>/engine/rootfs-holders/<id>/` (the run root: no holder outlives
 * a reboot): one note per hold, a symlink to its process (`makeNote`). A removal under way is
 * marked beside it, by one symlink to its process (`<id>.removing`: removing a container nobody
 * ever held, `run --rm`'s, makes no directory), which only one removal at a time can make: a
 * second one finds it and is told so, as moby refuses a removal while one is in progress (a
 * mark whose process was killed is no removal under way: the next takes it over). A mount and an unmount are
 * decided under the container's rootfs lock; a removal takes no lock — its mark and a hold's
 * note are each made before the other is looked for, so at least one sees the other: the hold gives way
 * (moby's archive operations refuse a container being removed), the removal waits for the
 * hold to end (as moby's waits for the container lock a copy holds until its stream is read).
 * A hold that sees no removal after one has ended finds the container's record gone.
 */

const ROOTFS_LOCKS = 'rootfs-locks';
const REMOVAL_MARK = '.removing';
const POLL_MS = 50;

function holdersDir(ctx: Pick<EngineContext, 'runRoot'>, id: string): string {
  return path.join(ctx.runRoot, 'engine', 'rootfs-holders', id);
}

/** Whether the removal mark `mark` is a live removal's; one left by a removal that was killed goes. */
function liveMark(mark: string): boolean {
  const note = readNote(mark);
  if (note === undefined) return false;
  if (noteHolderRuns(note)) return true;
  // Only if it is still that one: another removal may have marked it meanwhile.
  removeLinkIfUnchanged(mark, note);
  return false;
}

/** Whether a removal of the container whose holders' directory is `dir` is under way. */
function removalUnderWay(dir: string): boolean {
  return liveMark(`${dir}${REMOVAL_MARK}`);
}

/** Mark a removal beside the holders' directory `dir`; undefined when another live removal's mark is there. */
function markRemoval(dir: string, tries = 3): string | undefined {
  const mark = `${dir}${REMOVAL_MARK}`;
  try {
    symlinkSync(ownNote(), mark);
    return mark;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (liveMark(mark)) return undefined;
      // A killed removal's mark is no removal under way, and its process will never take it away: taken over.
      // What stays after that is no mark of ours (a file put there by hand): said, not retried for ever.
      if (tries > 1) return markRemoval(dir, tries - 1);
      throw internal(`cannot mark the removal of container ${path.basename(dir)} as under way: ${mark} is in the way and is not a removal's mark: remove it`);
    }
    if (code !== 'ENOENT') throw markFailed(error, mark);
  }
  // The first removal on this run root.
  try {
    mkdirSync(path.dirname(dir), { recursive: true });
  } catch (error) {
    throw markFailed(error, mark);
  }
  return markRemoval(dir, tries);
}

/** Why a removal could not be marked (its run root full, or not this user's to write), with what to do. */
function markFailed(error: unknown, mark: string): CtrError {
  const full = noSpaceLeft(error, mark);
  if (full) return full;
  const doing = `cannot mark the removal of container ${path.basename(mark, REMOVAL_MARK)} as under way`;
  const { code, message } = error as NodeJS.ErrnoException;
  if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') return asCtrError(error, 'Internal', doing);
  return new CtrError('Denied', `${doing}: ${message}: ctr must be able to write in its run root: run it as root, or give it a run root of its own (--runroot, CTR_RUNROOT)`, {
    cause: error,
  });
}

/** How a hold is taken (`holdRootfs`). */
export interface HoldOptions {
  /**
   * Mount the root filesystem if it is not (default): false for work that reads the snapshot's
   * directories itself (commit, diff) and needs only the removal kept away.
   */
  mount?: boolean;
  /** The refusal when the container is being removed, in place of the one `action` makes (moby's commit and export have their own). */
  refusal?: string;
}

/**
 * Hold container `record`'s root filesystem until the returned release, mounting it if it is
 * not (a stopped container's, or any after a reboot) unless `mount` is false; a removal waits
 * for the release, which unmounts it again if the container is then stopped and nobody else
 * holds it. `action` names the work in the refusal when the container is being removed
 * ("started", "copied").
 */
export async function holdRootfs(
  ctx: EngineContext,
  record: Pick<ContainerRecord, 'id' | 'name' | 'rootfs' | 'snapshot' | 'autoRemove' | 'createdAlone'>,
  action: string,
  options: HoldOptions = {},
): Promise<() => Promise<void>> {
  const dir = holdersDir(ctx, record.id);
  const note = makeNote(dir);
  const drop = (): void => rmSync(note, { force: true });
  try {
    if (removalUnderWay(dir)) throw conflict(options.refusal ?? `container ${record.name} is marked for removal and cannot be ${action}`);
    // Looked for once the note is made: a removal that ended before saw no hold, and took the record with it.
    if (!(await new ContainerRecords(ctx.root).exists(record.id))) throw notFound(`No such container: ${record.id}`);
    if (options.mount !== false) {
      await underContainerLock(ctx, ROOTFS_LOCKS, record.id, async () => {
        if ((await mountPoints()).includes(record.rootfs)) return;
        await fs.mkdir(record.rootfs, { recursive: true });
        await mountAll(await ctx.store.snapshots.mounts(record.snapshot), record.rootfs);
      });
    }
  } catch (error) {
    drop();
    // The note made its directory again for a container that is gone: it goes too, unless a hold as late as this one has a note there.
    if (isNotFound(error)) {
      try {
        rmdirSync(dir);
      } catch {
        // Not empty, or gone already.
      }
    }
    throw error;
  }
  let released = false;
  // Unmounting at the end even with nothing mounted here: an exit meanwhile left it to this hold.
  return async () => {
    if (released) return;
    released = true;
    drop();
    await unmountStopped(ctx, record);
  };
}

/**
 * Unmount the root filesystem of a stopped container that a process held and never released:
 * it was killed, or ended at a reader gone (`ctr export x | head -c 100` ends at its EPIPE) —
 * its note outlives it. Any look at a container (`Containers.find`, `ps`) calls this, as it
 * resumes a pause such a process left. One readdir when there is nothing to do; nothing for
 * a container removed at its exit (`--rm`), which `unmountStopped` leaves to its removal.
 */
export async function releaseAbandonedHolds(ctx: EngineContext, record: Pick<ContainerRecord, 'id' | 'rootfs' | 'autoRemove' | 'createdAlone'>): Promise<void> {
  if ((record.autoRemove && !record.createdAlone) || !abandonedNote(holdersDir(ctx, record.id))) return;
  await unmountStopped(ctx, record);
}

/**
 * Unmount the root filesystem of a container that has stopped (its process exited), or that
 * `create` alone made and that never started, unless a process holds it (`holdRootfs`): that
 * hold's release unmounts it. One that runs, is paused, is gone, or is a `run`'s on its way to
 * its start (created, its mount kept for the start) is left as it is, and so is one removed at
 * its exit (`--rm`) that ran: its removal unmounts it, and its volatile upper layer could not be
 * mounted again (a created one's is mounted plainly: see `mountNewRootfs`). Never fails: nobody
 * at an exit has anyone to tell, and what does not come off (a host process inside) comes off
 * at the next exit or at the container's removal, which reports it.
 */
export async function unmountStopped(ctx: EngineContext, record: Pick<ContainerRecord, 'id' | 'rootfs' | 'autoRemove' | 'createdAlone'>): Promise<void> {
  if (record.autoRemove && !record.createdAlone) return;
  await underContainerLock(ctx, ROOTFS_LOCKS, record.id, async () => {
    if (liveNotes(holdersDir(ctx, record.id)).length > 0) return;
    const status = (await ctx.runtime.state(record.id).catch(() => undefined))?.status;
    const stopped = status === 'exited' ? !record.autoRemove : status === 'created' && record.createdAlone === true;
    if (stopped && (await mountPoints()).includes(record.rootfs)) await unmount(record.rootfs);
  }).catch(() => undefined);
}

/** A removal's claim on a container's root filesystem (`claimRemoval`). */
export interface RemovalClaim {
  /** The removal failed: holds may be taken again. */
  cancel(): void;
  /** The container is gone: its notes go too. */
  done(): void;
}

/**
 * Mark the container's removal under way, so no new hold of its root filesystem begins, and
 * wait for those open to end (a copy's stream read or closed, a start's process started).
 * Undefined, with nothing marked or waited for, when another removal of it is under way
 * (`removalEnded` waits for it). For a container nobody ever held (`run --rm`'s): a symlink
 * and a failed readdir and, done, a failed lstat and an unlink — no directory, no process and no lock.
 */
export async function claimRemoval(ctx: Pick<EngineContext, 'runRoot'>, id: string): Promise<RemovalClaim | undefined> {
  const dir = holdersDir(ctx, id);
  const mark = markRemoval(dir);
  if (mark === undefined) return undefined;
  while (liveNotes(dir).length > 0) await pollPause();
  return {
    cancel: () => {
      unlinkIfPresent(mark);
    },
    done: () => {
      // The mark last: a hold seeing none now finds the record gone.
      rmSync(dir, { recursive: true, force: true });
      unlinkIfPresent(mark);
    },
  };
}

/** Whether a removal of container `id` is under way (one readlink when none is). */
export function removalInProgress(ctx: Pick<EngineContext, 'runRoot'>, id: string): boolean {
  return removalUnderWay(holdersDir(ctx, id));
}

/** Wait for the removal of container `id` under way to end, done or not (its process killed ends it too). */
export async function removalEnded(ctx: Pick<EngineContext, 'runRoot'>, id: string): Promise<void> {
  const dir = holdersDir(ctx, id);
  while (removalUnderWay(dir)) await pollPause();
}

const pollPause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, POLL_MS));

/** Remove an unmounted root filesystem's mount point: one rmdir, unless something was left in it. */
export async function removeMountpoint(dir: string): Promise<void> {
  // Directly: on `docker run --rm`'s path, where loading Node's promise API would cost more than the call.
  try {
    rmdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Mount a new container's root filesystem. The upper layer of a container that is removed
 * when it exits (`--rm`) is read by nobody after a crash, so, as Podman does, it is mounted
 * `volatile`: overlayfs then never syncs it, and syncing is most of what unmounting costs.
 * (Such a layer cannot be mounted again, after a crash or an unmount — nor needs to be: only
 * `run`'s is `ephemeral`, kept mounted to its removal; `create` alone unmounts its container's.)
 * Kernels before 5.10 do not know the option and get the plain mount.
 */
export async function mountNewRootfs(mounts: readonly Mount[], target: string, options: { ephemeral: boolean }): Promise<void> {
  if (options.ephemeral && mounts.some((m) => m.type === 'overlay')) {
    const volatile = mounts.map((m) => (m.type === 'overlay' ? { ...m, options: [...m.options, 'volatile'] } : m));
    try {
      return await mountAll(volatile, target);
    } catch (error) {
      if (!(isCtrError(error) && error.code === 'Internal')) throw error;
    }
  }
  await mountAll(mounts, target);
}
