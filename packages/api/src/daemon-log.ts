import type { LogFields, LogLevel, SwarmLog } from '@ctr/swarm';

/**
 * ctrd's leveled log, for what runs in the background (the swarm's node agent and its manager's
 * passes): lines in dockerd's text format (logrus's: `level=error msg="…" error="…"
 * module=node/agent`, the fields sorted by key), at the daemon's level and above. The level is
 * read at each line, so a SIGHUP that turns `debug` on or off applies at once.
 */

const ORDER: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** logrus's needsQuoting: anything beyond letters, digits and `-._/@^+` is quoted. */
function value(text: string): string {
  return /^[A-Za-z0-9\-._/@^+]+$/.test(text) ? text : JSON.stringify(text);
}

/** One entry as dockerd's text formatter writes it, without its time. */
export function formatLogLine(level: LogLevel, message: string, fields: LogFields = {}): string {
  const rest = Object.entries(fields)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, v]) => `${key}=${value(String(v))}`);
  return [`level=${level}`, `msg=${JSON.stringify(message)}`, ...rest].join(' ');
}

/** A log writing each entry at `threshold()` or above as one line (formatLogLine's) to `write`. */
export function daemonLog(write: (line: string) => void, threshold: () => LogLevel): SwarmLog {
  return {
    log(level, message, fields) {
      if (ORDER.indexOf(level) >= ORDER.indexOf(threshold())) write(formatLogLine(level, message, fields));
    },
  };
}
