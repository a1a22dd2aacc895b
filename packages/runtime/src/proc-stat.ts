import { readFileSync } from 'node:fs';

/**
 * The fields of /proc/PID/stat from the third on (state, ppid, … — field n of proc(5) is at
 * index n - 3), or undefined when there is no such process. They are read after the
 * command name's closing parenthesis: the name itself may hold spaces and parentheses.
 */
export function procStat(pid: number | 'self'): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot (with its pid, names it for good). */
export const START_TIME = 19;

/** Whether the process `pid` that started at `startTime` still runs: a zombie has died, only its parent's wait keeps it in /proc. */
export function processRuns(pid: number, startTime: number): boolean {
  const fields = procStat(pid);
  return fields !== undefined && Number(fields[START_TIME]) === startTime && fields[0] !== 'Z';
}

/**
 * Whether a process runs. A zombie counts as gone: conmon daemonizes and, where PID 1
 * does not reap orphans, lingers as one after it exits.
 */
export function isAlive(pid: number | undefined): boolean {
  const state = pid ? procStat(pid)?.[0] : undefined;
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** A process's command name (/proc/PID/comm, at most 15 bytes), or undefined when there is no such process. */
export function commandName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trimEnd();
  } catch {
    return undefined;
  }
}
