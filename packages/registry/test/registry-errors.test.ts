import { registryError } from '../src/registry-errors';

const context = { registry: 'localhost:5000', subject: 'manifest for localhost:5000/x:latest' };
const body = (code: string, message: string): string => JSON.stringify({ errors: [{ code, message }] });

test.each([
  ['NAME_UNKNOWN', 'NotFound'],
  ['MANIFEST_UNKNOWN', 'NotFound'],
  ['UNAUTHORIZED', 'Unauthorized'],
  ['DENIED', 'Denied'],
  ['TOOMANYREQUESTS', 'TooManyRequests'],
  ['DIGEST_INVALID', 'DigestMismatch'],
])('registry code %s becomes %s', (code, expected) => {
  expect(registryError(400, body(code, 'm'), undefined, context).code).toBe(expected);
});

test('manifest unknown is worded like Docker', () => {
  expect(registryError(404, body('MANIFEST_UNKNOWN', 'manifest unknown'), undefined, context).message).toBe(
    'manifest for localhost:5000/x:latest not found: manifest unknown: manifest unknown',
  );
});

test('too many requests carries Retry-After in details and hint', () => {
  const error = registryError(429, body('TOOMANYREQUESTS', 'slow down'), '30', context);
  expect(error.details).toMatchObject({ retryAfter: '30', registry: 'localhost:5000', status: 429 });
  expect(error.hint).toContain('30 seconds');
});

test('a body without registry errors is classified by status and keeps the text', () => {
  const error = registryError(503, 'upstream down', undefined, context);
  expect(error.code).toBe('Unavailable');
  expect(error.message).toContain('upstream down');
});
