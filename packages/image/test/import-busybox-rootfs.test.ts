import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isCtrError } from '@ctr/errors';
import { createBusyboxRootfs } from '@ctr/image';

const run = promisify(execFile);

describe('createBusyboxRootfs', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-busybox-rootfs-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('copies the host busybox and links one applet per name busybox --list prints', async () => {
    const { applets } = await createBusyboxRootfs(dir);
    const { stdout } = await run('/bin/busybox', ['--list']);
    expect(applets.sort()).toEqual(stdout.split('\n').filter((a) => a !== '' && a !== 'busybox').sort());
    expect((await stat(join(dir, 'bin', 'busybox'))).mode & 0o777).toBe(0o755);
    expect(await readlink(join(dir, 'bin', 'sh'))).toBe('busybox');
    const { stdout: echoed } = await run(join(dir, 'bin', 'sh'), ['-c', 'echo hi from the rootfs']);
    expect(echoed).toBe('hi from the rootfs\n');
  });

  it('refuses a directory that already holds a root filesystem, leaving it as it was', async () => {
    await createBusyboxRootfs(dir);
    const before = await readlink(join(dir, 'bin', 'sh'));
    const error = await createBusyboxRootfs(dir).catch((e: unknown) => e);
    expect(isCtrError(error) && error.code).toBe('AlreadyExists');
    expect((error as Error).message).toBe(`${dir} already holds a root filesystem (${join(dir, 'bin')} is not empty)`);
    expect(await readlink(join(dir, 'bin', 'sh'))).toBe(before);
  });

  it('writes /etc/passwd and /etc/group with root and nobody', async () => {
    await createBusyboxRootfs(dir);
    expect(await readFile(join(dir, 'etc', 'passwd'), 'utf8')).toMatch(/^root:x:0:0:.*\nnobody:x:65534:65534:/);
    expect(await readFile(join(dir, 'etc', 'group'), 'utf8')).toMatch(/^root:x:0:\nnobody:x:65534:/);
  });

  it('makes /tmp sticky and world-writable, /root private, and the mount points', async () => {
    await createBusyboxRootfs(dir);
    expect((await stat(join(dir, 'tmp'))).mode & 0o7777).toBe(0o1777);
    expect((await stat(join(dir, 'root'))).mode & 0o777).toBe(0o700);
    for (const mountPoint of ['proc', 'sys', 'dev']) expect((await stat(join(dir, mountPoint))).isDirectory()).toBe(true);
  });

  it('gives every file the same fixed mtime, so the layer is reproducible', async () => {
    await createBusyboxRootfs(dir);
    const times = await Promise.all(['bin/busybox', 'bin/sh', 'etc/passwd', 'tmp', '.'].map(async (p) => (await lstat(join(dir, p))).mtime.toISOString()));
    expect(new Set(times)).toEqual(new Set(['2000-01-01T00:00:00.000Z']));
  });

  it('fails with Unavailable, creating nothing, when the busybox binary is missing', async () => {
    const error = await createBusyboxRootfs(join(dir, 'root'), { busybox: join(dir, 'no-busybox') }).catch((e: unknown) => e);
    expect(isCtrError(error) && error.code).toBe('Unavailable');
    await expect(stat(join(dir, 'root'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails with InvalidArgument, creating nothing, when the binary lists no applets (not a busybox)', async () => {
    const error = await createBusyboxRootfs(join(dir, 'root'), { busybox: '/bin/true' }).catch((e: unknown) => e);
    expect(isCtrError(error) && error.code).toBe('InvalidArgument');
    expect((error as Error).message).toBe('/bin/true is not busybox: `/bin/true --list` printed no applets');
    await expect(stat(join(dir, 'root'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
