/**
 * JSON numbers read from their text, and the spec's uint64s past 2^53 written and read back
 * exactly: a double would make 2^64 - 1 another number.
 */
import { generateSpec, type Spec } from '@ctr/runtime';
import { parseExactJson } from '../src/spec/exact-json';
import { ociJson, readOciJson } from '../src/spec/spec-json';

describe('reading JSON with its numbers as written', () => {
  test("each number reaches the caller as its literal, with the key it is the value of", () => {
    const seen: Array<[string, string | undefined]> = [];
    const value = parseExactJson('{"a": 18446744073709551615, "b": [1e3, -0.5]}', (literal, key) => {
      seen.push([literal, key]);
      return literal;
    });
    expect(value).toEqual({ a: '18446744073709551615', b: ['1e3', '-0.5'] });
    expect(seen).toEqual([['18446744073709551615', 'a'], ['1e3', undefined], ['-0.5', undefined]]);
  });

  test('everything else is what JSON.parse makes of it, __proto__ and repeated keys too', () => {
    const text = ' {"s": "\\u00e9\\n", "t": true, "f": false, "n": null, "e": {}, "l": [], "__proto__": {"x": [[]]}, "s": "last"} ';
    expect(parseExactJson(text, Number)).toEqual(JSON.parse(text));
    expect(Object.getPrototypeOf(parseExactJson(text, Number))).toBe(Object.prototype);
  });

  test('nesting deeper than the JavaScript stack would allow recursion for is read', () => {
    const depth = 100_000;
    let value = parseExactJson(`${'['.repeat(depth)}${']'.repeat(depth)}`, Number);
    for (let i = 1; i < depth; i++) value = (value as unknown[])[0] as typeof value;
    expect(value).toEqual([]);
  });

  test.each(['', '{"a" 1}', '[1,]', '{"a":1,}', '01', '[1] 2', "'a'", '{"a":1'])('%j is no JSON, a SyntaxError', (text) => {
    expect(() => parseExactJson(text, Number)).toThrow(SyntaxError);
  });
});

describe("a spec's uint64s past 2^53", () => {
  const spec = (): Spec => {
    const made = generateSpec({ Cmd: ['sh'] }, { ulimits: [{ name: 'core', soft: -1, hard: -1 }] }, { id: 'abcdef0123456789', rootfs: '/rootfs', rlimitCeilings: {} });
    made.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: [], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 18446744073709551615n, valueTwo: 7, op: 'SCMP_CMP_MASKED_EQ' }] }] };
    // A map of the user's cannot pass for a bigint's field.
    made.annotations = { value: '{"uint64":"1"}' };
    return made;
  };

  test('are written as their digits, rlimits and seccomp values alike', () => {
    const text = ociJson(spec());
    expect(text).toContain('"args":[{"index":1,"value":18446744073709551615,"valueTwo":7,"op":"SCMP_CMP_MASKED_EQ"}]');
    expect(text).toContain('{"type":"RLIMIT_CORE","hard":18446744073709551615,"soft":18446744073709551615}');
    expect(text).toContain('"annotations":{"value":"{\\"uint64\\":\\"1\\"}"}');
  });

  test('read back and written again, are what they were', () => {
    const text = ociJson(spec());
    expect(ociJson(readOciJson(text))).toBe(text);
    expect(readOciJson(text).linux.seccomp?.syscalls[0]?.args?.[0]?.value).toBe(18446744073709551615n);
  });
});
