import { promises as fs, constants as fsc } from 'node:fs';
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
 * Resize the pty conmon holds for a container or an exec session through its control
 * fifo (`1 <height> <width>`). `what` names the session when conmon is no longer there.
 */
export async function resizeTerminal(ctlFifo: string, size: TerminalSize, what: string): Promise<void> {
  checkTerminalSize(size);
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
