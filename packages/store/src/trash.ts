import { promises as fs, renameSync } from 'node:fs';
import path from 'node:path';
import { errno, trashName } from './fs-util';
import { thisProcess, type ProcessHolder } from './holder';
import { removeTreeBehind, treeDeleter } from './mount-syscalls';

/*
 * A removed tree leaves its place in one rename, to a trash name beside it that names the
 * process deleting it (`trashName`), and is deleted there. Another process looking at the
 * store — `ctr system check` right after `ctr rm`, whose relay still deletes — then never
 * sees a half-deleted directory where a live one was: fsck and gc pass over trash whose
 * deleter runs and finish that of a deleter that was killed (`abandonedTemp`).
 */

/**
 * Delete the tree `dir` behind this process, by the mount relay, which finishes even when
 * this process ends first. Resolves once it is gone; rejects as `removeTreeBehind` does
 * (something mounted inside: the trash stays, with the mount, named for nobody, for fsck to
 * report at once rather than once the relay has exited). Undefined when there is no relay:
 * nothing was moved, `discardTree` deletes it here.
 */
export function discardTreeBehind(dir: string): Promise<void> | undefined {
  const deleter = treeDeleter();
  if (deleter === undefined) return undefined;
  const trash = moveToTrash(dir, deleter);
  if (trash === undefined) return Promise.resolve();
  return (removeTreeBehind(trash) ?? deleteHere(trash)).catch((error: unknown) => {
    moveToTrash(trash, NOBODY);
    throw error;
  });
}

/** The deleter of trash nobody deletes: no process has PID 0 (`abandonedTemp`). */
const NOBODY: ProcessHolder = { pid: 0, startTime: '0' };

/** Delete the tree `dir` in this process (out of sight first). */
export async function discardTree(dir: string): Promise<void> {
  const trash = moveToTrash(dir, thisProcess());
  if (trash !== undefined) await deleteHere(trash);
}

/**
 * Where `dir` now is, renamed for `deleter`; undefined when it is not there. A rename the
 * filesystem refuses leaves it in place, to be deleted there.
 */
function moveToTrash(dir: string, deleter: ProcessHolder): string | undefined {
  const trash = trashName(path.dirname(dir), deleter);
  try {
    // Directly: one rename on `run --rm`'s path, where a thread-pool round trip costs more than the call.
    renameSync(dir, trash);
    return trash;
  } catch (error) {
    return errno(error) === 'ENOENT' ? undefined : dir;
  }
}

function deleteHere(dir: string): Promise<void> {
  return fs.rm(dir, { recursive: true, force: true });
}
