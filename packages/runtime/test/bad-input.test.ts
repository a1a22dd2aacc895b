import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isConflict, isInvalidArgument, isNotFound } from '@ctr/errors';
import { leftoverCgroups, testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

/** The rootfs entries and container directories, to prove a failure changed nothing. */
async function snapshot(rootfs: string): Promise<{ rootfs: string[]; containers: string[] }> {
  return {
    rootfs: (await fs.readdir(rootfs)).sort(),
    containers: await fs.readdir(path.join(bed.base, 'root', 'containers')).catch(() => []),
  };
}

async function rejected(promise: Promise<unknown>): Promise<Error & { details?: Record<string, unknown> }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

test('an unknown image user is refused and nothing is left behind', async () => {
  const rootfs = await bed.rootfs();
  const before = await snapshot(rootfs);
  const error = await rejected(bed.runtime.create('baduser', { rootfs, image: { Cmd: ['true'], User: 'nope' } }));
  expect(isInvalidArgument(error)).toBe(true);
  expect(error.message).toBe('unable to find user nope: no matching entries in passwd file');
  expect(await snapshot(rootfs)).toEqual(before);
});

test('a missing executable fails start with Docker\'s words and exit code 127, and nothing runs', async () => {
  await bed.runtime.create('noexe', { rootfs: await bed.rootfs(), image: { Cmd: ['nope'] } });
  const error = await rejected(bed.runtime.start('noexe'));
  expect(isInvalidArgument(error)).toBe(true);
  expect(error.message).toBe(
    'failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown',
  );
  expect(error.details?.exitCode).toBe(127);
  const state = await bed.runtime.state('noexe');
  expect(state).toMatchObject({ status: 'exited', exitCode: 127, running: false });
  expect(state.error).toContain('executable file not found');
  expect(await fs.readdir(path.join(bed.base, 'run', 'runc'))).not.toContain('noexe');
  expect(await leftoverCgroups(bed.cgroupParent)).toEqual([]);
});

test('a relative working directory is refused', async () => {
  const rootfs = await bed.rootfs();
  const before = await snapshot(rootfs);
  const error = await rejected(bed.runtime.create('relwd', { rootfs, image: { Cmd: ['true'], WorkingDir: 'app' } }));
  expect(isInvalidArgument(error)).toBe(true);
  expect(error.message).toBe("the working directory 'app' is invalid, it needs to be an absolute path");
  expect(await snapshot(rootfs)).toEqual(before);
});

test('a working directory under /proc/self/fd is refused (CVE-2024-21626)', async () => {
  const rootfs = await bed.rootfs();
  const error = await rejected(bed.runtime.create('leaky', { rootfs, image: { Cmd: ['true'], WorkingDir: '/proc/self/fd/7' } }));
  expect(isInvalidArgument(error)).toBe(true);
  const viaRun = await rejected(bed.runtime.create('leaky2', { rootfs, image: { Cmd: ['true'] }, run: { workingDir: '/proc/thread-self/fd/../fd/8' } }));
  expect(isInvalidArgument(viaRun)).toBe(true);
});

test('a name already in use is a conflict and the first container is untouched', async () => {
  await bed.runtime.create('taken', { rootfs: await bed.rootfs(), image: { Cmd: ['echo', 'first'] } });
  const error = await rejected(bed.runtime.create('taken', { rootfs: await bed.rootfs(), image: { Cmd: ['echo', 'second'] } }));
  expect(isConflict(error)).toBe(true);
  expect(error.message).toBe('Conflict. The container name "taken" is already in use');
  expect((await bed.runtime.inspect('taken')).spec.process.args).toEqual(['echo', 'first']);
});

test('an invalid memory value is refused and nothing is left behind', async () => {
  const rootfs = await bed.rootfs();
  const before = await snapshot(rootfs);
  for (const [memory, message] of [['lots', "invalid size: 'lots'"], ['1q', "invalid suffix: 'q'"], ['-5m', "invalid size: '-5m'"]] as const) {
    const error = await rejected(bed.runtime.create('badmem', { rootfs, image: { Cmd: ['true'] }, run: { memory } }));
    expect(isInvalidArgument(error)).toBe(true);
    expect(error.message).toBe(message);
  }
  const tooSmall = await rejected(bed.runtime.create('badmem', { rootfs, image: { Cmd: ['true'] }, run: { memory: '1k' } }));
  expect(tooSmall.message).toBe('Minimum memory limit allowed is 6MB');
  expect(await snapshot(rootfs)).toEqual(before);
});

test('an invalid container id is refused', async () => {
  const error = await rejected(bed.runtime.create('../escape', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] } }));
  expect(isInvalidArgument(error)).toBe(true);
});

test('operations on a container that does not exist say so', async () => {
  // One at a time: a rejection nobody awaits yet would count as unhandled.
  for (const op of [() => bed.runtime.state('ghost'), () => bed.runtime.start('ghost'), () => bed.runtime.delete('ghost'), () => bed.runtime.stop('ghost')]) {
    const error = await rejected(op());
    expect(isNotFound(error)).toBe(true);
    expect(error.message).toBe('No such container: ghost');
  }
});

test('an image may not put a volume over /proc (CVE-2019-16884)', async () => {
  const error = await rejected(bed.runtime.create('procvol', { rootfs: await bed.rootfs(), image: { Cmd: ['true'], Volumes: { '/proc': {} } } }));
  expect(isInvalidArgument(error)).toBe(true);
  const userMount = await rejected(
    bed.runtime.create('procvol', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { mounts: [{ type: 'bind', source: '/tmp', target: '/sys/kernel' }] } }),
  );
  expect(isInvalidArgument(userMount)).toBe(true);
});

test('an image /dev that is a symlink is replaced by a real directory, never followed', async () => {
  const rootfs = await bed.rootfs();
  const outside = await fs.mkdtemp(path.join(bed.base, 'outside-'));
  await fs.rm(path.join(rootfs, 'dev'), { recursive: true, force: true });
  await fs.symlink(outside, path.join(rootfs, 'dev'));
  await fs.symlink(outside, path.join(rootfs, 'etc', 'hosts'));
  await bed.runtime.create('devlink', { rootfs, image: { Cmd: ['sh', '-c', 'ls /dev/null && cat /etc/hosts'] } });
  await bed.runtime.start('devlink');
  expect((await bed.runtime.wait('devlink')).exitCode).toBe(0);
  expect((await fs.lstat(path.join(rootfs, 'dev'))).isDirectory()).toBe(true);
  expect((await fs.lstat(path.join(rootfs, 'etc', 'hosts'))).isFile()).toBe(true);
  expect(await fs.readdir(outside)).toEqual([]);
});
