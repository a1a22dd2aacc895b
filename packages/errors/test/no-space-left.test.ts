import { CtrError, asCtrError, internal, noSpaceLeft } from '@ctr/errors';

/** An errno error as Node's fs makes it. */
function systemError(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: no space left on device, ${syscall}${path ? ` '${path}'` : ''}`), { code, syscall, ...(path ? { path } : {}) });
}

test('a full disk is ResourceExhausted in the kernel\'s words, naming the file and what to do', () => {
  const error = noSpaceLeft(systemError('ENOSPC', 'open', '/var/lib/ctr/containers/a/x'));
  expect(error).toMatchObject({ code: 'ResourceExhausted', details: { path: '/var/lib/ctr/containers/a/x' } });
  expect(error?.message).toMatch(/^open \/var\/lib\/ctr\/containers\/a\/x: no space left on device: free space on the filesystem holding \/var\/lib\/ctr\/containers\/a\/x \(.*system prune\) and retry$/);
});

test('a write with no path in its errno is named by the path the caller gives', () => {
  expect(noSpaceLeft(systemError('ENOSPC', 'write'), '/root/containers/a/container.json')?.message).toMatch(/^write \/root\/containers\/a\/container.json: no space left on device: /);
});

test('a quota met is ResourceExhausted too', () => {
  expect(noSpaceLeft(systemError('EDQUOT', 'write'))?.message).toMatch(/^write: disk quota exceeded: free disk space /);
});

test('any other error is not a full disk', () => {
  expect(noSpaceLeft(systemError('EIO', 'write'))).toBeUndefined();
  expect(noSpaceLeft('ENOSPC')).toBeUndefined();
});

test('asCtrError types a full disk found under an Internal wrapper, and keeps other CtrErrors', () => {
  const wrapped = internal('commit failed', { cause: systemError('ENOSPC', 'write') });
  expect(asCtrError(wrapped)).toMatchObject({ code: 'ResourceExhausted', message: expect.stringMatching(/^commit failed: no space left on device: free disk space /) });
  expect(asCtrError(systemError('ENOSPC', 'write'))).toBeInstanceOf(CtrError);
  const conflict = new CtrError('Conflict', 'busy', { cause: systemError('ENOSPC', 'write') });
  expect(asCtrError(conflict)).toBe(conflict);
});

test('a full disk already typed below is the one given', () => {
  const typed = new CtrError('ResourceExhausted', 'no space left on device while storing blob');
  expect(noSpaceLeft(internal('pull failed', { cause: typed }))).toBe(typed);
});
