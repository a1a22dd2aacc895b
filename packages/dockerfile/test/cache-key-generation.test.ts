import { cacheKey, rootKey } from '../src/cache-key';

describe('build cache key generations', () => {
  test("a chain's root key differs from the one an older builder wrote for the same base", () => {
    expect(rootKey('image', 'sha256:abc')).not.toBe(cacheKey('image', 'sha256:abc'));
  });

  test('a root key is stable for the same base', () => {
    expect(rootKey('scratch', 'linux', 'amd64')).toBe(rootKey('scratch', 'linux', 'amd64'));
  });
});
