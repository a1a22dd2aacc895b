import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerPath, containerView, linkTarget, mountPointsOnHost } from '../src/container-path';

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

/** A container with no process: the view makes the mount points its root filesystem lacks. */
const STOPPED = { makeMountPoints: true };

test('a missing directory on the way is a result without stat, as a missing last component is', () => {
  expect(containerPath(containerView(rootfs, []), '/no/such/file', { followLast: true })).toMatchObject({ stat: undefined });
});

test('a file used as a directory is InvalidArgument', () => {
  expect(() => containerPath(containerView(rootfs, []), '/etc/passwd/x', { followLast: true })).toThrow(
    expect.objectContaining({ code: 'InvalidArgument', message: '/etc/passwd is not a directory' }),
  );
});

test('a missing last component is a result without stat', () => {
  expect(containerPath(containerView(rootfs, []), '/etc/shadow', { followLast: true })).toMatchObject({ inside: '/etc/shadow', stat: undefined, mounted: false });
});

test('a path under a mount is found in the mount source', () => {
  const view = containerView(rootfs, [{ source: volume, target: '/mnt/vol', readOnly: true }], STOPPED);
  const resolved = containerPath(view, '/mnt/vol/data', { followLast: true });
  expect(resolved).toMatchObject({ abs: join(volume, 'data'), inside: '/mnt/vol/data', mounted: true, readOnly: true });
  expect(resolved.stat?.isFile()).toBe(true);
});

test('an absolute link in a mount leads where the container sees it, not into the mount source', () => {
  symlinkSync('/etc/passwd', join(volume, 'link'));
  writeFileSync(join(volume, 'etc'), 'not the container’s /etc');
  const view = containerView(rootfs, [{ source: volume, target: '/mnt/vol' }], STOPPED);
  expect(containerPath(view, '/mnt/vol/link', { followLast: true })).toMatchObject({ abs: join(rootfs, 'etc', 'passwd'), inside: '/etc/passwd', mounted: false });
});

test('a link in the root filesystem into a mount leads into the mount source', () => {
  symlinkSync('/mnt/vol', join(rootfs, 'shortcut'));
  mkdirSync(join(rootfs, 'mnt', 'vol'), { recursive: true });
  const view = containerView(rootfs, [{ source: volume, target: '/mnt/vol', readOnly: true }], STOPPED);
  expect(containerPath(view, '/shortcut/data', { followLast: true })).toMatchObject({ abs: join(volume, 'data'), inside: '/mnt/vol/data', mounted: true, readOnly: true });
});

test('a mount whose target passes through a link is placed where the link leads', () => {
  mkdirSync(join(rootfs, 'run'));
  symlinkSync('/run', join(rootfs, 'var'));
  const view = containerView(rootfs, [{ source: volume, target: '/var/vol' }], STOPPED);
  expect(containerPath(view, '/run/vol/data', { followLast: true })).toMatchObject({ abs: join(volume, 'data'), mounted: true });
});

test('.. from a mount\'s root leads to its parent in the container, and never above the root', () => {
  symlinkSync('../../../../../etc', join(volume, 'up'));
  const view = containerView(rootfs, [{ source: volume, target: '/mnt/vol' }], STOPPED);
  expect(containerPath(view, '/mnt/vol/up/passwd', { followLast: true })).toMatchObject({ abs: join(rootfs, 'etc', 'passwd'), inside: '/etc/passwd' });
});

test('a mount below another mount is found in its own source', () => {
  const inner = join(dir, 'inner');
  mkdirSync(inner);
  writeFileSync(join(inner, 'x'), '');
  const view = containerView(rootfs, [{ source: inner, target: '/mnt/vol/sub' }, { source: volume, target: '/mnt/vol' }], STOPPED);
  expect(containerPath(view, '/mnt/vol/sub/x', { followLast: true }).abs).toBe(join(inner, 'x'));
  expect(mountPointsOnHost(view)).toEqual(new Map([[join(rootfs, 'mnt', 'vol'), volume], [join(volume, 'sub'), inner]]));
});

test('a dangling link\'s target is named as far as it resolves', () => {
  symlinkSync('/nowhere/at/all', join(volume, 'dangling'));
  const view = containerView(rootfs, [{ source: volume, target: '/mnt/vol' }], STOPPED);
  expect(linkTarget(view, '/mnt/vol/dangling')).toBe('/nowhere/at/all');
});

test('the view of a running container makes nothing on the host: a mount point it lacks is not there', () => {
  const view = containerView(rootfs, [{ source: volume, target: '/mnt/vol' }]);
  expect(existsSync(join(rootfs, 'mnt'))).toBe(false);
  expect(containerPath(view, '/mnt/vol/data', { followLast: true }).stat).toBeUndefined();
});

test('a mount point inside another mount is never made in that mount\'s host directory', () => {
  const inner = join(dir, 'inner');
  mkdirSync(inner);
  writeFileSync(join(inner, 'x'), '');
  const view = containerView(rootfs, [{ source: volume, target: '/mnt/vol', readOnly: true }, { source: inner, target: '/mnt/vol/deeper/sub' }], STOPPED);
  expect(existsSync(join(volume, 'deeper'))).toBe(false);
  expect(view.mounts.map((m) => m.rel)).toEqual(['mnt/vol', 'mnt/vol/deeper/sub']);
});
