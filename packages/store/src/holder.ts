import { readFileSync } from 'node:fs';

/**
 * A process named for good: its PID and its start time (field 22 of /proc/PID/stat, clock
 * ticks since boot), so that a PID the kernel has since given to another process is not
 * mistaken for it. What a lease or a temporary file of the store records of its maker.
 */
export interface ProcessHolder {
  pid: number;
  startTime: string;
}

/** Index of the start time among /proc/PID/stat's fields read after the command name (field n is at n - 3). */
const START_TIME = 19;

/** /proc/PID/stat's fields from the third (the state) on, or undefined when there is no such process. */
function statFields(pid: number | 'self'): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // After the command name's closing parenthesis: the name itself may hold spaces and parentheses.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** When process `pid` started, or undefined when there is no such process. */
export function processStartTime(pid: number | 'self'): string | undefined {
  return statFields(pid)?.[START_TIME];
}

let own: ProcessHolder | undefined;

/** This process (read once). */
export function thisProcess(): ProcessHolder {
  own ??= { pid: process.pid, startTime: processStartTime('self') ?? '' };
  return own;
}

/**
 * Whether `holder` still runs: its PID is there, started when it did, and is not a zombie
 * (one whose parent has not reaped it yet — an orphan waits for PID 1, which in some
 * containers never reaps — has ended all the same).
 */
export function holderRuns(holder: ProcessHolder): boolean {
  if (holder.pid === process.pid) return holder.startTime === thisProcess().startTime;
  const fields = statFields(holder.pid);
  return fields !== undefined && fields[0] !== 'Z' && fields[START_TIME] === holder.startTime;
}

/** Whether a process with this PID exists (whichever it is). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
