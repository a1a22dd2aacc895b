import { DAEMON_LOG_LEVELS, type DaemonLogFormat, type DaemonLogLevel } from '@ctr/engine';
import { goRfc3339 } from '@ctr/image';
import type { FailureLog, LogFields, LogLevel, SwarmLog } from '@ctr/swarm';

/**
 * ctrd's log, one for everything the daemon says (where it listens, reloads, sweeps, what fails
 * inside it, what the swarm's node agent and manager do in the background), as dockerd's logrus
 * writes it: the text formatter's `time="…" level=info msg="…" key=value` with full timestamps
 * and no colours (what dockerd writes under systemd, where stderr is no terminal), or the JSON
 * formatter's object, at the daemon's level and above. The level is read at each line, so a
 * SIGHUP that turns `debug` on or off applies at once.
 */

/** logrus's needsQuoting: anything beyond letters, digits and `-._/@^+` is quoted (an empty value is not). */
function value(text: string): string {
  return /^[A-Za-z0-9\-._/@^+]*$/.test(text) ? text : JSON.stringify(text);
}

/** logrus's name of a level: `warning`, not `warn`. */
const levelName = (level: LogLevel): string => (level === 'warn' ? 'warning' : level);

const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

/** The fields that have a value, sorted by key as logrus sorts them. */
function valued(fields: LogFields): Array<[string, string | number]> {
  return Object.entries(fields)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .sort(byKey);
}

/** logrus's time in dockerd (RFC3339NanoFixed): all nine digits of the fraction, of which JavaScript's clock has the milliseconds. */
function logTime(date: Date): string {
  return goRfc3339(date, `.${String(date.getMilliseconds()).padStart(3, '0')}000000`);
}

/** One entry as dockerd's text formatter writes it, without its time. */
function formatLogLine(level: LogLevel, message: string, fields: LogFields): string {
  return [`level=${levelName(level)}`, `msg=${value(message)}`, ...valued(fields).map(([key, v]) => `${key}=${value(String(v))}`)].join(' ');
}

/** One entry as logrus's JSON formatter writes it: fields, level, msg and time, keys sorted, `<>&` escaped as Go's encoder escapes them. */
export function formatJsonLine(level: LogLevel, message: string, fields: LogFields, time: Date): string {
  const entry: Array<[string, string | number]> = [...valued(fields), ['level', levelName(level)], ['msg', message], ['time', logTime(time)]];
  return JSON.stringify(Object.fromEntries(entry.sort(byKey))).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface DaemonLogOptions {
  /** `log-format`: text (the default) or json. */
  format?: DaemonLogFormat;
  /** Text lines begin with their time, as dockerd's do (without, a test's lines are the same each run). JSON entries always have theirs. */
  timestamps?: boolean;
}

/** A log writing each entry at `threshold()` or more severe as one line to `write`. */
export function daemonLog(write: (line: string) => void, threshold: () => DaemonLogLevel, options: DaemonLogOptions = {}): SwarmLog {
  return {
    log(level, message, fields = {}) {
      if (DAEMON_LOG_LEVELS.indexOf(level) > DAEMON_LOG_LEVELS.indexOf(threshold())) return;
      const now = new Date();
      if (options.format === 'json') write(formatJsonLine(level, message, fields, now));
      else write(`${options.timestamps ? `time=${value(logTime(now))} ` : ''}${formatLogLine(level, message, fields)}`);
    },
  };
}

/**
 * @ctr/swarm, whose log helpers are the daemon's too, loaded when first needed (an error to
 * tell): a daemon that never runs a swarm never pays for the module.
 */
function swarmModule(): typeof import('@ctr/swarm') {
  return require('@ctr/swarm') as typeof import('@ctr/swarm');
}

/** An error as a line's fields: its message, and a CtrError's hint (what to do about it). */
export function errorFields(error: unknown): LogFields {
  return swarmModule().errorFields(error);
}

/** The stack of an error ctrd did not expect, for whoever runs the daemon at debug level. */
function logStack(log: SwarmLog, message: string, error: unknown): void {
  if (error instanceof Error && error.stack) log.log('debug', message, { stack: error.stack });
}

/** A request that failed by ctrd's own fault (a 500), each one in dockerd's words, its stack at debug level. */
export function requestErrorLog(log: SwarmLog): (error: unknown, request: string) => void {
  return (error, request) => {
    const message = `Handler for ${request} returned error: ${swarmModule().errorText(error)}`;
    log.log('error', message);
    logStack(log, message, error);
  };
}

/** What the daemon's background work tells its log: a failure, or that it worked (a failure after is news again). */
export interface BackgroundLog {
  failed: (error: unknown, what: string) => void;
  succeeded: (what: string) => void;
}

/**
 * Work the daemon does on its own that fails (an orchestrator pass, the node agent, a rolling
 * update), retried by its next pass: each kind of work in a swarm FailureLog, so a pass that
 * keeps failing the same way is one error line (its stack at debug level), said again after 1,
 * 2, 4… minutes, and the passes between at debug level only; once it works, its next failure is
 * an error line again.
 */
export function backgroundErrorLog(log: SwarmLog): BackgroundLog {
  const runs = new Map<string, FailureLog>();
  let failing: unknown;
  const withStack: SwarmLog = {
    log(level, message, fields) {
      log.log(level, message, fields);
      if (level === 'error') logStack(log, message, failing);
    },
  };
  return {
    failed(error, what) {
      failing = error;
      let run = runs.get(what);
      if (!run) {
        run = new (swarmModule().FailureLog)(withStack, `${what} failed`);
        runs.set(what, run);
      }
      run.failed(error);
    },
    succeeded(what) {
      runs.delete(what);
    },
  };
}
