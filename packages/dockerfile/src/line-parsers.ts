import { SyntaxProblem } from './dockerfile-error';
import { blanks, isSpace, splitFirstBlank, trimLeftSpace } from './text';

/**
 * How each instruction's text after the keyword becomes argument nodes (BuildKit's
 * `line_parsers.go`). Syntax only: quotes and escapes stay in the text, nothing is expanded.
 */
export interface ParsedArgs {
  args: string[];
  json: boolean;
}

const none: ParsedArgs = { args: [], json: false };

export const notStringArray = 'when using JSON array syntax, arrays must be comprised of strings only';

/** Split on blanks, quotes NOT honoured (FROM, EXPOSE, and the non-JSON COPY/ADD/VOLUME). */
export function parseWhitespaceDelimited(rest: string): ParsedArgs {
  return rest === '' ? none : { args: rest.split(blanks), json: false };
}

/** A JSON array of strings; undefined when the text is not JSON (the caller falls back to shell form). */
export function parseJSONArray(rest: string): string[] | undefined {
  const text = trimLeftSpace(rest);
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v): v is string => typeof v === 'string')) throw new SyntaxProblem(notStringArray);
  return value;
}

/** RUN, CMD, ENTRYPOINT, SHELL: JSON (exec) form, else the whole rest as one argument. */
export function parseMaybeJSON(rest: string): ParsedArgs {
  if (rest === '') return none;
  const list = parseJSONArray(rest);
  return list ? { args: list, json: true } : { args: [rest], json: false };
}

/** COPY, ADD, VOLUME: JSON form, else split on blanks. */
export function parseMaybeJSONToList(rest: string): ParsedArgs {
  const list = parseJSONArray(rest);
  return list ? { args: list, json: true } : parseWhitespaceDelimited(rest);
}

/** MAINTAINER, USER, WORKDIR, STOPSIGNAL: the whole rest. */
export function parseString(rest: string): ParsedArgs {
  return rest === '' ? none : { args: [rest], json: false };
}

/**
 * Split on unquoted whitespace keeping quotes and escapes in the words (`parseWords`):
 * `a "b c" d\ e` → `a`, `"b c"`, `d\ e`.
 */
export function parseWords(rest: string, escapeToken: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote = '';
  let blankOK = false;
  const chars = Array.from(rest);
  for (let i = 0; i < chars.length; i++) {
    let ch = chars[i]!;
    if (!inWord && !quote) {
      if (isSpace(ch)) continue;
      inWord = true;
    }
    if (quote) {
      if (ch === quote) quote = '';
      else if (ch === escapeToken && quote !== "'") {
        if (i + 1 === chars.length) continue;
        word += ch;
        ch = chars[++i]!;
      }
      word += ch;
      continue;
    }
    if (isSpace(ch)) {
      if (blankOK || word.length > 0) words.push(word);
      word = '';
      blankOK = false;
      inWord = false;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      blankOK = true;
    } else if (ch === escapeToken) {
      if (i + 1 === chars.length) continue; // an escape at the very end is dropped
      word += ch;
      ch = chars[++i]!;
    }
    word += ch;
  }
  if ((inWord || quote) && (blankOK || word.length > 0)) words.push(word);
  return words;
}

/** ARG: one node per word, quotes kept, not split at `=`. */
export function parseNameOrNameVal(rest: string, escapeToken: string): ParsedArgs {
  return { args: parseWords(rest, escapeToken), json: false };
}

/**
 * ENV and LABEL: `key value sep` triples. `KEY value…` (old form, sep '') or
 * `k=v k2="v 2"` (new form, sep '=').
 */
export function parseNameVal(rest: string, keyword: string, escapeToken: string): ParsedArgs {
  const words = parseWords(rest, escapeToken);
  if (words.length === 0) return none;
  if (!words[0]!.includes('=')) {
    const parts = splitFirstBlank(rest);
    if (parts.length < 2) throw new SyntaxProblem(`${keyword} must have two arguments`);
    return { args: [parts[0], parts[1]!, ''], json: false };
  }
  const args: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      throw new SyntaxProblem(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
    }
    args.push(word.slice(0, eq), word.slice(eq + 1), '=');
  }
  return { args, json: false };
}

/** HEALTHCHECK: the type word (`CMD`, `NONE`…) verbatim, then the rest like CMD. */
export function parseHealthConfig(rest: string): ParsedArgs {
  let sep = 0;
  while (sep < rest.length && !isSpace(rest[sep]!)) sep++;
  if (sep === 0) return none;
  let next = sep;
  while (next < rest.length && isSpace(rest[next]!)) next++;
  const cmd = parseMaybeJSON(rest.slice(next));
  return { args: [rest.slice(0, sep), ...cmd.args], json: cmd.json };
}
