/** goJsonEscaped: JSON text as Go's encoding/json writes it. */
import { goJsonEscaped, goJsonSyntaxError } from '../src';

test('U+2028 and U+2029 are escaped, as Go always escapes them', () => {
  expect(goJsonEscaped(JSON.stringify('a\u2028b\u2029c'), false)).toBe('"a\\u2028b\\u2029c"');
});

test('<, > and & are escaped only when HTML escaping is asked for', () => {
  expect(goJsonEscaped(JSON.stringify('<a&b>'), true)).toBe('"\\u003ca\\u0026b\\u003e"');
  expect(goJsonEscaped(JSON.stringify('<a&b>'), false)).toBe('"<a&b>"');
});

test('a lone surrogate is written as U+FFFD itself, as Go writes what decoding \\ud800 gave', () => {
  expect(goJsonEscaped(JSON.stringify('x\ud800y\udfffz'), false)).toBe('"x\ufffdy\ufffdz"');
});

test('a surrogate pair stays the character it makes', () => {
  expect(goJsonEscaped(JSON.stringify('\u{1f600}'), false)).toBe('"\u{1f600}"');
});

test('an escaped backslash followed by text that reads like a surrogate escape is left as it is', () => {
  expect(goJsonEscaped(JSON.stringify('\\ud800'), false)).toBe('"\\\\ud800"');
  expect(goJsonEscaped(JSON.stringify('\\\ud800'), false)).toBe('"\\\\\ufffd"');
});

describe('goJsonSyntaxError: what Go’s encoding/json says of text that is not JSON', () => {
  test('valid JSON has no error', () => {
    expect(goJsonSyntaxError('{"a": [1, -2.5e3, true, null, "x\\u00e9"]}')).toBeUndefined();
  });

  test('a cut document is an unexpected end of input', () => {
    expect(goJsonSyntaxError('{"Image": "busybox", ')).toBe('unexpected end of JSON input');
  });

  test('a character where a value should begin is named, quoted as Go quotes it', () => {
    expect(goJsonSyntaxError('x')).toBe("invalid character 'x' looking for beginning of value");
    expect(goJsonSyntaxError("{'a': 1}")).toBe("invalid character '\\'' looking for beginning of object key string");
  });

  test('what is wrong inside an object, a literal and a number is said as Go’s scanner says it', () => {
    expect(goJsonSyntaxError('{"a" 1}')).toBe("invalid character '1' after object key");
    expect(goJsonSyntaxError('{"a": 1 "b": 2}')).toBe("invalid character '\"' after object key:value pair");
    expect(goJsonSyntaxError('[tru]')).toBe("invalid character ']' in literal true (expecting 'e')");
    expect(goJsonSyntaxError('[1.]')).toBe("invalid character ']' after decimal point in numeric literal");
  });

  test('a control character is quoted as strconv.Quote quotes its byte', () => {
    expect(goJsonSyntaxError('{"a": "x\ny"}')).toBe("invalid character '\\n' in string literal");
    expect(goJsonSyntaxError('{"a": "x\u0001"}')).toBe("invalid character '\\x01' in string literal");
    expect(goJsonSyntaxError('\u007f')).toBe("invalid character '\\x7f' looking for beginning of value");
  });

  test('a character past ASCII is named by the first byte of its UTF-8, as Go’s byte scanner names it', () => {
    expect(goJsonSyntaxError('é')).toBe("invalid character 'Ã' looking for beginning of value");
    expect(goJsonSyntaxError('{"a": \u{1f600}}')).toBe("invalid character 'ð' looking for beginning of value");
  });

  test('an object or array opened past Go’s 10000 levels is refused as its scanner refuses it, however deep the text goes', () => {
    expect(goJsonSyntaxError(`${'['.repeat(10000)}${']'.repeat(10000)}`)).toBeUndefined();
    expect(goJsonSyntaxError(`${'['.repeat(10000)}{}`)).toBe("invalid character '{' exceeded max depth");
    expect(goJsonSyntaxError('[{"a":'.repeat(3_000_000))).toBe("invalid character '[' exceeded max depth");
  });

  test('more after the document is an error after the top-level value', () => {
    expect(goJsonSyntaxError('{} x')).toBe("invalid character 'x' after top-level value");
  });
});
