import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isInvalidArgument, type CtrError } from '@ctr/errors';
import { execFileSync } from 'node:child_process';
import { testBed, type TestBed } from './helpers';

const netns = `ctr-rt-fail-${process.pid}`;
let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
  execFileSync('ip', ['netns', 'add', netns]);
});
afterAll(async () => {
  await bed.cleanup();
  execFileSync('ip', ['netns', 'delete', netns]);
});

async function startFailure(id: string): Promise<CtrError> {
  const error = await bed.runtime.start(id).then(
    () => {
      throw new Error(`container ${id} started`);
    },
    (e: CtrError) => e,
  );
  expect(isInvalidArgument(error)).toBe(true);
  return error;
}

test("a start that runc init fails names init's own error, not only runc's last line", async () => {
  // A file that is not a namespace: runc init's setns fails, and runc's last log line is
  // only "can't get final child's PID from pipe: EOF".
  const notNamespace = path.join(bed.base, 'not-a-namespace');
  await fs.writeFile(notNamespace, '');
  await bed.runtime.create('badns', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { network: { mode: 'namespace', path: notNamespace } } });
  const error = await startFailure('badns');
  expect(error.message).toMatch(/^failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: .*: failed to setns into net namespace: Invalid argument: unknown$/);
  expect(error.details.exitCode).toBe(128);
  expect((await bed.runtime.state('badns')).error).toBe(error.message);
});

test("a working directory that is a file fails the start with runc's message, dockerd's hint and exit code 127", async () => {
  await bed.runtime.create('filewd', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { workingDir: '/bin/busybox' } });
  const error = await startFailure('filewd');
  expect(error.message).toBe(
    'failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ' +
      'error during container init: mkdir /bin/busybox: not a directory: unknown: ' +
      'Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type',
  );
  expect(error.details.exitCode).toBe(127);
});

test('a bind mount of a file onto a directory fails the start naming both paths', async () => {
  const file = path.join(bed.base, 'a-file');
  await fs.writeFile(file, 'x');
  await bed.runtime.create('filebind', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { mounts: [{ type: 'bind', source: file, target: '/etc' }] } });
  const error = await startFailure('filebind');
  expect(error.message).toContain(`OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting "${file}" to rootfs at "/etc"`);
  expect(error.message).toContain('not a directory');
});

test("a start that fails again reports its own failure, not the runc log of the one before", async () => {
  // The namespace path is a link: to a plain file for the first start, to a real namespace for the second.
  const link = path.join(bed.base, 'netns-link');
  await fs.writeFile(path.join(bed.base, 'plain-file'), '');
  await fs.symlink(path.join(bed.base, 'plain-file'), link);
  await bed.runtime.create('twice', { rootfs: await bed.rootfs(), image: { Cmd: ['/missing'] }, run: { network: { mode: 'namespace', path: link } } });
  expect((await startFailure('twice')).message).toContain('failed to setns into net namespace');
  await fs.rm(link);
  await fs.symlink(`/run/netns/${netns}`, link);
  const second = await startFailure('twice');
  expect(second.message).toBe(
    'failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/missing": stat /missing: no such file or directory: unknown',
  );
  expect(second.details.runtimeError).not.toContain('setns');
});
