/** Character classes with Go's meanings, so the parser splits exactly where BuildKit does. */

/** Go's `unicode.IsSpace`. */
export function isSpace(ch: string): boolean {
  switch (ch) {
    case ' ': case '\t': case '\n': case '\v': case '\f': case '\r': case '\u0085': case '\u00a0':
      return true;
    default:
      return ch.length > 0 && ch.charCodeAt(0) > 0xff && /^[\p{Zs}\u2028\u2029]$/u.test(ch);
  }
}

/** Go's `strings.TrimSpace`. */
export function trimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isSpace(s[start]!)) start++;
  while (end > start && isSpace(s[end - 1]!)) end--;
  return s.slice(start, end);
}

/** Go's `strings.TrimLeftFunc(s, unicode.IsSpace)`. */
export function trimLeftSpace(s: string): string {
  let start = 0;
  while (start < s.length && isSpace(s[start]!)) start++;
  return s.slice(start);
}

/** BuildKit's `reWhitespace` = `[\t\v\f\r ]+`. */
export const blanks = /[\t\v\f\r ]+/;

/** `reWhitespace.Split(s, n)` with Go's semantics for n = 2 (at most two parts). */
export function splitFirstBlank(s: string): [string] | [string, string] {
  const m = blanks.exec(s);
  if (!m) return [s];
  return [s.slice(0, m.index), s.slice(m.index + m[0].length)];
}
