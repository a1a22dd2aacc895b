import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { noteHolderRuns, ownNote, readNote } from './process-notes';
import { withLock } from '@ctr/store';
import type { EngineContext } from './context';

/**
 * Where the engine notes which process paused a container to work on its files:
 * `<root>/engine/quiesced/<id> → <pid> <start time>`, a symlink (made and read without a data
 * block, so a full disk does not stop it), beside the lock (`<id>.lock`) its pause and resume
 * are made under. dockerd pauses inside the daemon, which a killed client cannot leave
 * paused; here the pausing process is the client, so whoever looks at the container next
 * resumes it once that process is gone (`resumeAbandonedQuiesce`).
 */
function markerOf(ctx: EngineContext, id: string): string {
  return path.join(ctx.root, 'engine', 'quiesced', id);
}

/** Tells this process's pauses apart, so each undo knows whether the pause in force is its own. */
let pauses = 0;

/**
 * Freeze a running container while the host works on its files, so no process inside can
 * swap a checked path component for a symlink before it is used (CVE-2018-15664; Podman
 * pauses for `cp` the same way). Resolves with the undo, which is safe to call twice. A
 * container paused already (by its user, or by another process at the same work) is left
 * as it is, and so is it after; the undo thaws only the pause it made, while its note is
 * still there: a user's `pause` meanwhile takes the note away (`pauseForUser`).
 */
export async function quiesce(ctx: EngineContext, id: string): Promise<() => Promise<void>> {
  const nothing = async (): Promise<void> => undefined;
  const state = await ctx.runtime.state(id).catch(() => undefined);
  if (!state?.running || state.paused) return nothing;
  const marker = markerOf(ctx, id);
  mkdirSync(path.dirname(marker), { recursive: true, mode: 0o700 });
  const lock = `${marker}.lock`;
  // `noteHolderRuns` reads the process from the first two fields; the third is this pause's.
  const note = `${ownNote()} ${++pauses}`;
  const paused = await withLock(lock, async () => {
    const now = await ctx.runtime.state(id).catch(() => undefined);
    if (!now?.running || now.paused) return false;
    // One there is a killed process's whose container was resumed since: it is replaced.
    rmSync(marker, { force: true });
    symlinkSync(note, marker);
    try {
      await ctx.runtime.pause(id);
    } catch (error) {
      rmSync(marker, { force: true });
      throw error;
    }
    return true;
  });
  if (!paused) return nothing;
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await withLock(lock, async () => {
      if (readNote(marker) !== note) return;
      await ctx.runtime.unpause(id).catch(() => undefined);
      rmSync(marker, { force: true });
    });
  };
}

/**
 * `docker pause`. A container frozen for work on its files (`quiesce`) is paused already:
 * the user's pause takes that one over — its note goes, so the work's end leaves the
 * container paused — rather than fail. A note left by work the user unpaused meanwhile goes
 * too: the pause made now is the user's.
 */
export async function pauseForUser(ctx: EngineContext, id: string): Promise<void> {
  const marker = markerOf(ctx, id);
  mkdirSync(path.dirname(marker), { recursive: true, mode: 0o700 });
  await withLock(`${marker}.lock`, async () => {
    const frozen = readNote(marker) !== undefined && (await ctx.runtime.state(id).catch(() => undefined))?.paused === true;
    if (!frozen) await ctx.runtime.pause(id);
    rmSync(marker, { force: true });
  });
}

/**
 * Resume container `id` if a process paused it to work on its files and was killed before it
 * resumed it (its note names a process no longer running); true when it was resumed here. A
 * pause the user asked for leaves no note and is never undone. One readlink when there is
 * nothing to do.
 */
export async function resumeAbandonedQuiesce(ctx: EngineContext, id: string): Promise<boolean> {
  const marker = markerOf(ctx, id);
  const holder = readNote(marker);
  if (holder === undefined || noteHolderRuns(holder)) return false;
  // A look at the container never fails for this: what is not done now, the next look does.
  return withLock(`${marker}.lock`, async () => {
    const now = readNote(marker);
    if (now === undefined || noteHolderRuns(now)) return false;
    const state = await ctx.runtime.state(id).catch(() => undefined);
    if (state?.paused && !(await ctx.runtime.unpause(id).then(() => true, () => false))) return false;
    rmSync(marker, { force: true });
    return state?.paused === true;
  }).catch(() => false);
}
