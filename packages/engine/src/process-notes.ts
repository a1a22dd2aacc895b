import { readlinkSync } from 'node:fs';
import { ownStartTime, procStat, START_TIME } from '@ctr/runtime';

/**
 * The engine's notes of which process made something (a name claim, a pause for a copy, a
 * running exec) are symlinks whose target is `<pid> <start time>`: made and read without a
 * data block, and a PID the kernel has since given to another process is not taken for it.
 */

/** This process's note. */
export function ownNote(): string {
  return `${process.pid} ${ownStartTime()}`;
}

/** Whether process `pid` runs and is the one that started at `started` (not another given its PID since). */
export function processRuns(pid: number, started: string | undefined): boolean {
  return procStat(pid)?.[START_TIME] === started;
}

/** Whether the process a note (`<pid> <start time>`) names still runs. */
export function noteHolderRuns(note: string): boolean {
  const [pid, started] = note.split(' ');
  return processRuns(Number(pid), started);
}

/** A note's (a symlink's) text, or undefined when there is none. */
export function readNote(link: string): string | undefined {
  try {
    return readlinkSync(link);
  } catch {
    return undefined;
  }
}
