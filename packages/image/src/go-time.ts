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
