import { promises as fs } from 'node:fs';
import { Writable } from 'node:stream';
import { build } from '@ctr/dockerfile';
import { busybox, DirBackend, makeContext } from './helpers/dir-backend';

let backend: DirBackend;
let context: string;

beforeEach(async () => {
  backend = await DirBackend.create({ busybox });
  context = await makeContext({ 'a.txt': 'a\n' });
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
});

const dockerfileContent = 'FROM busybox\nCOPY a.txt /\n';

describe('--output type=tar, when writing fails', () => {
  it('on a full disk, names the destination file, not the filesystem being exported, and says what to do', async () => {
    // /dev/full opens and takes no byte: every write is ENOSPC.
    await expect(build({ backend, context, dockerfileContent, output: { type: 'tar', dest: '/dev/full' } })).rejects.toMatchObject({
      code: 'ResourceExhausted',
      message: expect.stringMatching(/^write \/dev\/full: no space left on device: free space on the filesystem holding \/dev\/full/),
    });
  });

  it('to a caller\'s stream, names no path: the stream has none', async () => {
    const failing = new Writable({
      write: (_chunk, _encoding, done) => done(Object.assign(new Error('EPIPE: broken pipe, write'), { code: 'EPIPE', syscall: 'write' })),
    });
    await expect(build({ backend, context, dockerfileContent, output: { type: 'tar', stream: failing } })).rejects.toMatchObject({
      code: 'Internal',
      message: 'failed to write the tar: broken pipe',
    });
  });
});
