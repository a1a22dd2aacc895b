import { isInvalidArgument } from '@ctr/errors';
import { canonicalJson, canonicalJsonBytes, MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, parseJson, parseJsonObject } from '@ctr/image';

function rejection(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    expect(isInvalidArgument(error)).toBe(true);
    return error as Error;
  }
  throw new Error('expected InvalidArgument');
}

describe('parseJson bounds and disambiguates its input', () => {
  test('parses bytes and strings', () => {
    expect(parseJson(Buffer.from('{"a":[1,"x",null]}'))).toEqual({ a: [1, 'x', null] });
    expect(parseJson('true')).toBe(true);
  });

  test('malformed JSON is InvalidArgument naming the document', () => {
    expect(rejection(() => parseJson('{"a":', { what: 'image manifest' })).message).toMatch(/^image manifest is not valid JSON/);
  });

  test('invalid UTF-8 is InvalidArgument', () => {
    expect(rejection(() => parseJson(Buffer.from([0x22, 0xff, 0x22]))).message).toContain('UTF-8');
  });

  test('a document over the size cap is refused before parsing', () => {
    const big = Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 0x20);
    expect(rejection(() => parseJson(big)).message).toContain(`larger than the ${MAX_DOCUMENT_BYTES} bytes allowed`);
    expect(rejection(() => parseJson('[1]', { maxBytes: 2 })).message).toContain('3 bytes');
  });

  test('nesting up to the depth cap is accepted, one more level is not', () => {
    const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
    expect(() => parseJson(nested(MAX_DOCUMENT_DEPTH))).not.toThrow();
    expect(rejection(() => parseJson(nested(MAX_DOCUMENT_DEPTH + 1))).message).toContain('deeper than');
  });

  test('a nesting bomb as large as the size cap is refused by depth', () => {
    const half = MAX_DOCUMENT_BYTES / 2 - 1;
    expect(rejection(() => parseJson('['.repeat(half) + ']'.repeat(half))).message).toContain('deeper than');
  });

  test('malformed text that passes the structure scan is still refused as JSON', () => {
    expect(rejection(() => parseJson('{"a":1 "b":2}')).message).toContain('not valid JSON');
    expect(rejection(() => parseJson('[1,]')).message).toContain('not valid JSON');
  });

  test('a key repeated in one object is refused', () => {
    expect(rejection(() => parseJson('{"mediaType":"a","x":{},"mediaType":"b"}')).message).toContain('key "mediaType" appears twice');
  });

  test('a key repeated through escapes is still the same key', () => {
    expect(rejection(() => parseJson('{"layers":1,"\\u006cayers":2}')).message).toContain('"layers"');
  });

  test('the same key in different objects, or as a string value, is fine', () => {
    expect(parseJson('{"a":{"a":1},"b":[{"a":1},{"a":2}],"c":"a","d":{"x":"}\\"{"},"e":"\\\\"}')).toBeDefined();
  });

  test('parseJsonObject requires an object', () => {
    expect(rejection(() => parseJsonObject('[]', { what: 'image config' })).message).toBe('image config must be a JSON object, not an array');
  });
});

describe('canonicalJson gives one text per value', () => {
  test('keys sorted at every level, no whitespace, undefined left out', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  test('equal values in different key order give identical bytes', () => {
    expect(canonicalJsonBytes({ x: 1, y: 'é' }).equals(canonicalJsonBytes({ y: 'é', x: 1 }))).toBe(true);
    expect(canonicalJsonBytes({ y: 'é' }).toString('utf8')).toBe('{"y":"é"}');
  });

  test('a __proto__ key stays a plain key', () => {
    const value = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as object;
    expect(canonicalJson(value)).toBe('{"__proto__":{"polluted":true},"a":1}');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
