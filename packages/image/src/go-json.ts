/**
 * JSON text as Go's encoding/json writes it: U+2028 and U+2029 escaped always, and with `html`
 * (json.Marshal's default; a plain Encoder with SetEscapeHTML(false) leaves them) `<`, `>` and `&`.
 * A lone surrogate, which JSON.stringify writes as `\udXXX`, is U+FFFD: a Go string cannot hold
 * one (JSON's `\ud800` decodes to U+FFFD), and Go writes that character as it is.
 */
export function goJsonEscaped(json: string, html: boolean): string {
  const escaped = json
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
    // The `u` follows an escape only when the run of backslashes before it is odd (`\\` is an escaped backslash).
    .replace(/(\\+)u(d[89a-f][0-9a-f]{2})/g, (whole: string, slashes: string) => (slashes.length % 2 === 1 ? `${slashes.slice(1)}\ufffd` : whole));
  return html ? escaped.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) : escaped;
}

/** strconv.Quote's escapes of the ASCII bytes it does not write as they are (`\xNN` for the rest). */
const GO_BYTE_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x5c: '\\\\' };

/**
 * Character `code` as Go's JSON scanner quotes it in an error. The scanner reads bytes: of a
 * character past ASCII it names the first byte of its UTF-8, which quoteChar's string(c) makes
 * the Latin-1 character of that byte (é is 'Ã').
 */
function goQuoteChar(code: number): string {
  if (code === 0x27) return "'\\''";
  if (code === 0x22) return "'\"'";
  if (code >= 0x80) {
    const lead = code < 0x800 ? 0xc0 | (code >> 6) : code < 0x10000 ? 0xe0 | (code >> 12) : 0xf0 | (code >> 18);
    return `'${String.fromCharCode(lead)}'`;
  }
  const escaped = GO_BYTE_ESCAPES[code] ?? (code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : String.fromCharCode(code));
  return `'${escaped}'`;
}

/** encoding/json's maxNestingDepth: the scanner refuses the object or array that would open past it. */
const GO_JSON_MAX_DEPTH = 10000;

/**
 * Go's encoding/json syntax error for `text` ("invalid character 'x' after object key", …), or
 * undefined when it is JSON. It scans as Go's scanner does, with a stack of the objects and arrays
 * open rather than recursion, so no nesting a body can hold overflows the JavaScript stack.
 */
export function goJsonSyntaxError(text: string): string | undefined {
  return goJsonScan(text).error;
}

/** What Go's scanner finds in a text: its syntax error, and where its first value ends (past the spaces after it) when that value is whole. */
export interface GoJsonScan {
  error: string | undefined;
  valueEnd: number | undefined;
}

/** Scan `text` as goJsonSyntaxError does, also telling where a json.Decoder would stop reading its first value. */
export function goJsonScan(text: string): GoJsonScan {
  let i = 0;
  let valueEnd: number | undefined;
  class Syntax extends Error {}
  const eof = (): never => {
    throw new Syntax('unexpected end of JSON input');
  };
  const bad = (context: string): never => {
    if (i >= text.length) eof();
    throw new Syntax(`invalid character ${goQuoteChar(text.codePointAt(i) as number)} ${context}`);
  };
  const space = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i] as string)) i++;
  };
  const digits = (context: string): void => {
    if (!/[0-9]/.test(text[i] ?? '')) bad(context);
    while (/[0-9]/.test(text[i] ?? '')) i++;
  };
  const string = (): void => {
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) eof();
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        i++;
        const e = text[i];
        if (e === 'u') {
          for (let k = 0; k < 4; k++) {
            i++;
            if (!/[0-9a-fA-F]/.test(text[i] ?? '')) bad('in \\u hexadecimal character escape');
          }
        } else if (e === undefined || !'"\\/bfnrt'.includes(e)) bad('in string escape code');
      } else if ((c.codePointAt(0) as number) < 0x20) bad('in string literal');
      i++;
    }
  };
  /** An object's key and its colon, the value still to come. */
  const key = (): void => {
    space();
    if (text[i] !== '"') bad('looking for beginning of object key string');
    string();
    space();
    if (text[i] !== ':') bad('after object key');
    i++;
  };
  /** A string, number or literal. */
  const scalar = (): void => {
    const c = text[i];
    if (c === '"') return string();
    if (c === '-' || /[0-9]/.test(c ?? '')) {
      if (c === '-') i++;
      if (text[i] === '0') i++;
      else digits('in numeric literal');
      if (text[i] === '.') {
        i++;
        digits('after decimal point in numeric literal');
      }
      if (text[i] === 'e' || text[i] === 'E') {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        digits('in exponent of numeric literal');
      }
      return;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (c !== literal[0]) continue;
      for (let k = 1; k < literal.length; k++) {
        i++;
        if (text[i] !== literal[k]) bad(`in literal ${literal} (expecting ${goQuoteChar(literal.charCodeAt(k))})`);
      }
      return void i++;
    }
    bad('looking for beginning of value');
  };
  const open: ('{' | '[')[] = [];
  const closing = (bracket: '{' | '['): string => (bracket === '{' ? '}' : ']');
  try {
    // Each turn reads a value where one is wanted, else what follows the last one in its object or array.
    for (let wanted = true; ; ) {
      space();
      if (wanted) {
        const c = text[i];
        if (c !== '{' && c !== '[') {
          scalar();
          wanted = false;
          continue;
        }
        if (open.length === GO_JSON_MAX_DEPTH) bad('exceeded max depth');
        i++;
        space();
        if (text[i] === closing(c)) {
          i++;
          wanted = false;
          continue;
        }
        open.push(c);
        if (c === '{') key();
        continue;
      }
      const inside = open[open.length - 1];
      if (inside === undefined) break;
      if (text[i] === ',') {
        i++;
        if (inside === '{') key();
        wanted = true;
      } else if (text[i] === closing(inside)) {
        i++;
        open.pop();
      } else bad(inside === '{' ? 'after object key:value pair' : 'after array element');
    }
    valueEnd = i;
    if (i < text.length) bad('after top-level value');
    return { error: undefined, valueEnd };
  } catch (error) {
    if (error instanceof Syntax) return { error: error.message, valueEnd };
    throw error;
  }
}
