import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * An exec's session directory (`<container>/exec/<session>/`) is conmon's: its sockets, its
 * log and, once the process has ended, its exit file in `exit/`, named for the container as
 * conmon names it. A caller that waits for the exec hears the end on conmon's pipe and removes the
 * directory itself; one that detaches (`exec -d`, an abort) leaves it to conmon and marks it,
 * so that a sweep removes only directories nobody uses again. An exit file alone is not enough:
 * conmon writes it just before it reports the exit on its pipe, and the caller still waiting
 * there — in this process or another on the same root — owns the directory until it has heard.
 */
const DETACHED = 'detached';

/** Where conmon writes the exit file of the session in `session`. */
export function sessionExitDir(session: string): string {
  return path.join(session, 'exit');
}

/** Give the session up to the sweeps: nobody reads its directory from now on. */
export function markDetached(session: string): void {
  try {
    writeFileSync(path.join(session, DETACHED), '');
  } catch {
    // Unmarked (a full disk), it stays until the container is removed.
  }
}

/**
 * Remove the directories of the detached sessions of `containerId` that have ended. Cheap
 * enough for every exec: one readdir, and a stat or two per session. A session whose
 * `runc exec` failed after its caller detached gets no exit file from conmon, and stays.
 */
export function sweepEndedSessions(execDir: string, containerId: string): void {
  let names: string[];
  try {
    names = readdirSync(execDir);
  } catch {
    // No exec has run in the container yet.
    return;
  }
  for (const name of names) {
    const session = path.join(execDir, name);
    if (!existsSync(path.join(session, DETACHED)) || !existsSync(path.join(sessionExitDir(session), containerId))) continue;
    try {
      rmSync(session, { recursive: true, force: true });
    } catch {
      // Another sweep (another process on this root) removing it too, or a full disk's trouble: the next sweep tries again.
    }
  }
}
