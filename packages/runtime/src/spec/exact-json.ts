/**
 * JSON read with its numbers as their text says them. `JSON.parse` makes every number a double,
 * so a uint64 past 2^53 (a seccomp mask, 2^64-1) comes back as another number; Node 20 has no
 * reviver that sees the source text. This reader hands each number's literal to the caller.
 */

/** A JSON value whose numbers are what `number` made of their literals. */
export type ExactJson<N> = null | boolean | string | N | ExactJson<N>[] | { [key: string]: ExactJson<N> };

/** One token, after the spaces before it: a string, a number, a literal, or punctuation. */
const TOKEN = /[ \t\r\n]*(?:("(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)|(true|false|null)|([[\]{}:,]))/y;

/** What is being filled while its elements are read: an array, or an object and the key of the value to come. */
type Open<N> = { array: ExactJson<N>[] } | { object: { [key: string]: ExactJson<N> }; key: string };

/**
 * `text` parsed as `JSON.parse` would, but each number is `number(literal, key)`, `key` being the
 * member it is the value of (undefined in an array or at the top). Arrays and objects are held on
 * a stack, so no nesting overflows the JavaScript stack. Text that is not JSON is a SyntaxError.
 */
export function parseExactJson<N>(text: string, number: (literal: string, key: string | undefined) => N): ExactJson<N> {
  const token = new RegExp(TOKEN.source, 'y');
  const next = (): RegExpExecArray => {
    const at = token.lastIndex;
    const match = token.exec(text);
    if (!match) throw new SyntaxError(`Unexpected token in JSON at position ${at}`);
    return match;
  };
  const punctuation = (match: RegExpExecArray, expected: string): void => {
    if (match[4] !== expected) throw new SyntaxError(`Expected '${expected}' in JSON at position ${match.index}`);
  };
  /** An object's key and its colon. */
  const key = (match: RegExpExecArray): string => {
    if (match[1] === undefined) throw new SyntaxError(`Expected a string key in JSON at position ${match.index}`);
    punctuation(next(), ':');
    return JSON.parse(match[1]) as string;
  };
  const open: Open<N>[] = [];
  let match = next();
  for (;;) {
    const [, string, numeral, literal, punct] = match;
    const parent = open[open.length - 1];
    let value: ExactJson<N>;
    if (string !== undefined) value = JSON.parse(string) as string;
    else if (numeral !== undefined) value = number(numeral, parent && 'key' in parent ? parent.key : undefined);
    else if (literal !== undefined) value = literal === 'null' ? null : literal === 'true';
    else if (punct === '[' || punct === '{') {
      match = next();
      if (match[4] === (punct === '[' ? ']' : '}')) value = punct === '[' ? [] : {};
      else {
        if (punct === '[') open.push({ array: [] });
        else {
          open.push({ object: {}, key: key(match) });
          match = next();
        }
        continue;
      }
    } else throw new SyntaxError(`Unexpected '${punct ?? ''}' in JSON at position ${match.index}`);
    // A value is whole: it goes into what is open around it, which may close in turn.
    for (;;) {
      const around = open[open.length - 1];
      if (!around) {
        if (!/^[ \t\r\n]*$/.test(text.slice(token.lastIndex))) throw new SyntaxError(`Unexpected text after JSON at position ${token.lastIndex}`);
        return value;
      }
      // As JSON.parse: `__proto__` is a member like any other, and a key given twice keeps its last value.
      if ('array' in around) around.array.push(value);
      else Object.defineProperty(around.object, around.key, { value, writable: true, enumerable: true, configurable: true });
      match = next();
      if (match[4] === ',') {
        match = next();
        if ('key' in around) {
          around.key = key(match);
          match = next();
        }
        break;
      }
      punctuation(match, 'array' in around ? ']' : '}');
      open.pop();
      value = 'array' in around ? around.array : around.object;
    }
  }
}

/** An integer's literal as a number while a double holds it exactly (to 2^53), past that as a bigint. */
export function exactInteger(literal: string): number | bigint {
  const value = Number(literal);
  return Number.isSafeInteger(value) || !/^-?[0-9]+$/.test(literal) ? value : BigInt(literal);
}
