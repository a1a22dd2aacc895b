/** A date's part in two digits. */
const two = (n: number): string => String(n).padStart(2, '0');

/**
 * `date` as Go's `Format(time.RFC3339)` writes a local time — docker's timestamps (a volume's
 * `CreatedAt`, `events --since`'s echo, the daemon's `SystemTime`): the local offset, `Z` for
 * UTC; `fraction` (`.000000123`) goes after the seconds, as RFC3339Nano writes one.
 */
export function goRfc3339(date: Date, fraction = ''): string {
  const offset = -date.getTimezoneOffset();
  const local = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}T${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}${fraction}`;
  if (offset === 0) return `${local}Z`;
  const abs = Math.abs(offset);
  return `${local}${offset < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}
