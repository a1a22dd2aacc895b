import { isConflict, isNotFound } from '@ctr/errors';
import type { Io } from './command';

/**
 * The signals an attached ctr passes on to the container's process (docker's `--sig-proxy`):
 * those a program may catch, but SIGCHLD, SIGPIPE and SIGURG, which concern ctr itself;
 * SIGWINCH, which a terminal session forwards as a resize; SIGTSTP, SIGTTIN and SIGTTOU, so
 * Ctrl-Z still suspends ctr as it would any command (SIGCONT, which resumes it, is passed
 * on); and the signals of a fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGSYS, SIGABRT,
 * SIGTRAP), which Node must not catch: a crash of ctr's own would then never end. SIGPROF is
 * V8's sampling profiler's (`node --cpu-prof`): caught, every sample would go to the
 * program, and once the proxy is gone the next one would end ctr.
 */
export const PROXIED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCONT',
  'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGIO', 'SIGPWR',
];

/** How soon a signal that found no process yet is tried again. */
const RETRY_MS = 5;

/** A running proxy: told when the container's process has started, and stopped when done. */
export interface SignalProxy {
  /**
   * The process runs now: a signal it cannot take from here on (its container has exited,
   * or a restart policy is bringing it back) is not tried again.
   */
  started(): void;
  /** Resolves once every signal passed on so far has reached the process, or never will. */
  delivered(): Promise<void>;
  stop(): void;
}

/**
 * Pass the signals ctr receives on, through `kill`, until stopped: Ctrl-C in a terminal, or
 * a `kill` of ctr, reaches the program as it would under docker, and ctr ends when the
 * program does. One that comes before the process exists (the container is being created
 * or started) is tried again until it reaches it, so it is not lost; once the process has
 * started, one that comes as the container exits has nowhere to go.
 */
export function proxySignals(kill: (signal: NodeJS.Signals) => Promise<void>): SignalProxy {
  let stopped = false;
  let running = false;
  const retries = new Set<NodeJS.Timeout>();
  // Signals on their way (a kill under way, or a retry waiting), and who waits for none to be.
  let underWay = 0;
  const idle: Array<() => void> = [];
  const settled = (): void => {
    if (stopped) return;
    underWay -= 1;
    if (underWay > 0) return;
    for (const resolve of idle.splice(0)) resolve();
  };
  const attempt = (signal: NodeJS.Signals): void => {
    kill(signal).then(settled, (error: unknown) => {
      // Not there yet (NotFound before its record is written, Conflict before it runs).
      if (stopped || running || !(isNotFound(error) || isConflict(error))) return settled();
      const retry = setTimeout(() => {
        retries.delete(retry);
        attempt(signal);
      }, RETRY_MS);
      retries.add(retry);
    });
  };
  const forward = (signal: NodeJS.Signals): void => {
    underWay += 1;
    attempt(signal);
  };
  for (const signal of PROXIED_SIGNALS) process.on(signal, forward);
  return {
    started: () => {
      running = true;
    },
    delivered: () => (underWay === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve))),
    stop: () => {
      stopped = true;
      for (const retry of retries) clearTimeout(retry);
      retries.clear();
      underWay = 0;
      for (const resolve of idle.splice(0)) resolve();
      for (const signal of PROXIED_SIGNALS) process.off(signal, forward);
    },
  };
}

/** docker's CLI's termination signals on Unix (its `platformsignals.TerminationSignals`). */
const TERMINATION_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** The termination signals after which docker's CLI gives up on the command (`forceExitAfter3TerminationSignals`). */
const FORCED_EXIT_AFTER = 3;

/** docker's CLI's own handling of SIGINT and SIGTERM, as one attached command sees it. */
export interface Termination {
  /**
   * Resolves with the status ctr ends with: `atFirst` at the first signal when given, else 1
   * at the third, once docker's words for it are on stderr.
   */
  ended: Promise<number>;
  /** The command is over: the signals are Node's again (they end ctr). */
  stop(): void;
}

/**
 * While an attached command runs, SIGINT and SIGTERM do not end ctr at once, as they do not
 * end docker's CLI: the first cancels the command's context, which ends `start -a` at once
 * (`atFirst`: docker's status for a cancelled command is 0) and gives `attach` its terminal
 * back (`onFirst`) while it waits on; the third ends the CLI with 1, whatever it was doing.
 * Proxied signals are passed on besides (`proxySignals`), each of them.
 */
export function watchTermination(io: Io, options: { atFirst?: number; onFirst?: () => void } = {}): Termination {
  let received = 0;
  let end: (status: number) => void = () => undefined;
  const ended = new Promise<number>((resolve) => (end = resolve));
  const count = (): void => {
    received += 1;
    if (received === 1) {
      options.onFirst?.();
      if (options.atFirst !== undefined) end(options.atFirst);
    }
    if (received === FORCED_EXIT_AFTER) {
      io.stderr.write(`\ngot ${FORCED_EXIT_AFTER} SIGTERM/SIGINTs, forcefully exiting\n`);
      end(1);
    }
  };
  for (const signal of TERMINATION_SIGNALS) process.on(signal, count);
  return {
    ended,
    stop: () => {
      for (const signal of TERMINATION_SIGNALS) process.off(signal, count);
    },
  };
}
