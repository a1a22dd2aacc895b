import { parseWwwAuthenticate } from '../src/www-authenticate';

test('a Bearer challenge yields realm, service and scope, with quoted commas kept', () => {
  expect(parseWwwAuthenticate('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual([
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
  ]);
});

test('several challenges in one header are all returned', () => {
  const challenges = parseWwwAuthenticate('Basic realm="r1", Bearer realm="https://t", service=s');
  expect(challenges.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
  expect(challenges[1]!.params).toEqual({ realm: 'https://t', service: 's' });
});

test('escaped quotes inside a quoted value are unescaped', () => {
  expect(parseWwwAuthenticate('Bearer realm="a\\"b"')[0]!.params.realm).toBe('a"b');
});

test('an empty header has no challenges', () => {
  expect(parseWwwAuthenticate('')).toEqual([]);
});
