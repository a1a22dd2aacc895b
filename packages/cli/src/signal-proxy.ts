import { isConflict, isNotFound } from '@ctr/errors';

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
  const forward = (signal: NodeJS.Signals): void => {
    kill(signal).catch((error: unknown) => {
      // Not there yet (NotFound before its record is written, Conflict before it runs).
      if (stopped || running || !(isNotFound(error) || isConflict(error))) return;
      const retry = setTimeout(() => {
        retries.delete(retry);
        forward(signal);
      }, RETRY_MS);
      retries.add(retry);
    });
  };
  for (const signal of PROXIED_SIGNALS) process.on(signal, forward);
  return {
    started: () => {
      running = true;
    },
    stop: () => {
      stopped = true;
      for (const retry of retries) clearTimeout(retry);
      for (const signal of PROXIED_SIGNALS) process.off(signal, forward);
    },
  };
}
