import { isInvalidArgument } from '@ctr/errors';
import {
  familiarName,
  familiarString,
  formatReference,
  isReference,
  parseNameOrId,
  parseNormalizedReference,
  parseReference,
  withDigest,
  withTag,
  type Digest,
} from '@ctr/image';

const HEX = 'b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c';
const DIGEST = `sha256:${HEX}` as Digest;

function invalid(text: string): Error {
  try {
    parseReference(text);
  } catch (error) {
    expect(isInvalidArgument(error)).toBe(true);
    return error as Error;
  }
  throw new Error(`"${text}" was accepted`);
}

describe('parseNormalizedReference normalises like Docker', () => {
  test.each([
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1', 'busybox:1'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['docker.io/user/app:v2', 'docker.io/user/app:v2', 'user/app:v2'],
    ['library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
    ['localhost/foo', 'localhost/foo:latest', 'localhost/foo:latest'],
    ['localhost:5000/a/b:tag', 'localhost:5000/a/b:tag', 'localhost:5000/a/b:tag'],
    ['registry.example.com/team/app:1.0', 'registry.example.com/team/app:1.0', 'registry.example.com/team/app:1.0'],
    ['example.com:8443/app', 'example.com:8443/app:latest', 'example.com:8443/app:latest'],
    ['[::1]:5000/app:t', '[::1]:5000/app:t', '[::1]:5000/app:t'],
    ['[fe80::1%eth0]/x', undefined, undefined],
    ['127.0.0.1:5000/a_b__c-d--e.f', '127.0.0.1:5000/a_b__c-d--e.f:latest', '127.0.0.1:5000/a_b__c-d--e.f:latest'],
    ['Registry.Example.com/app', 'Registry.Example.com/app:latest', 'Registry.Example.com/app:latest'],
    ['UPPER/app', 'UPPER/app:latest', 'UPPER/app:latest'],
  ])('%s → %s', (text, full, familiar) => {
    if (full === undefined) {
      invalid(text);
      return;
    }
    const reference = parseNormalizedReference(text);
    expect(formatReference(reference)).toBe(full);
    expect(familiarString(reference)).toBe(familiar);
  });

  test('a name without tag or digest gets latest; one with a digest does not', () => {
    expect(parseNormalizedReference('busybox').tag).toBe('latest');
    const pinned = parseNormalizedReference(`busybox@${DIGEST}`);
    expect(pinned.tag).toBeUndefined();
    expect(pinned.digest).toBe(DIGEST);
  });

  test('parseReference adds no tag', () => {
    expect(parseReference('busybox')).toEqual({ domain: 'docker.io', path: 'library/busybox' });
  });
});

describe('references with digests', () => {
  test('name@sha256:… keeps the digest', () => {
    const reference = parseReference(`localhost:5000/a/b@${DIGEST}`);
    expect(reference).toEqual({ domain: 'localhost:5000', path: 'a/b', digest: DIGEST });
    expect(formatReference(reference)).toBe(`localhost:5000/a/b@${DIGEST}`);
  });

  test('name:tag@sha256:… keeps both', () => {
    const reference = parseReference(`busybox:1.36@${DIGEST}`);
    expect(reference.tag).toBe('1.36');
    expect(reference.digest).toBe(DIGEST);
    expect(familiarString(reference)).toBe(`busybox:1.36@${DIGEST}`);
  });

  test('a short or malformed digest is InvalidArgument', () => {
    expect(invalid('busybox@sha256:abc').message).toContain('digest');
    invalid(`busybox@sha256:${HEX.toUpperCase()}`);
    invalid('busybox@');
    invalid(`busybox@sha256:${HEX}@sha256:${HEX}`);
  });

  test('a digest of an unsupported algorithm is InvalidArgument', () => {
    expect(invalid(`busybox@sha512:${'a'.repeat(128)}`).message).toContain('sha512');
  });
});

describe('malformed references are InvalidArgument saying what is wrong', () => {
  test('uppercase in the repository: "repository name must be lowercase"', () => {
    expect(invalid('Busybox').message).toBe('invalid reference format: repository name (library/Busybox) must be lowercase');
    expect(invalid('localhost:5000/App').message).toContain('must be lowercase');
  });

  test('empty', () => {
    expect(invalid('').message).toContain('at least one component');
  });

  test('64 hex characters are an ID, not a name', () => {
    expect(invalid(HEX).message).toContain('cannot specify 64-byte hexadecimal strings');
  });

  test.each([
    ['a//b', 'empty path component'],
    ['a/', 'empty path component'],
    ['/a', 'empty path component'],
    ['a/-b', 'path component "-b"'],
    ['a/b_', 'path component "b_"'],
    ['a/b___c', 'path component "b___c"'],
    ['a/b..c', 'path component "b..c"'],
    ['a/../b', 'path component ".."'],
    ['a b', 'path component "a b"'],
    ['a%2e%2e/b', 'path component "a%2e%2e"'],
  ])('path %s', (text, wording) => {
    expect(invalid(text).message).toContain(wording);
  });

  test.each([
    ['busybox:', 'tag ""'],
    ['busybox:-x', 'tag "-x"'],
    ['busybox:.x', 'tag ".x"'],
    [`busybox:${'a'.repeat(129)}`, 'tag "'],
    // A ":" before a "/" makes the first component a registry with a port, as in Docker.
    ['busybox:a/b', 'registry "busybox:a" has an invalid port'],
    ['busybox:a:b', 'path component "busybox:a"'],
  ])('tag %s', (text, wording) => {
    expect(invalid(text).message).toContain(wording);
  });

  test('a tag of 128 characters is accepted', () => {
    expect(parseReference(`busybox:${'a'.repeat(128)}`).tag).toHaveLength(128);
  });

  test.each([
    ['example.com:port/a', 'invalid port'],
    ['bad_host.com/a', 'not a valid host'],
    ['-bad.com/a', 'not a valid host'],
    ['[::1/a', 'not a valid host'],
    ['[zz::1]:5000/a', 'not a valid host'],
  ])('registry %s', (text, wording) => {
    expect(invalid(text).message).toContain(wording);
  });

  test('a name longer than 255 characters', () => {
    const long = `localhost/${'a'.repeat(246)}`;
    expect(long.length).toBe(256);
    expect(invalid(long).message).toContain('not be more than 255 characters');
    expect(parseReference(long.slice(0, 255)).path).toHaveLength(245);
  });

  test('the bad input is kept in details for callers to show', () => {
    expect((invalid('A') as Error & { details: Record<string, unknown> }).details).toEqual({ reference: 'A' });
  });
});

describe('familiar names and derived references', () => {
  test('familiarName drops docker.io and library/ only where Docker does', () => {
    expect(familiarName(parseReference('busybox'))).toBe('busybox');
    expect(familiarName(parseReference('user/app'))).toBe('user/app');
    expect(familiarName(parseReference('library/a/b'))).toBe('library/a/b');
    expect(familiarName(parseReference('quay.io/library/x'))).toBe('quay.io/library/x');
  });

  test('withTag replaces tag and digest', () => {
    const tagged = withTag(parseReference(`busybox:1@${DIGEST}`), 'mine');
    expect(formatReference(tagged)).toBe('docker.io/library/busybox:mine');
  });

  test('withTag refuses a malformed tag', () => {
    expect(() => withTag(parseReference('busybox'), 'no/slash')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  test('withDigest pins to a digest and drops the tag', () => {
    expect(formatReference(withDigest(parseReference('busybox:1'), DIGEST))).toBe(`docker.io/library/busybox@${DIGEST}`);
  });

  test('isReference answers without throwing', () => {
    expect(isReference('busybox')).toBe(true);
    expect(isReference('Busybox')).toBe(false);
  });
});

describe('parseNameOrId reads "name or ID" like docker rmi and docker run', () => {
  test('64 hex characters are a full image ID', () => {
    expect(parseNameOrId(HEX)).toEqual({ kind: 'id', id: DIGEST });
  });

  test('sha256:<64 hex> is a full image ID', () => {
    expect(parseNameOrId(DIGEST)).toEqual({ kind: 'id', id: DIGEST });
  });

  test('sha256:<short hex> is an ID prefix', () => {
    expect(parseNameOrId('sha256:b5bb9d')).toEqual({ kind: 'idPrefix', idPrefix: 'b5bb9d' });
  });

  test('short hex may be a name or an ID prefix; the name is tried first', () => {
    const parsed = parseNameOrId('b5bb9d80');
    expect(parsed.kind).toBe('reference');
    expect(parsed).toMatchObject({ idPrefix: 'b5bb9d80' });
    if (parsed.kind === 'reference') expect(formatReference(parsed.reference)).toBe('docker.io/library/b5bb9d80');
  });

  test('a name is a reference without an ID prefix', () => {
    expect(parseNameOrId('busybox:latest')).toEqual({
      kind: 'reference',
      reference: { domain: 'docker.io', path: 'library/busybox', tag: 'latest' },
    });
  });

  test('something that is neither is InvalidArgument', () => {
    expect(() => parseNameOrId('Not A Name')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});
