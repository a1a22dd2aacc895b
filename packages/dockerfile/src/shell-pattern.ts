import { SyntaxProblem } from './dockerfile-error';

/**
 * Shell glob patterns of `${VAR#pat}`, `${VAR%pat}`, `${VAR/pat/rep}` as regular expressions,
 * the way BuildKit converts them (`*` `?` and `\` escapes; everything else literal).
 */
export function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  const star = greedy ? '.*' : '.*?';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') out += star;
    else if (ch === '?') out += '.';
    else if (ch === '\\') {
      // `\}` is how a `}` gets into ${...}; the backslash is not part of the pattern.
      if (chars[i + 1] === '}') continue;
      const next = chars[++i];
      if (next === undefined) throw new SyntaxProblem(`invalid pattern (${pattern}) in substitution: trailing escape`);
      // an escaped character is literal (`\/` is how a `/` gets into ${VAR/pat/rep})
      out += next === '*' || next === '?' || next === '\\' || '[]{}.+()|^$/'.includes(next) ? '\\' + next : next;
    } else if ('[]{}.+()|^$/'.includes(ch)) out += '\\' + ch;
    else out += ch;
  }
  return new RegExp(out, 'u');
}

function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = new Array<string>(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last; ) {
    const ch = chars[i]!;
    if (ch === '\\' && i !== last) {
      // keep an escape in front of the character it escapes after reversal
      out[last - i - 1] = ch;
      out[last - i] = chars[i + 1]!;
      i += 2;
    } else {
      out[last - i] = ch;
      i++;
    }
  }
  return out.join('');
}

const reverse = (s: string): string => Array.from(s).reverse().join('');

export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegExp(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

/** Regular expressions find leftmost matches only, so a suffix is trimmed as the prefix of the reversed text. */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverse(trimPrefix(reversePattern(pattern), reverse(value), greedy));
}

export function replacePattern(pattern: string, replacement: string, value: string, all: boolean): string {
  const re = shellPatternToRegExp(pattern, true, false);
  if (!all) {
    const m = re.exec(value);
    return m ? value.slice(0, m.index) + replacement + value.slice(m.index + m[0].length) : value;
  }
  return value.replace(new RegExp(re.source, 'gu'), () => replacement);
}
