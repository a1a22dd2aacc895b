import { close, constants, existsSync, openSync, readFileSync, write } from 'node:fs';

/**
 * Moving a process into a cgroup — what runc does with every container's init and every
 * exec — takes the kernel's global cgroup_threadgroup_rwsem for writing. When no move has
 * happened within the last RCU grace period, taking it waits for a whole grace period
 * first: 6–16 ms on a VM, paid by every container start on an otherwise quiet machine,
 * while a move made within a few ms of another costs microseconds.
 *
 * So while ctr prepares and starts a container, it moves itself into the cgroup it is
 * already in (a no-op move that takes the same lock) every few ms: the first such move
 * pays the grace period on a thread-pool thread, beside ctr's own work, and the rest keep
 * the lock's fast path open until runc makes its move. Kernels mounted with
 * `favordynmods` make this free, and where the file cannot be written it is not tried again.
 */

/** Below the shortest grace period seen (≈ 6 ms), so the fast path never lapses between moves. */
const INTERVAL_MS = 3;

/** The open `cgroup.procs` of this process's cgroup; null where it cannot be written. */
let procs: number | null | undefined;
let holds = 0;
let deadline = 0;
let moving = false;

/** Keep cgroup moves fast until the returned function is called. */
export function holdCgroupMovesFast(): () => void {
  holds++;
  keepMoving();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holds--;
  };
}

/** Keep cgroup moves fast for the next `ms` milliseconds (a start is likely to follow). */
export function keepCgroupMovesFastFor(ms: number): void {
  deadline = Math.max(deadline, Date.now() + ms);
  keepMoving();
}

/** Whether the moves are being made now (for tests). */
export function keepingCgroupMovesFast(): boolean {
  return moving;
}

function keepMoving(): void {
  if (moving) return;
  const fd = ownProcs();
  if (fd === null) return;
  moving = true;
  const move = (): void => {
    if (holds === 0 && Date.now() >= deadline) {
      moving = false;
      return;
    }
    // "0" is the writing process itself, already in this cgroup.
    write(fd, '0', (error) => {
      if (!error) {
        setTimeout(move, INTERVAL_MS).unref();
        return;
      }
      procs = null;
      moving = false;
      close(fd, () => undefined);
    });
  };
  move();
}

/** `cgroup.procs` of the cgroup this process is in, on any hierarchy: the lock is global. */
function ownProcs(): number | null {
  if (procs !== undefined) return procs;
  procs = null;
  let lines: string[];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return null;
  }
  for (const line of lines) {
    const [, controllers, cgroup] = line.split(':');
    if (controllers === undefined || cgroup === undefined) continue;
    const mount = controllers === '' ? '/sys/fs/cgroup' : `/sys/fs/cgroup/${controllers.replace(/^name=/, '')}`;
    const file = `${mount}${cgroup === '/' ? '' : cgroup}/cgroup.procs`;
    if (!existsSync(file)) continue;
    try {
      return (procs = openSync(file, constants.O_WRONLY));
    } catch {
      return null;
    }
  }
  return null;
}
