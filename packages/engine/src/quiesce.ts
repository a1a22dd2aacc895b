import { mkdirSync, readdirSync, rmdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { conflict } from '@ctr/errors';
import { withLock } from '@ctr/store';
import { abandonedNote, liveNotes, makeNote, readNote } from './process-notes';
import type { EngineContext } from './context';

/**
 * A running container is frozen while the host works on its files (a copy, a commit), and
 * while its user wants it paused; it runs again once neither does. Who wants it frozen is
 * noted in `<runRoot>/engine/freezes/<id>/` (the run root: no freeze outlives a reboot): one
 * note per piece of work, a symlink to its process (`makeNote`), and `user` while the user's
 * pause is in force beside work — so a `pause` and an `unpause` meanwhile change only what the
 * user asked for, and the work is never thawed under. Changes are made under the lock beside
 * it (`<id>.lock`). dockerd pauses inside the daemon, which a killed client cannot leave
 * paused; here the work runs in the client, so whoever looks at the container next resumes it
 * once that process is gone (`resumeAbandonedQuiesce`).
 */
function freezesOf(ctx: EngineContext, id: string): string {
  return path.join(ctx.runRoot, 'engine', 'freezes', id);
}

/** The user's pause, noted only while work freezes the container too (alone, the freezer's state is the pause). */
const USER = 'user';
const isWork = (name: string): boolean => name !== USER;

function userPaused(dir: string): boolean {
  return readNote(path.join(dir, USER)) !== undefined;
}

function forgetUserPause(dir: string): void {
  rmSync(path.join(dir, USER), { force: true });
}

/** `fn` under the lock beside the freezes' directory `dir` (`<id>.lock`), which every change to them is made under. */
async function underFreezesLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  return withLock(`${dir}.lock`, fn);
}

function noteUserPause(dir: string): void {
  mkdirSync(dir, { recursive: true });
  // A symlink, as the work's notes: made without a data block, so a full disk does not stop it.
  if (!userPaused(dir)) symlinkSync(USER, path.join(dir, USER));
}

/** Under the lock: thaw the container unless work or its user still wants it frozen. */
async function thawUnlessWanted(ctx: EngineContext, id: string, dir: string): Promise<void> {
  if (liveNotes(dir, isWork).length > 0 || userPaused(dir)) return;
  const state = await ctx.runtime.state(id).catch(() => undefined);
  if (state?.paused) await ctx.runtime.unpause(id);
  removeIfEmpty(dir);
}

/** Under the lock, when nothing wants the container frozen: its directory goes, unless a note is being made there. */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // gone already, or not empty: the next thaw removes it
  }
}

/**
 * Freeze a running container while the host works on its files, so no process inside can
 * swap a checked path component for a symlink before it is used (CVE-2018-15664; Podman
 * pauses for `cp` the same way). Resolves with the undo, which is safe to call twice and
 * thaws the container unless other work or its user still wants it frozen. One paused already
 * by its user (or by anything but an engine's work) is noted as the user's pause, so it stays
 * paused after; a user's `unpause` meanwhile leaves it frozen until the work ends.
 */
export async function quiesce(ctx: EngineContext, id: string): Promise<() => Promise<void>> {
  const nothing = async (): Promise<void> => undefined;
  const state = await ctx.runtime.state(id).catch(() => undefined);
  if (!state?.running) return nothing;
  const dir = freezesOf(ctx, id);
  const note = await underFreezesLock(dir, async () => {
    const now = await ctx.runtime.state(id).catch(() => undefined);
    if (!now?.running) return undefined;
    // A pause left by killed work is no one's: the look before this work (`find`) resumed it, or will.
    const abandoned = abandonedNote(dir, isWork);
    const working = liveNotes(dir, isWork).length > 0;
    // Running, it has no user's pause in force: one noted is of a pause since undone (a stop).
    if (!now.paused) forgetUserPause(dir);
    else if (!working && !abandoned) noteUserPause(dir);
    const made = makeNote(dir);
    if (!now.paused) {
      try {
        await ctx.runtime.pause(id);
      } catch (error) {
        rmSync(made, { force: true });
        throw error;
      }
    }
    return made;
  });
  if (note === undefined) return nothing;
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await underFreezesLock(dir, async () => {
      rmSync(note, { force: true });
      await thawUnlessWanted(ctx, id, dir).catch(() => undefined);
    });
  };
}

/**
 * `docker pause`. A container frozen for work on its files is paused for its user all the
 * same — it then stays paused once the work ends — rather than refused: to its user it runs.
 */
export async function pauseForUser(ctx: EngineContext, id: string): Promise<void> {
  const dir = freezesOf(ctx, id);
  await underFreezesLock(dir, async () => {
    const working = liveNotes(dir, isWork).length > 0;
    const frozen = working && !userPaused(dir) && (await ctx.runtime.state(id).catch(() => undefined))?.paused === true;
    // Otherwise the runtime's pause, which refuses one paused already (by the user).
    if (!frozen) await ctx.runtime.pause(id);
    if (working) noteUserPause(dir);
  });
}

/**
 * `docker unpause`. It takes back the user's pause only: work on the container's files that
 * froze it keeps it frozen until it ends (then it runs), so a copy is never thawed under. With
 * no pause of the user's there is nothing to take back: "not paused", as docker answers for a
 * running container (`docker cp` freezes nothing). A pause left by work whose process was
 * killed is no work's any more: it is undone.
 */
export async function unpauseForUser(ctx: EngineContext, id: string): Promise<void> {
  const dir = freezesOf(ctx, id);
  await underFreezesLock(dir, async () => {
    if (liveNotes(dir, isWork).length === 0) {
      forgetUserPause(dir);
      await ctx.runtime.unpause(id);
      return removeIfEmpty(dir);
    }
    if (!userPaused(dir)) throw conflict(`Container ${id} is not paused: it is frozen while its files are copied or committed, and runs again once that ends`);
    forgetUserPause(dir);
  });
}

/**
 * Resume container `id` if work on its files froze it and its process was killed before the
 * work's end thawed it (its note names a process no longer running), unless other work or its
 * user still wants it frozen. One readdir when there is nothing to do. Resolves with whether
 * the container has notes of freezes (a user's pause can outlast the work beside it): its
 * removal then takes them (`forgetFreezes`), and the many that never had any cost it nothing.
 */
export async function resumeAbandonedQuiesce(ctx: EngineContext, id: string): Promise<boolean> {
  const dir = freezesOf(ctx, id);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return false;
  }
  if (names.length > 0 && abandonedNote(dir, isWork)) {
    // A look at the container never fails for this: what is not done now, the next look does.
    await underFreezesLock(dir, () => thawUnlessWanted(ctx, id, dir)).catch(() => undefined);
  }
  return true;
}

/** A removed container's notes of freezes go with it. */
export function forgetFreezes(ctx: EngineContext, id: string): void {
  rmSync(freezesOf(ctx, id), { recursive: true, force: true });
}
