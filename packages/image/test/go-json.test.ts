/** goJsonEscaped: JSON text as Go's encoding/json writes it. */
import { goJsonEscaped } from '../src';

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
