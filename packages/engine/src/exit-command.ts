import { spawn } from 'node:child_process';
import { thisProcess } from '@ctr/store';

/**
 * `sh -c` scripts: `$1` and `$2` are a PID and that process's start time (field 22 of
 * /proc/PID/stat, in clock ticks, so that a reused PID is not mistaken for it); the rest is
 * a command. A command's name may hold spaces and parentheses: the fields are read after the
 * last ") ".
 */
const WHILE_RUNS = `
started() { shift 19; s=$1; }
runs() {
  { read -r stat < "/proc/$pid/stat"; } 2>/dev/null || return 1
  set -f
  started \${stat##*) }
  [ "$s" = "$start" ]
}
pid=$1 start=$2
shift 2
`;
/** The command, unless that process still runs. */
const UNLESS_RUNNING = `${WHILE_RUNS}runs && exit 0
exec "$@"`;
/** The command, once that process has ended. */
const ONCE_ENDED = `${WHILE_RUNS}while runs; do sleep 0.05; done
exec "$@"`;

/** Exit commands this process holds back (its containers' exits it acts on itself), by container. */
const owed = new Map<string, readonly string[]>();

/**
 * This process ends before it acted on exits it owes (a reader that went away ended ctr, its
 * third Ctrl-C): each container's exit command is run once it has gone. A container that has
 * exited already had its command skipped while this process ran; one still running is left
 * to its command at its exit, which then finds this process gone.
 */
function handOver(): void {
  for (const command of owed.values()) {
    try {
      spawn('/bin/sh', ['-c', ONCE_ENDED, 'sh', String(process.pid), thisProcess().startTime, ...command], { detached: true, stdio: 'ignore' }).unref();
    } catch {
      // Nothing more can be done on the way out: the next engine's start or `system check` sees it.
    }
  }
}

/**
 * `command` for container `id`, to be run at its exit only when this process no longer runs:
 * for a container this process acts on itself when it exits (`docker run --rm`, attached),
 * conmon's exit command is the daemon's part, done when this process was killed or let the
 * program run on (`--sig-proxy=false` and Ctrl-C). The check is a shell's, forked by conmon at
 * the exit, not a Node process started for every run. Owed until `settleExit(id)`: should this
 * process end before, the command is handed over at its end.
 */
export function unlessThisProcessRuns(id: string, command: readonly string[]): string[] {
  if (owed.size === 0) process.on('exit', handOver);
  owed.set(id, command);
  return ['/bin/sh', '-c', UNLESS_RUNNING, 'sh', String(process.pid), thisProcess().startTime, ...command];
}

/** This process has acted on container `id`'s exit (reported it, removed an auto-remove one). */
export function settleExit(id: string): void {
  if (owed.delete(id) && owed.size === 0) process.off('exit', handOver);
}
