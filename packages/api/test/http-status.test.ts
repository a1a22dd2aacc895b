import { CtrError, noSpaceLeft } from '@ctr/errors';
import { Readable } from 'node:stream';
import { statusOf } from '../src/http-errors';
import { readSmallBody } from '../src/request-body';

// The HTTP status ctrd answers each error with, as dockerd's would be.

test('a full disk is the daemon\'s trouble: a 500, as dockerd answers it', () => {
  const full = noSpaceLeft(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' }));
  expect(full).toBeInstanceOf(CtrError);
  expect(statusOf(full as CtrError)).toBe(500);
});

test('a request body over the limit is the client\'s: a 413', async () => {
  const error = await readSmallBody(Readable.from([Buffer.alloc(64)]), 16).catch((e: unknown) => e);
  expect(statusOf(error as CtrError)).toBe(413);
});

test('the codes a client can act on keep dockerd\'s statuses', () => {
  expect(['NotFound', 'Conflict', 'InvalidArgument', 'Unsupported'].map((code) => statusOf(new CtrError(code as 'NotFound', 'x')))).toEqual([404, 409, 400, 501]);
});
