import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { commandName, isAlive, procStat, processRuns, START_TIME } from './proc-stat';

/**
 * An exec's session directory (`<container>/exec/<session>/`) is conmon's: its sockets, its
 * log and, once the process has ended, its exit file in `exit/`, named for the container as
 * conmon names it. A caller that waits for the exec hears the end on conmon's pipe and removes the
 * directory itself; one that detaches (`exec -d`, an abort) leaves it to conmon and marks it,
 * so that a sweep removes only directories nobody uses again. An exit file alone is not enough:
 * conmon writes it just before it reports the exit on its pipe, and the caller still waiting
 * there — in this process or another on the same root — owns the directory until it has heard.
 * A caller that dies waiting (SIGKILL, a crash) marks nothing: the session names its caller,
 * and a sweep that finds that caller gone treats the session as detached. A session conmon
 * left without an exit file (its `runc exec` failed, conmon was killed, the machine rebooted)
 * has ended too once its conmon is gone.
 */
const DETACHED = 'detached';
const CALLER = 'caller';
const MONITOR_PID = 'conmon.pid';

/** Where conmon writes the exit file of the session in `session`. */
export function sessionExitDir(session: string): string {
  return path.join(session, 'exit');
}

/** Where conmon writes its own pid for the session in `session`. */
export function sessionMonitorPidFile(session: string): string {
  return path.join(session, MONITOR_PID);
}

/**
 * Name this process as the caller waiting for the session, before conmon can end it: its pid
 * and start time, which together no later process has, so a pid reused after the caller died
 * does not pass for it (engines on one root share a pid namespace, as the conmon pids in the
 * container records already assume). Not a lock the kernel drops at the caller's death: Node
 * has no flock or fcntl lock, and a helper process holding one for us would outlive a SIGKILL.
 */
export function recordCaller(session: string): void {
  const start = procStat('self')?.[START_TIME];
  try {
    if (start !== undefined) writeFileSync(path.join(session, CALLER), `${process.pid} ${start}`);
  } catch {
    // Unnamed (no /proc, a full disk), the session is taken to have a live caller: kept until the container is removed.
  }
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
 * Whether the process named as the session's caller still runs. A session that names none (an
 * older engine's, or one whose record could not be written whole) is assumed to have one.
 */
function callerRuns(session: string): boolean {
  let identity: string;
  try {
    identity = readFileSync(path.join(session, CALLER), 'latin1');
  } catch {
    return true;
  }
  const [, pid, start] = /^(\d+) (\d+)$/.exec(identity) ?? [];
  if (pid === undefined) return true;
  return processRuns(Number(pid), Number(start));
}

/**
 * Whether the session's conmon may still run. Until it has written its pid, it is taken to:
 * it may be starting. Its pid taken since by a process of another name is not its conmon.
 */
function monitorRuns(session: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(sessionMonitorPidFile(session), 'latin1'), 10);
  } catch {
    return true;
  }
  return Number.isNaN(pid) || (isAlive(pid) && commandName(pid) === 'conmon');
}

/**
 * Remove the directories of the sessions of `containerId` that have ended and that nobody
 * waits for: detached, or whose caller has died. A session has ended when conmon wrote its
 * exit file, or when its conmon is gone without one. Cheap enough for every exec: one readdir,
 * for a running session a stat and two small reads, and for an ended one a stat or two and
 * two small reads.
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
    if (!existsSync(path.join(sessionExitDir(session), containerId)) && monitorRuns(session)) continue;
    if (!existsSync(path.join(session, DETACHED)) && callerRuns(session)) continue;
    try {
      rmSync(session, { recursive: true, force: true });
    } catch {
      // Another sweep (another process on this root) removing it too, or a full disk's trouble: the next sweep tries again.
    }
  }
}
