import { invalidArgument } from '@ctr/errors';

/** A date's part in two digits. */
const two = (n: number): string => String(n).padStart(2, '0');

/** `date`'s local wall clock: its day (`2026-11-23`), time of day (`01:42:23`) and its zone's offset in minutes east of UTC. */
export function goLocalClock(date: Date): { day: string; time: string; offset: number } {
  return {
    day: `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`,
    time: `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`,
    offset: -date.getTimezoneOffset(),
  };
}

/** An offset in minutes east of UTC as Go writes a zone's: `-0700`, or `-07:00` with `separator` ':'. */
export function goZoneOffset(minutes: number, separator = ''): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}${separator}${two(abs % 60)}`;
}

/**
 * `date` as Go's `Format(time.RFC3339)` writes a local time — docker's timestamps (a volume's
 * `CreatedAt`, `events --since`'s echo, the daemon's `SystemTime`): the local offset, `Z` for
 * UTC; `fraction` (`.000000123`) goes after the seconds, as RFC3339Nano writes one.
 */
export function goRfc3339(date: Date, fraction = ''): string {
  const { day, time, offset } = goLocalClock(date);
  return `${day}T${time}${fraction}${offset === 0 ? 'Z' : goZoneOffset(offset, ':')}`;
}

/** An RFC 3339 time, the fraction's digits apart: Date parses the rest (to the second). */
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?([zZ]|[+-]\d{2}:\d{2})$/;
/** Unix seconds as dockerd takes them (`<seconds>.<nanoseconds>`, what the docker CLI sends). */
const UNIX_SECONDS = /^(-?\d+)(?:\.(\d+))?$/;
const NANOS_PER_SECOND = 1_000_000_000n;
const NANOS_PER_MS = 1_000_000n;

/** A fraction's digits in nanoseconds (`5` is 500000000); digits past the ninth are cut, as moby's ParseTimestamps cuts them. */
function fractionNanos(digits = ''): bigint {
  return BigInt(digits.slice(0, 9).padEnd(9, '0'));
}

/**
 * An RFC 3339 time (`2026-11-25T01:30:43.476211885Z`, a log line's) in nanoseconds since the
 * epoch, exactly: a Date, or a number of seconds, would round away the nanoseconds that
 * `docker logs -t` shows and `--since` gives back. Undefined when it is not one.
 */
export function rfc3339Nanos(time: string): bigint | undefined {
  const m = RFC3339.exec(time);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${(m[3] as string).toUpperCase()}`);
  return Number.isNaN(ms) ? undefined : BigInt(ms) * NANOS_PER_MS + fractionNanos(m[2]);
}

/**
 * A recorded time (a container's `Created`, an image config's `created`) in nanoseconds:
 * RFC 3339 exactly, whatever its precision (records written before ctr kept nanoseconds
 * hold milliseconds), anything else Date reads to the millisecond; undefined when unreadable.
 */
export function timeNanos(time: string): bigint | undefined {
  const nanos = rfc3339Nanos(time);
  if (nanos !== undefined) return nanos;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : BigInt(ms) * NANOS_PER_MS;
}

/** Two recorded times in time order (for sorting), whatever their precision or zone; an unreadable one first. */
export function compareTimes(a: string, b: string): number {
  const x = timeNanos(a) ?? -1n;
  const y = timeNanos(b) ?? -1n;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The seconds and the fraction's nanoseconds of a time in nanoseconds (the fraction never negative). */
function splitNanos(nanos: bigint): { seconds: number; fraction: bigint } {
  const fraction = ((nanos % NANOS_PER_SECOND) + NANOS_PER_SECOND) % NANOS_PER_SECOND;
  return { seconds: Number((nanos - fraction) / NANOS_PER_SECOND), fraction };
}

/** Nanoseconds since the epoch as `docker logs -t` writes a time (moby's RFC3339NanoFixed, in UTC): all nine digits of the fraction. */
export function rfc3339Nano(nanos: bigint): string {
  const { seconds, fraction } = splitNanos(nanos);
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${String(fraction).padStart(9, '0')}Z`;
}

/**
 * Nanoseconds since the epoch as Go's `Format(time.RFC3339Nano)` writes them — how dockerd's
 * JSON shows a time: the fraction's trailing zeros dropped (none at all on a whole second), in
 * UTC (`Z`), or with `local` in the local zone (a network's `Created`, made from `time.Now()`).
 */
export function goRfc3339Nano(nanos: bigint, local = false): string {
  const { seconds, fraction } = splitNanos(nanos);
  const digits = String(fraction).padStart(9, '0').replace(/0+$/, '');
  const dot = digits ? `.${digits}` : '';
  const date = new Date(seconds * 1000);
  return local ? goRfc3339(date, dot) : `${date.toISOString().slice(0, 19)}${dot}Z`;
}

/**
 * `since`/`until` as Docker takes them, in nanoseconds since the epoch: a Date, Unix seconds
 * (a number, or text such as the docker CLI's `1700000000.123456789`), or an RFC 3339 time.
 */
export function toNanos(value: Date | string | number): bigint {
  if (value instanceof Date) return BigInt(value.getTime()) * NANOS_PER_MS;
  // A number's shortest decimal form is the time it was meant as (1700000000.1 is not 1700000000.099999905).
  const text = typeof value === 'number' ? String(value) : value;
  const unix = UNIX_SECONDS.exec(text);
  if (unix) return BigInt(unix[1] as string) * NANOS_PER_SECOND + fractionNanos(unix[2]);
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.round(value * 1e9));
  const nanos = typeof value === 'string' ? timeNanos(value) : undefined;
  if (nanos === undefined) throw invalidArgument(`invalid time "${text}": use RFC 3339 or Unix seconds`);
  return nanos;
}

/** Where the monotonic clock stood (`hr`) when the wall clock read `wall`, both in nanoseconds. */
interface ClockAnchor {
  wall: bigint;
  hr: bigint;
}

/** Spins of the calibration at most: a clock that never ticks (a test's fake Date) must not hang it. */
const CALIBRATION_SPINS = 1_000_000;
/** The widest bracket a tick is taken from: wider, the reads were interrupted (a JIT, the scheduler). */
const CALIBRATION_BRACKET = 20_000n;

/**
 * The monotonic clock's reading at a tick of `Date.now()`: the wall clock gives milliseconds
 * only, and the monotonic one no epoch, so the sub-millisecond part is true only from the
 * moment a millisecond begins. The tick is taken between the monotonic readings around the
 * last read of the old millisecond and the first of the new, when those are close; waits for
 * a tick or a few once per process (about a millisecond each).
 */
function calibrate(): ClockAnchor {
  let lastMs = Date.now();
  let lastBefore = process.hrtime.bigint();
  for (let spins = 0; spins < CALIBRATION_SPINS; spins++) {
    const before = process.hrtime.bigint();
    const ms = Date.now();
    const after = process.hrtime.bigint();
    if (ms !== lastMs && after - lastBefore <= CALIBRATION_BRACKET) return { wall: BigInt(ms) * NANOS_PER_MS, hr: (lastBefore + after) / 2n };
    lastMs = ms;
    lastBefore = before;
  }
  return { wall: BigInt(Date.now()) * NANOS_PER_MS, hr: process.hrtime.bigint() };
}

let anchor: ClockAnchor | undefined;
let last = 0n;

/**
 * Now, in nanoseconds since the epoch, as Docker stamps what it makes (Go's `time.Now()`):
 * the wall clock advanced by the monotonic clock since a calibrated tick of `Date.now()`. Two
 * promises hold: a value is always within the millisecond `Date.now()` says at the call — so
 * times compared with `Date.now()` (an `until` of now, a start period) agree — and values of
 * one process only ever increase, so what is made later sorts later even within one
 * millisecond. Where the two clocks part (NTP steps the wall clock, a calibration was off) the
 * anchor moves to the start of the millisecond `Date.now()` says, which the true time is not
 * before; the next tick it sees brings it back within a few microseconds. A wall clock
 * stepped back holds values just above the last one until it catches up. Processes each
 * calibrate their own anchor: within microseconds of each other, with no order promised
 * between them.
 */
export function nowNanos(): bigint {
  anchor ??= calibrate();
  // The wall clock first: the true time at `hr` is then never before `tick`.
  const tick = BigInt(Date.now()) * NANOS_PER_MS;
  const hr = process.hrtime.bigint();
  let at = anchor.wall + (hr - anchor.hr);
  if (at < tick || at >= tick + NANOS_PER_MS) {
    at = tick;
    anchor = { wall: tick, hr };
  }
  if (at <= last) at = last + 1n;
  last = at;
  return at;
}

/**
 * Now as dockerd's JSON shows a time it stamped (see goRfc3339Nano): in UTC, as it stamps
 * containers and images (`time.Now().UTC()`), or with `local` in the local zone (`time.Now()`).
 */
export function nowRfc3339Nano(local = false): string {
  return goRfc3339Nano(nowNanos(), local);
}
