import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerPath } from '../src/container-path';

/**
 * `docker cp`'s view of a container path: @ctr/image's `resolveInRoot` under the rootfs or
 * the mount that holds the path, with Docker's errors for a path that names nothing.
 */

let dir: string;
let rootfs: string;
let volume: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ctr-container-path-'));
  rootfs = join(dir, 'rootfs');
  volume = join(dir, 'volume');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc', 'passwd'), '');
  mkdirSync(volume);
  writeFileSync(join(volume, 'data'), '');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('a missing directory on the way is NotFound, in Docker\'s words', () => {
  expect(() => containerPath(rootfs, [], '/no/such/file', { followLast: true })).toThrow(
    expect.objectContaining({ code: 'NotFound', message: 'Could not find the file /no in container' }),
  );
});

test('a file used as a directory is InvalidArgument', () => {
  expect(() => containerPath(rootfs, [], '/etc/passwd/x', { followLast: true })).toThrow(
    expect.objectContaining({ code: 'InvalidArgument', message: '/etc/passwd is not a directory' }),
  );
});

test('a missing last component is a result without stat', () => {
  expect(containerPath(rootfs, [], '/etc/shadow', { followLast: true })).toMatchObject({ inside: '/etc/shadow', stat: undefined, mounted: false });
});

test('a path under a mount is resolved inside the mount source: its absolute links stay in it', () => {
  symlinkSync('/data', join(volume, 'link'));
  const mounts = [{ source: volume, target: '/mnt/vol', readOnly: true }];
  const resolved = containerPath(rootfs, mounts, '/mnt/vol/link', { followLast: true });
  expect(resolved).toMatchObject({ abs: join(volume, 'data'), inside: '/mnt/vol/data', mounted: true, readOnly: true });
  expect(resolved.stat?.isFile()).toBe(true);
});
