import { familiarName, formatReference, parseReference, referenceName } from '@ctr/image';

/**
 * Name cases from distribution/reference's own tests (the grammar Docker uses), as data:
 * every name Docker accepts is accepted here and every name it refuses is refused.
 */

const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

const accepted = [
  'docker/docker', 'library/debian', 'debian', 'docker.io/docker/docker', 'docker.io/library/debian',
  'docker.io/debian', 'index.docker.io/docker/docker', 'index.docker.io/library/debian', 'index.docker.io/debian',
  '127.0.0.1:5000/docker/docker', '127.0.0.1:5000/library/debian', '127.0.0.1:5000/debian', '192.168.0.1',
  '192.168.0.1:80', '192.168.0.1:8/debian', '192.168.0.2:25000/debian',
  'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', '[fc00::1]:5000/docker',
  '[fc00::1]:5000/docker/docker', '[fc00:1:2:3:4:5:6:7]:5000/library/debian', `docker.io/${HEX64}`,
  'Docker/docker', 'DOCKER/docker', 'docker-rules/docker', 'docker---rules/docker', 'doc/docker', 'd/docker',
  'jess/t', 'dock__er/docker', 'test_com', 'test.com:tag', 'test.com:5000', 'test:5000/repo:tag',
  'lowercase:Uppercase', 'sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'b.gcr.io/test.example.com/my-app:test.example.com',
  'xn--n3h.com/myimage:xn--n3h.com', 'foo_bar.com:8080', 'foo/foo_bar.com:8080', '192.168.1.1:5000/repo:5050',
  '[2001:db8::1]/repo', '[2001:db8:1:2:3:4:5:6]/repo:tag', '[2001:db8::1]:5000/repo:tag', '[2001:db8::]:5000/repo',
  '[::1]:5000/repo',
];

const refused = [
  'https://github.com/docker/docker', 'docker/Docker', '-docker', '-docker/docker', '-docker.io/docker/docker',
  'docker///docker', 'docker.io/docker/Docker', 'docker.io/docker///docker', '[fc00::1]', '[fc00::1]:5000',
  'fc00::1:5000/debian', '[fe80::1%eth0]:5000/debian', '[2001:db8:3:4::192.0.2.33]:5000/debian', HEX64,
  'docker-/docker', '-docker-/docker', '____/____', '_docker/_docker', 'dock..er/docker', 'dock_.er/docker',
  'dock-.er/docker', 'docker/', `${'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_'.repeat(4)}/docker`,
  '', ':justtag', `@sha256:${'f'.repeat(64)}`, `repo@sha256:${'f'.repeat(34)}`, 'Uppercase:tag',
  'test:5000/Uppercase/lowercase:tag', `${'a/'.repeat(128)}a:tag`, 'aa/asdf$$^/aa', '[2001:db8::1]',
  '[2001:db8::1]:5000', '[2001:db8::1]:tag', '[fe80::1%@invalidzone]:5000/repo', '-foo',
];

describe('distribution/reference name cases', () => {
  test.each(accepted)('accepts %s', (name) => {
    expect(() => parseReference(name)).not.toThrow();
  });

  test.each(refused)('refuses %s with InvalidArgument', (name) => {
    expect(() => parseReference(name)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  test.each([
    ['fooo/bar', 'fooo/bar', 'docker.io/fooo/bar', 'index.docker.io/fooo/bar'],
    ['library/ubuntu', 'ubuntu', 'docker.io/library/ubuntu', 'library/ubuntu'],
    ['nonlibrary/ubuntu', 'nonlibrary/ubuntu', 'docker.io/nonlibrary/ubuntu', undefined],
    ['other/library', 'other/library', 'docker.io/other/library', undefined],
    ['private/moonbase', '127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase', undefined],
    ['privatebase', 'example.com:8000/privatebase', 'example.com:8000/privatebase', undefined],
    ['library/ubuntu-12.04-base', 'ubuntu-12.04-base', 'docker.io/library/ubuntu-12.04-base', 'index.docker.io/library/ubuntu-12.04-base'],
    ['library/foo', 'foo', 'docker.io/library/foo', 'docker.io/foo'],
    ['library/foo/bar', 'library/foo/bar', 'docker.io/library/foo/bar', undefined],
    ['store/foo/bar', 'store/foo/bar', 'docker.io/store/foo/bar', undefined],
    ['bar', 'Foo/bar', 'Foo/bar', undefined],
  ])('%s: familiar %s, full %s (also from %s)', (path, familiar, full, ambiguous) => {
    for (const text of [familiar, full, ...(ambiguous === undefined ? [] : [ambiguous])]) {
      const reference = parseReference(text);
      expect(reference.path).toBe(path);
      expect(familiarName(reference)).toBe(familiar);
      expect(referenceName(reference)).toBe(full);
    }
  });

  test('a tag and a digest together survive normalisation', () => {
    const short = `busybox:latest@sha256:${'8'.repeat(64)}`;
    expect(formatReference(parseReference(short))).toBe(`docker.io/library/${short}`);
  });
});
