import { promises as fs, constants as fsc } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { conflict, invalidArgument } from '@ctr/errors';

/** A terminal's size in character cells. */
export interface TerminalSize {
  height: number;
  width: number;
}

/** Refuse sizes no terminal has (they end up in an ioctl). */
export function checkTerminalSize(size: TerminalSize): void {
  const { height, width } = size;
  if (![height, width].every((n) => Number.isInteger(n) && n > 0 && n <= 1000)) {
    throw invalidArgument(`invalid terminal size ${height}x${width}: each must be between 1 and 1000`);
  }
}

/**
 * Older conmon releases (Debian's 2.1.6 among them) apply the first message of each read to every line in it, so two
 * sizes written back to back can leave the pty at the older one. Writes to one fifo are
 * therefore spaced apart, and a size asked for while another waits replaces it: a burst
 * of window changes ends at its newest size.
 */
const RESIZE_SPACING_MS = 20;

interface ResizeQueue {
  /** The write not yet begun; its size is the newest asked for. */
  waiting?: { size: TerminalSize; written: Promise<void> };
  /** Settles once the last write began has ended and the spacing after it has passed. */
  idle: Promise<void>;
}

const resizeQueues = new Map<string, ResizeQueue>();

/**
 * Resize the pty conmon holds for a container or an exec session through its control
 * fifo (`1 <height> <width>`). `what` names the session when conmon is no longer there.
 */
export async function resizeTerminal(ctlFifo: string, size: TerminalSize, what: string): Promise<void> {
  checkTerminalSize(size);
  const queue = resizeQueues.get(ctlFifo) ?? { idle: Promise.resolve() };
  if (queue.waiting) {
    queue.waiting.size = size;
    return queue.waiting.written;
  }
  const waiting = { size } as { size: TerminalSize; written: Promise<void> };
  waiting.written = queue.idle.then(() => {
    queue.waiting = undefined;
    return writeTerminalSize(ctlFifo, waiting.size, what);
  });
  queue.waiting = waiting;
  const idle = waiting.written.catch(() => undefined).then(() => delay(RESIZE_SPACING_MS, undefined, { ref: false }));
  queue.idle = idle;
  resizeQueues.set(ctlFifo, queue);
  void idle.then(() => {
    if (queue.idle === idle) resizeQueues.delete(ctlFifo);
  });
  return waiting.written;
}

async function writeTerminalSize(ctlFifo: string, size: TerminalSize, what: string): Promise<void> {
  let handle;
  try {
    // Non-blocking: with no conmon reading the fifo, open fails (ENXIO) instead of hanging.
    handle = await fs.open(ctlFifo, fsc.O_WRONLY | fsc.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENXIO') throw conflict(`${what} is not running`, { cause: error });
    throw error;
  }
  try {
    await handle.write(`1 ${size.height} ${size.width}\n`);
  } catch (error) {
    // conmon closed the fifo between the open and the write: the session just ended.
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') throw conflict(`${what} is not running`, { cause: error });
    throw error;
  } finally {
    await handle.close();
  }
}
