import { mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { asCtrError } from '@ctr/errors';
import { holderRuns, thisProcess, uniqueHex } from '@ctr/store';

/**
 * The engine's notes of which process made something (a name claim, a pause for a copy, a
 * running exec) are symlinks whose target is `<pid> <start time>`: made and read without a
 * data block, and a PID the kernel has since given to another process is not taken for it.
 */

/** This process's note. */
export function ownNote(): string {
  return `${process.pid} ${thisProcess().startTime}`;
}

/**
 * Whether process `pid` runs and is the one that started at `started` (not another given its
 * PID since). A zombie has ended: its parent may never reap it (an orphan in a container whose
 * PID 1 does not), and a removal must not wait for it.
 */
export function processRuns(pid: number, started: string | undefined): boolean {
  return started !== undefined && holderRuns({ pid, startTime: started });
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

/**
 * Note this process in directory `dir` (made if missing), under a name no other note there has
 * (`<pid>-<random>`): one per hold, so a process can hold twice. Returns its path.
 */
export function makeNote(dir: string): string {
  const note = path.join(dir, `${process.pid}-${uniqueHex()}`);
  for (;;) {
    try {
      mkdirSync(dir, { recursive: true });
      symlinkSync(ownNote(), note);
      return note;
    } catch (error) {
      // The directory was removed between the two calls (whoever removes it when its last note goes): made again.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw asCtrError(error, 'Internal', `noting process ${process.pid} in ${dir}`);
    }
  }
}

/** Every note in a directory counts (a container's holds'): the work notes beside user pauses are picked by name. */
const everyNote = (): boolean => true;

/** The names in `dir` that `counts` picks whose process runs; the notes of processes that ended go on the way. */
export function liveNotes(dir: string, counts: (name: string) => boolean = everyNote): string[] {
  return namesIn(dir).filter((name) => {
    if (!counts(name)) return false;
    const note = readNote(path.join(dir, name));
    if (note !== undefined && noteHolderRuns(note)) return true;
    rmSync(path.join(dir, name), { force: true });
    return false;
  });
}

/** Whether a note in `dir` that `counts` picks was left by a process that ended (killed before it undid its work). One readdir when `dir` is empty or missing. */
export function abandonedNote(dir: string, counts: (name: string) => boolean = everyNote): boolean {
  return namesIn(dir).some((name) => {
    if (!counts(name)) return false;
    const note = readNote(path.join(dir, name));
    return note === undefined || !noteHolderRuns(note);
  });
}

function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
