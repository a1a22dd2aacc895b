import { invalidArgument, isCtrError, type CtrError } from '@ctr/errors';
import { timeNanos, toNanos } from '@ctr/image';
import { portRange } from './create-extras';
import { dockerfileModule } from './lazy-modules';

/**
 * Docker's `--filter key=value` arguments as one engine call takes them (the API's `filters`
 * query): each key's values. Values of one key are alternatives, except `label`'s, which
 * all have to hold; different keys all have to hold. The matching below is dockerd's
 * (`api/types/filters`), so a listing or a prune filters the same in-process, through ctrd
 * and through a remote engine.
 */
export type Filters = Record<string, string[]>;

/** dockerd's `invalidFilter`: `invalid filter 'key'`, or with the value (a list as Go prints one). */
export function invalidFilter(key: string, value?: string | readonly string[]): CtrError {
  const shown = value === undefined ? '' : typeof value === 'string' ? `=${value}` : `=[${value.join(' ')}]`;
  return invalidArgument(`invalid filter '${key}${shown}'`);
}

/** dockerd's `Validate`: a key the call does not know is refused rather than ignored. */
export function checkFilterKeys(filters: Filters, accepted: readonly string[]): void {
  for (const key of Object.keys(filters)) if (!accepted.includes(key)) throw invalidFilter(key);
}

/** dockerd's `GetBoolOrDefault`: `true`/`1` or `false`/`0`; absent is undefined; anything else (or both) is refused. */
export function boolFilter(filters: Filters, key: string): boolean | undefined {
  const values = filters[key];
  if (values === undefined) return undefined;
  if (values.length === 0) throw invalidFilter(key);
  const yes = values.includes('true') || values.includes('1');
  const no = values.includes('false') || values.includes('0');
  if (yes === no) throw invalidFilter(key, values);
  return yes;
}

/** dockerd's `MatchKVList`: every `key` or `key=value` holds of the labels. */
function allLabels(wanted: readonly string[], labels: Record<string, string>): boolean {
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    const key = eq === -1 ? w : w.slice(0, eq);
    return Object.prototype.hasOwnProperty.call(labels, key) && (eq === -1 || labels[key] === w.slice(eq + 1));
  });
}

/** `label=k[=v]` all hold, and (for prunes) the `label!=k[=v]` set, if given, does not all hold. */
export function labelsMatch(filters: Filters, labels: Record<string, string>): boolean {
  const without = filters['label!'] ?? [];
  return allLabels(filters.label ?? [], labels) && !(without.length > 0 && allLabels(without, labels));
}

/** dockerd's `Match` (`name=`, `id=` of networks, volumes and containers): equal, or a regular expression found in it. */
export function patternMatch(values: readonly string[] | undefined, source: string): boolean {
  if (!values || values.length === 0) return true;
  return values.some((v) => {
    if (v === source) return true;
    try {
      return new RegExp(v).test(source);
    } catch {
      return false;
    }
  });
}

/** Any of the values, exactly (dockerd's `ExactMatch`: `driver=`, `scope=`). */
export function exactMatch(values: readonly string[] | undefined, source: string): boolean {
  return !values || values.length === 0 || values.includes(source);
}

/**
 * dockerd's `portOp` (`publish=`, `expose=` of a container listing): the `port/proto` keys
 * each `port[/proto]` or `start-end[/proto]` stands for, tcp when no protocol is given.
 */
export function portFilter(filters: Filters, key: string): Set<string> {
  const keys = new Set<string>();
  for (const value of filters[key] ?? []) {
    if (value.includes(':')) throw invalidArgument(`filter for '${key}' should not contain ':': ${value}`);
    // go-connections' SplitProtoPort: what follows a second slash is ignored, the protocol kept as typed.
    const [ports = '', proto = ''] = value.split('/');
    const [start, end] = portRange(ports, (error) => invalidArgument(`error while looking up for ${key} ${value}: ${error}`));
    for (let port = start; port <= end; port++) keys.add(`${port}/${proto || 'tcp'}`);
  }
  return keys;
}

/**
 * Go's `path.Match` (what `reference=` globs use): `*` is any run of characters but `/`, `?`
 * one such character, `[…]` a class (`[^…]` negated), `\` escapes. A malformed pattern is
 * refused with Go's words.
 */
export function pathMatch(pattern: string, text: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '\\') {
      i++;
      if (i >= pattern.length) throw invalidArgument('syntax error in pattern');
      source += escapeRegExp(pattern[i] as string);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) throw invalidArgument('syntax error in pattern');
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('^');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\]\\^]/g, '\\$&')}]`;
      i = end;
    } else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`).test(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Go's `time.ParseDuration`, signed, in milliseconds; undefined when the text is not one. */
function goDuration(text: string): number | undefined {
  const sign = text.startsWith('-') ? -1 : 1;
  try {
    return (sign * dockerfileModule().parseDuration(text.replace(/^[-+]/, ''))) / 1e6;
  } catch (error) {
    if (isCtrError(error)) return undefined;
    throw error;
  }
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(\.\d+)?)?)?)?([zZ]|[+-]\d{2}:\d{2})?$/;

/**
 * docker's `timetypes.GetTimestamp`: a Go duration back from `now` (`10m`, `1h30m`; whole
 * seconds, as Go's `Unix()` gives them), an RFC 3339 date or date-time (local time without a
 * zone), or Unix seconds (`1700000000.5`), as the docker CLI sends it to the daemon:
 * `<seconds>.<nanoseconds>`, or the Unix seconds as given. Text, not a number: the
 * nanoseconds of a time that `docker logs -t` printed must reach the comparison whole.
 */
export function dockerTimestamp(value: string, now: number = Date.now()): string {
  if (value !== '0') {
    const ms = goDuration(value);
    if (ms !== undefined) return String(Math.floor((now - ms) / 1000));
  }
  const m = DATE_TIME.exec(value);
  if (m) {
    const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone] = m;
    const fields = [Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)] as const;
    const local = new Date(...fields);
    const valid = local.getMonth() === fields[1] && local.getDate() === fields[2] && local.getHours() === fields[3] && local.getMinutes() === fields[4] && local.getSeconds() === fields[5];
    if (valid) {
      const offset = zone === undefined ? undefined : /^[zZ]$/.test(zone) ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
      const ms = offset === undefined ? local.getTime() : Date.UTC(...fields) - offset * 60_000;
      return `${Math.floor(ms / 1000)}.${fraction.slice(1, 10).padEnd(9, '0')}`;
    }
  }
  // Go: a value with a dash was meant as a date; anything else may be Unix seconds.
  if (value.includes('-')) throw invalidArgument(`parsing time ${JSON.stringify(value)}: not a date-time of the form 2006-01-02T15:04:05Z07:00`);
  if (!/^\d+(\.\d+)?$/.test(value)) throw invalidArgument(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
  return value;
}

/** `dockerTimestamp` read back as dockerd reads it (`ParseTimestamps`), in nanoseconds since the epoch, exactly. */
export function timestampNanos(value: string, now: number = Date.now()): bigint {
  return toNanos(dockerTimestamp(value, now));
}

/** `timestampNanos` to the millisecond (a Date's precision: `since=`, `until=` of events and logs, a build-cache prune's cutoff). */
export function parseTimestamp(value: string, now: number = Date.now()): number {
  return Number(timestampNanos(value, now) / 1_000_000n);
}

/** A prune's `until`: one timestamp at most (dockerd's `getUntilFromPruneFilters`), in nanoseconds. */
export function pruneUntil(filters: Filters): bigint | undefined {
  const values = filters.until;
  if (values === undefined) return undefined;
  if (values.length > 1) throw invalidArgument('more than one until filter specified');
  if (values.length === 0) throw invalidFilter('until');
  return timestampNanos(values[0] as string);
}

/** What container, network and image prunes take besides their own keys. */
export const PRUNE_FILTERS = ['label', 'label!', 'until'] as const;

/**
 * A prune's label and `until` test for one object, checked once before anything is removed.
 * `created` is the object's recorded time (RFC 3339, of any precision: records from before
 * ctr kept nanoseconds hold milliseconds), compared to the nanosecond as dockerd compares;
 * one that cannot be read is not taken to be before any `until`.
 */
export function pruneMatcher(filters: Filters, accepted: readonly string[]): (labels: Record<string, string>, created: string) => boolean {
  checkFilterKeys(filters, accepted);
  const until = pruneUntil(filters);
  return (labels, created) => {
    const at = until === undefined ? undefined : timeNanos(created);
    return (until === undefined || (at !== undefined && at <= until)) && labelsMatch(filters, labels);
  };
}
