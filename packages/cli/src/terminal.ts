import { spawn } from 'node:child_process';
import { invalidArgument } from '@ctr/errors';
import type { Io } from './command';

/** A terminal's size in character cells. */
export interface TerminalSize {
  height: number;
  width: number;
}

/**
 * docker's CheckTty, before an attached `run -it` or `exec -it`: a TTY whose input is attached
 * takes its keys from a terminal, so input that is not one is refused (pipe input without `-t`).
 */
export function checkTty(io: Io, attachStdin: boolean, tty: boolean): void {
  if (tty && attachStdin && io.stdin.isTTY !== true) throw invalidArgument('the input device is not a TTY');
}

/** The size of the terminal ctr writes to, when it writes to one. */
export function terminalSize(io: Io): TerminalSize | undefined {
  return io.stdout.isTTY && io.stdout.rows && io.stdout.columns ? { height: io.stdout.rows, width: io.stdout.columns } : undefined;
}

/** How docker's CLI retries the first resize of a TTY that is not ready for it (initTtySize): 10 more tries, the n-th after n × 10 ms. */
const RESIZE_RETRIES = 10;
const RESIZE_RETRY_STEP_MS = 10;

/**
 * Output flags that moby/term's MakeRaw (what docker's CLI puts its input terminal in)
 * clears and libuv's raw mode (Node's `setRawMode`) leaves set. OPOST above all: with it
 * the terminal turns every `\n` the container's own pty already made `\r\n` into `\r\r\n`.
 * The rest are input and local flags MakeRaw clears too (cfmakeraw's set).
 */
const MAKE_RAW_REST = ['-opost', '-ignbrk', '-parmrk', '-inlcr', '-igncr', '-echonl'];

export interface TerminalSession {
  /**
   * The program runs: give its TTY the window's size now and whenever the window changes
   * (SIGWINCH), as docker's CLI does once the container (or exec) has started. A first
   * resize that fails is tried again for a while, then given up with docker's words.
   * `nudge` first sets a size one cell larger, as `docker attach` does, so that a program
   * reattached to at an unchanged size still hears of a change and redraws.
   */
  follow(resizeTo: (size: TerminalSize) => Promise<void>, options?: { nudge?: boolean }): void;
  /** Stop following the window and give the terminal back its own mode. */
  restore(): Promise<void>;
}

/**
 * A TTY session on ctr's terminal, as docker's CLI holds one: with `raw` (the session
 * reads the terminal: stdin attached to a TTY), the input terminal is put in docker's raw
 * mode; the window's size is followed once `follow` is called, if ctr writes to a terminal.
 * `restore` undoes both; should ctr end any other way, Node itself puts back the terminal
 * modes it found at its start (at exit, and on SIGINT or SIGTERM).
 */
export function terminalSession(io: Io, options: { raw: boolean }): TerminalSession {
  const stdin = io.stdin as Io['stdin'] & { fd?: number };
  const raw = options.raw && stdin.isTTY === true && stdin.setRawMode !== undefined;
  let madeRaw: Promise<void> = Promise.resolve();
  if (raw) {
    stdin.setRawMode?.(true);
    // Node has no termios call of its own: stty sets what libuv left, on the same terminal.
    // Not waited for here: it is done long before a container has started and said anything.
    const fd = stdin.fd;
    if (typeof fd === 'number') {
      madeRaw = new Promise<void>((resolve) => {
        const stty = spawn('stty', MAKE_RAW_REST, { stdio: [fd, 'ignore', 'ignore'] });
        stty.once('error', () => resolve());
        stty.once('close', () => resolve());
      });
    }
  }
  let following: (() => void) | undefined;
  let ended = false;
  const retries = new Set<NodeJS.Timeout>();
  return {
    follow(resizeTo, { nudge = false } = {}) {
      const first = terminalSize(io);
      if (ended || following || !first) return;
      // One resize at a time, each reading the size when it runs: a burst of window changes ends at the last size.
      let queue = Promise.resolve();
      const send = (size: () => TerminalSize | undefined): Promise<boolean> => {
        const sent = queue.then(async () => {
          const wanted = size();
          if (!wanted || ended) return true;
          return resizeTo(wanted).then(
            () => true,
            () => false,
          );
        });
        queue = sent.then(() => undefined);
        return sent;
      };
      const current = (): TerminalSize | undefined => terminalSize(io);
      following = () => void send(current);
      process.on('SIGWINCH', following);
      if (nudge) void send(() => ({ height: first.height + 1, width: first.width + 1 }));
      const initial = (attempt: number): void => {
        void send(current).then((done) => {
          if (done || ended) return;
          if (attempt === RESIZE_RETRIES) {
            io.stderr.write('failed to resize tty, using default size\n');
            return;
          }
          const retry = setTimeout(() => {
            retries.delete(retry);
            initial(attempt + 1);
          }, (attempt + 1) * RESIZE_RETRY_STEP_MS);
          retries.add(retry);
        });
      };
      initial(0);
    },
    async restore() {
      ended = true;
      for (const retry of retries) clearTimeout(retry);
      if (following) process.off('SIGWINCH', following);
      if (!raw) return;
      // Its mode must not land after the terminal's own is back.
      await madeRaw;
      stdin.setRawMode?.(false);
    },
  };
}
