import { spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { acquireLock, withLock } from '@ctr/store';
import { removeDir, tempDir } from './helpers';

const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();

let dir: string;
beforeEach(async () => (dir = await tempDir('locks')));
afterEach(async () => removeDir(dir));

test('callers in one process take the lock one at a time', async () => {
  const file = path.join(dir, 'x.lock');
  let inside = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: 20 }, () =>
      withLock(file, async () => {
        most = Math.max(most, ++inside);
        await new Promise((r) => setTimeout(r, 1));
        inside--;
      }),
    ),
  );
  expect(most).toBe(1);
  expect(await fs.readdir(dir)).toEqual([]);
});

test('a lock left by a dead process is broken by the next caller', async () => {
  const file = path.join(dir, 'x.lock');
  await fs.symlink(`${spawnSync('true').pid} deadbeef`, file);
  const release = await acquireLock(file, { timeoutMs: 1000 });
  expect((await fs.readlink(file)).startsWith(`${process.pid} `)).toBe(true);
  await release();
});

test('a lock taken before the machine last started is broken, though its PID names a live process again', async () => {
  const file = path.join(dir, 'x.lock');
  await fs.symlink(`${process.ppid} deadbeef 00000000-0000-0000-0000-000000000000`, file);
  const release = await acquireLock(file, { timeoutMs: 1000 });
  expect(await fs.readlink(file)).toMatch(new RegExp(`^${process.pid} [0-9a-f]+ ${bootId}$`));
  await release();
});

test('a lock held by a live process times out as Unavailable naming the holder', async () => {
  const file = path.join(dir, 'x.lock');
  await fs.symlink('1 cafebabe', file);
  await expect(acquireLock(file, { timeoutMs: 50 })).rejects.toMatchObject({
    code: 'Unavailable',
    message: expect.stringContaining('held by process 1'),
  });
  await expect(fs.readlink(file)).resolves.toBe('1 cafebabe');
});

test('waiting for a lock stops when the signal aborts', async () => {
  const file = path.join(dir, 'x.lock');
  await fs.symlink('1 cafebabe', file);
  await expect(acquireLock(file, { signal: AbortSignal.timeout(30) })).rejects.toMatchObject({ code: 'Aborted' });
});

test('a second copy of this module in the same process respects the first copy\'s lock', async () => {
  const file = path.join(dir, 'x.lock');
  let copy!: typeof import('@ctr/store');
  jest.isolateModules(() => {
    copy = require('@ctr/store') as typeof import('@ctr/store');
  });
  expect(copy.acquireLock).not.toBe(acquireLock);
  const release = await acquireLock(file);
  let got = false;
  const waiting = copy.acquireLock(file).then((r) => ((got = true), r));
  await new Promise((r) => setTimeout(r, 50));
  expect(got).toBe(false);
  await release();
  await (await waiting)();
  expect(got).toBe(true);
});
