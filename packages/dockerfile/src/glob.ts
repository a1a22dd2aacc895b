import { invalidArgument } from '@ctr/errors';

/** True when a path component uses Go `filepath.Match` syntax. */
export const hasWildcard = (s: string): boolean => /[*?[\\]/.test(s);

/** Go's `filepath.Match` for one path component, as a RegExp. */
export function componentMatcher(pattern: string): RegExp {
  let source = '^';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '\\') {
      const next = chars[++i];
      if (next === undefined) throw invalidArgument(`syntax error in pattern "${pattern}"`);
      source += escape(next);
    } else if (ch === '[') {
      const end = chars.indexOf(']', i + 2);
      if (end < 0) throw invalidArgument(`syntax error in pattern "${pattern}"`);
      let body = chars.slice(i + 1, end).join('');
      if (body.startsWith('^') || body.startsWith('!')) body = '^' + body.slice(1);
      source += '[' + body.replace(/[\][/]/g, (c) => '\\' + c) + ']';
      i = end;
    } else source += escape(ch);
  }
  try {
    return new RegExp(source + '$', 'u');
  } catch (e) {
    throw invalidArgument(`syntax error in pattern "${pattern}"`, { cause: e });
  }
}

const escape = (ch: string): string => ('\\^$.|?*+()[]{}/'.includes(ch) ? '\\' + ch : ch);
