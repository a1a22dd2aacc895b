import { mkdirSync, promises as fs, readdirSync, rmdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { conflict, isCtrError } from '@ctr/errors';
import { mountAll, mountPoints, unmount, type Mount } from '@ctr/store';
import type { ContainerRecord } from './container-records';
import { underContainerLock } from './container-lock';
import type { EngineContext } from './context';
import { noteHolderRuns, ownNote, readNote } from './process-notes';

/**
 * A container's root filesystem is mounted while it runs, and while a process works on its
 * files (a start on its way, a copy, an export): a stopped one is unmounted, as dockerd and
 * Podman unmount it at its exit. Several engine processes share a root, so who needs it is
 * noted on disk, in `<runRoot>/engine/rootfs-holders/<id>/` (the run root: no holder outlives
 * a reboot): one note per hold, a symlink to its process (`ownNote`), and one per removal
 * under way (`removing-…`). A mount and an unmount are decided under the container's rootfs
 * lock; a removal takes no lock — its note and a hold's are each made before the other is
 * looked for, so at least one of them sees the other: the hold gives way (moby's archive
 * operations refuse a container being removed), the removal waits for the hold to end (as
 * moby's waits for the container lock a copy holds until its stream is read).
 */

const ROOTFS_LOCKS = 'rootfs-locks';
const REMOVING = 'removing-';
const POLL_MS = 50;

function holdersDir(ctx: Pick<EngineContext, 'runRoot'>, id: string): string {
  return path.join(ctx.runRoot, 'engine', 'rootfs-holders', id);
}

/** A note of this process in `dir`, named to differ from every other. */
function makeNote(dir: string, prefix = ''): string {
  mkdirSync(dir, { recursive: true });
  const note = path.join(dir, `${prefix}${process.pid}-${Math.floor(Math.random() * 2 ** 48).toString(16)}`);
  symlinkSync(ownNote(), note);
  return note;
}

/** The notes in `dir` of live processes, `removing` or holding; those of processes that ended go on the way. */
function liveNotes(dir: string, removing: boolean): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((name) => {
    if (name.startsWith(REMOVING) !== removing) return false;
    const note = readNote(path.join(dir, name));
    if (note !== undefined && noteHolderRuns(note)) return true;
    rmSync(path.join(dir, name), { force: true });
    return false;
  });
}

/**
 * Hold container `record`'s root filesystem mounted (mounting it if it is not: a stopped
 * container's, or any after a reboot) until the returned release, which unmounts it again if
 * the container is then stopped and nobody else holds it. `action` names the work in the
 * refusal when the container is being removed ("started", "copied").
 */
export async function holdRootfs(ctx: EngineContext, record: Pick<ContainerRecord, 'id' | 'name' | 'rootfs' | 'snapshot' | 'autoRemove'>, action: string): Promise<() => Promise<void>> {
  const dir = holdersDir(ctx, record.id);
  const note = makeNote(dir);
  const drop = (): void => rmSync(note, { force: true });
  try {
    if (liveNotes(dir, true).length > 0) throw conflict(`container ${record.name} is marked for removal and cannot be ${action}`);
    await underContainerLock(ctx, ROOTFS_LOCKS, record.id, async () => {
      if ((await mountPoints()).includes(record.rootfs)) return;
      await fs.mkdir(record.rootfs, { recursive: true });
      await mountAll(await ctx.store.snapshots.mounts(record.snapshot), record.rootfs);
    });
  } catch (error) {
    drop();
    throw error;
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    drop();
    await unmountStopped(ctx, record);
  };
}

/**
 * Unmount the root filesystem of a container that has stopped (its process exited), unless a
 * process holds it (`holdRootfs`): that hold's release unmounts it. One that runs, is paused,
 * was only created (its first start mounts nothing again) or is gone is left as it is, and so
 * is one removed at its exit (`--rm`): its removal unmounts it, and its volatile upper layer
 * could not be mounted again. Never fails: nobody at an exit has anyone to tell, and what does
 * not come off (a host process inside) comes off at the next exit or at the container's
 * removal, which reports it.
 */
export async function unmountStopped(ctx: EngineContext, record: Pick<ContainerRecord, 'id' | 'rootfs' | 'autoRemove'>): Promise<void> {
  if (record.autoRemove) return;
  await underContainerLock(ctx, ROOTFS_LOCKS, record.id, async () => {
    if (liveNotes(holdersDir(ctx, record.id), false).length > 0) return;
    if ((await ctx.runtime.state(record.id).catch(() => undefined))?.status !== 'exited') return;
    if ((await mountPoints()).includes(record.rootfs)) await unmount(record.rootfs);
  }).catch(() => undefined);
}

/** A removal's claim on a container's root filesystem (`claimRemoval`). */
export interface RemovalClaim {
  /** Whether it waited for holds to end: what it saw of the container before may have changed. */
  readonly waited: boolean;
  /** The removal failed: holds may be taken again. */
  cancel(): void;
  /** The container is gone: its notes go too. */
  done(): void;
}

/**
 * Mark the container's removal under way, so no new hold of its root filesystem begins, and
 * wait for those open to end (a copy's stream read or closed, a start's process started).
 * With nothing held: a mkdir, a symlink and a readdir, no process and no lock.
 */
export async function claimRemoval(ctx: Pick<EngineContext, 'runRoot'>, id: string): Promise<RemovalClaim> {
  const dir = holdersDir(ctx, id);
  const note = makeNote(dir, REMOVING);
  let waited = false;
  while (liveNotes(dir, false).length > 0) {
    waited = true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return {
    waited,
    cancel: () => rmSync(note, { force: true }),
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

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
 * (Such a layer cannot be mounted again after a crash — nor needs to be.) Kernels before
 * 5.10 do not know the option and get the plain mount.
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
