import { thisProcess } from '@ctr/store';

/**
 * `sh -c` script: `$1` and `$2` are a PID and that process's start time (field 22 of
 * /proc/PID/stat, in clock ticks, so that a reused PID is not mistaken for it); the rest is
 * a command, run unless that process still runs. A command's name may hold spaces and
 * parentheses: the fields are read after the last ") ".
 */
const UNLESS_RUNNING = `
started() { shift 19; s=$1; }
pid=$1 start=$2
shift 2
if { read -r stat < "/proc/$pid/stat"; } 2>/dev/null; then
  set -f
  started \${stat##*) }
  [ "$s" = "$start" ] && exit 0
fi
exec "$@"`;

/**
 * `command`, to be run at a container's exit only when this process no longer runs: for a
 * container this process acts on itself when it exits (`docker run --rm`, attached), conmon's
 * exit command is the daemon's part, done when this process was killed or let the program
 * run on (`--sig-proxy=false` and Ctrl-C). The check is a shell's, forked by conmon at the
 * exit, not a Node process started for every run.
 */
export function unlessThisProcessRuns(command: readonly string[]): string[] {
  return ['/bin/sh', '-c', UNLESS_RUNNING, 'sh', String(process.pid), thisProcess().startTime, ...command];
}
