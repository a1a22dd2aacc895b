import { isInvalidArgument } from '@ctr/errors';
import {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  ociArchitecture,
  parsePlatform,
  platformMatcher,
  type Platform,
} from '@ctr/image';

const p = (text: string): Platform => {
  const [os = '', architecture = '', variant] = text.split('/');
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
};

describe('platform names are normalised like containerd', () => {
  test.each([
    ['linux/x86_64', 'linux/amd64'],
    ['linux/x86-64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['linux/i386', 'linux/386'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/arm64/8', 'linux/arm64'],
    ['linux/arm64/9', 'linux/arm64/v9'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['Linux/AMD64', 'linux/amd64'],
    ['linux/ARM/V6', 'linux/arm/v6'],
    ['linux/s390x', 'linux/s390x'],
  ])('%s → %s', (text, normalized) => {
    expect(formatPlatform(normalizePlatform(p(text)))).toBe(normalized);
    expect(formatPlatform(parsePlatform(text))).toBe(normalized);
  });

  test('normalising keeps os.version and features', () => {
    expect(normalizePlatform({ os: 'windows', architecture: 'x86_64', 'os.version': '10.0.17763.1' })).toEqual({
      os: 'windows',
      architecture: 'amd64',
      'os.version': '10.0.17763.1',
    });
  });
});

describe('parsePlatform reads --platform values', () => {
  test('os alone means this machine architecture', () => {
    const host = hostPlatform();
    expect(parsePlatform('linux')).toEqual({ ...host, os: 'linux' });
  });

  test.each(['', 'linux/', 'linux/amd64/v3/x', 'linux/am d64', '../etc'])('"%s" is InvalidArgument', (text) => {
    let error: unknown;
    try {
      parsePlatform(text);
    } catch (caught) {
      error = caught;
    }
    expect(isInvalidArgument(error)).toBe(true);
  });
});

describe('the host platform', () => {
  test('Node architecture names map to OCI names', () => {
    expect(ociArchitecture('x64')).toBe('amd64');
    expect(ociArchitecture('ia32')).toBe('386');
    expect(ociArchitecture('arm64')).toBe('arm64');
    expect(ociArchitecture('arm')).toBe('arm');
    expect(ociArchitecture('s390x')).toBe('s390x');
    expect(ociArchitecture('mipsel')).toBe('mipsle');
    expect(['ppc64le', 'ppc64']).toContain(ociArchitecture('ppc64'));
  });

  test('hostPlatform is this process, normalised', () => {
    const host = hostPlatform();
    expect(host.os).toBe(process.platform);
    expect(host.architecture).toBe(ociArchitecture(process.arch));
    expect(normalizePlatform(host)).toEqual(host);
  });
});

describe('platformMatcher accepts what a platform can run, best first', () => {
  const order = (wanted: string, candidates: string[]): string[] => {
    const matcher = platformMatcher(p(wanted));
    return candidates.map(p).filter((c) => matcher.match(c)).sort((a, b) => matcher.compare(a, b)).map(formatPlatform);
  };

  test('amd64 runs amd64, then 386, but not arm64 or another os', () => {
    expect(order('linux/amd64', ['linux/386', 'linux/arm64', 'windows/amd64', 'linux/amd64'])).toEqual(['linux/amd64', 'linux/386']);
  });

  test('amd64/v3 prefers v3, then v2, then plain amd64, then 386', () => {
    expect(order('linux/amd64/v3', ['linux/386', 'linux/amd64', 'linux/amd64/v2', 'linux/amd64/v3', 'linux/amd64/v4'])).toEqual([
      'linux/amd64/v3',
      'linux/amd64/v2',
      'linux/amd64',
      'linux/386',
    ]);
  });

  test('a matcher without a variant accepts any variant after the exact one', () => {
    expect(order('linux/amd64', ['linux/amd64/v2', 'linux/amd64'])).toEqual(['linux/amd64', 'linux/amd64/v2']);
  });

  test('arm/v7 runs v7, v6, v5 in that order, not v8', () => {
    expect(order('linux/arm/v7', ['linux/arm/v5', 'linux/arm/v8', 'linux/arm/v6', 'linux/arm/v7'])).toEqual([
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/arm/v5',
    ]);
  });

  test('arm64 runs arm64, then 32-bit arm', () => {
    expect(order('linux/arm64', ['linux/arm/v7', 'linux/amd64', 'linux/arm64/v8'])).toEqual(['linux/arm64', 'linux/arm/v7']);
  });

  test('arm64/v9.2 runs v9.1, v9, then v8.7 down to v8, then 32-bit arm', () => {
    const matcher = platformMatcher(p('linux/arm64/v9.2'));
    const candidates = ['linux/arm/v7', 'linux/arm64/v8', 'linux/arm64/v8.7', 'linux/arm64/v9', 'linux/arm64/v9.1', 'linux/arm64/v9.3', 'linux/arm64/v8.1'];
    expect(candidates.map(p).filter((c) => matcher.match(c)).sort((a, b) => matcher.compare(a, b)).map(formatPlatform)).toEqual([
      'linux/arm64/v9.1',
      'linux/arm64/v9',
      'linux/arm64/v8.7',
      'linux/arm64/v8.1',
      'linux/arm64',
      'linux/arm/v7',
    ]);
  });

  test('arm64/v8.2 runs v8.1 and v8, not v8.3', () => {
    const matcher = platformMatcher(p('linux/arm64/v8.2'));
    expect(matcher.match(p('linux/arm64/v8.1'))).toBe(true);
    expect(matcher.match(p('linux/arm64'))).toBe(true);
    expect(matcher.match(p('linux/arm64/v8.3'))).toBe(false);
  });

  test('candidates are normalised before matching', () => {
    expect(platformMatcher(p('linux/amd64')).match(p('Linux/x86_64'))).toBe(true);
    expect(platformMatcher(p('linux/arm64')).match(p('linux/aarch64/v8'))).toBe(true);
  });

  test('the default matcher is for the host', () => {
    expect(platformMatcher().platform).toEqual(hostPlatform());
    expect(platformMatcher().match(hostPlatform())).toBe(true);
  });
});
