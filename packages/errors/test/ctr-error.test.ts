import { CtrError, asCtrError, isCtrError, isNotFound, notFound, throwIfAborted } from '@ctr/errors';

describe('CtrError', () => {
  test('carries a stable code that predicates check', () => {
    const e = notFound('No such image: busybox:latest');
    expect(e.code).toBe('NotFound');
    expect(isNotFound(e)).toBe(true);
    expect(isNotFound(new Error('No such image'))).toBe(false);
  });

  test('describe() appends the hint a person can act on', () => {
    const e = new CtrError('Conflict', 'name "web" is already in use', { hint: 'remove it or pick another name' });
    expect(e.describe()).toBe('name "web" is already in use\nremove it or pick another name');
  });

  test('keeps the cause it wraps', () => {
    const low = new Error('ENOENT');
    expect(new CtrError('NotFound', 'missing', { cause: low }).cause).toBe(low);
  });

  test('is recognised by shape, not by class identity', () => {
    const foreign = Object.assign(new Error('x'), { code: 'NotFound', describe: () => 'x' });
    expect(isCtrError(foreign)).toBe(true);
    expect(isCtrError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
  });

  test('asCtrError wraps foreign errors with context and leaves CtrErrors alone', () => {
    const own = notFound('gone');
    expect(asCtrError(own)).toBe(own);
    const wrapped = asCtrError(new Error('boom'), 'Unavailable', 'contacting registry');
    expect(wrapped.code).toBe('Unavailable');
    expect(wrapped.message).toBe('contacting registry: boom');
  });

  test('throwIfAborted throws Aborted once the signal fired', () => {
    const ac = new AbortController();
    expect(() => throwIfAborted(ac.signal, 'pull')).not.toThrow();
    ac.abort();
    expect(() => throwIfAborted(ac.signal, 'pull')).toThrow(expect.objectContaining({ code: 'Aborted' }));
  });

  test('serialises to JSON with code and message', () => {
    expect(JSON.parse(JSON.stringify(notFound('gone', { hint: 'pull it' })))).toEqual({
      code: 'NotFound',
      message: 'gone',
      hint: 'pull it',
    });
  });
});
