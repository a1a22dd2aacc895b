import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mountPoints } from '@ctr/store';
import { catIn, engineAndHostDir, eventually } from './fixture';
import { archived, tarStream } from './tar-fixture';

/**
 * `docker cp` into and out of a container across its mounts, as moby's archive operations do
 * in the container's mounted view: what an archive holds below a mount under the destination
 * lands in the mount; a tmpfs shows the directory under it; a device volume is mounted for
 * the copy of a container that does not run; a container never started shows the way to a
 * mount inside another mount (real runc, conmon, overlayfs).
 */

describe('docker cp across a container\'s mounts', () => {
  const s = engineAndHostDir('ctr-cp-across-', { clean: true });

  test('an archive\'s entries below a volume under the destination land in the volume of a running container', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', volumes: ['vol:/data/dir/vol'], cmd: ['sleep', '300'], detach: true });
    await s.t.engine.putArchive(id, '/data', tarStream({ name: 'dir/', type: 'dir' }, { name: 'dir/top', type: 'file', data: 'beside' }, { name: 'dir/vol/', type: 'dir' }, { name: 'dir/vol/file', type: 'file', data: 'in the volume' }));
    const { Mountpoint } = await s.t.engine.inspectVolume('vol');
    expect(await readFile(join(Mountpoint, 'file'), 'utf8')).toBe('in the volume');
    expect(await catIn(s.t, id, '/data/dir/vol/file')).toBe('in the volume');
    expect(await catIn(s.t, id, '/data/dir/top')).toBe('beside');
  });

  test('an archive\'s entries below a read-only mount are refused in moby\'s words, and nothing lands in it', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none', volumes: [`${s.host}:/data/ro:ro`] });
    await expect(s.t.engine.putArchive(id, '/data', tarStream({ name: 'ro/file', type: 'file', data: 'x' }))).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'mounted volume is marked read-only',
    });
    expect(await readdir(s.host)).toEqual([]);
  });

  test('a link in the archive that leads out of the mount is followed inside the mount, never onto the host', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none', volumes: [`${s.host}:/data/bind`] });
    await s.t.engine.putArchive(id, '/data', tarStream({ name: 'bind/up', type: 'symlink', linkname: '/' }, { name: 'bind/up/escaped', type: 'file', data: 'x' }, { name: 'bind/dots', type: 'symlink', linkname: '../../../../..' }, { name: 'bind/dots/also', type: 'file', data: 'y' }));
    expect((await readdir(s.host)).sort()).toEqual(['also', 'dots', 'escaped', 'up']);
    await expect(readFile('/escaped')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('an entry that would replace a mount\'s point is refused', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none', volumes: [`${s.host}:/data/bind`] });
    await expect(s.t.engine.putArchive(id, '/data', tarStream({ name: 'bind', type: 'file', data: 'x' }))).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'cannot copy "bind": the mount at /data/bind is in its way',
    });
    expect((await s.t.engine.statPath(id, '/data/bind')).mode & 2 ** 31).toBeTruthy();
  });

  test('a hard link in the archive to a file on the other side of a mount is refused as a cross-device link, and nothing lands in the mount', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none', volumes: [`${s.host}:/data/bind`] });
    await expect(s.t.engine.putArchive(id, '/data', tarStream({ name: 'outside', type: 'file', data: 'x' }, { name: 'bind/inside', type: 'hardlink', linkname: 'outside' }))).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'cannot link "bind/inside" to "outside": invalid cross-device link',
    });
    expect(await readdir(s.host)).toEqual([]);
  });

  test('a running container\'s tmpfs is shown as the directory under it, as moby\'s cp shows it: its files are not copied', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', tmpfs: ['/t'], cmd: ['sh', '-c', 'echo -n live > /t/made && sleep 300'], detach: true });
    expect(await eventually(async () => (await s.t.engine.exec(id, { cmd: ['test', '-f', '/t/made'] })).exitCode, (code) => code === 0)).toBe(0);
    expect(await archived(s.t, id, '/t')).toEqual(new Map([['t/', '']]));
  });

  test('a running container cannot lead a copy of its tmpfs onto the host by changing its own root', async () => {
    // The container's process lives in a root of its own (chroot) where the tmpfs's parent is a link to a host path.
    await writeFile(join(s.host, 'host-file'), 'host secret');
    const setup = `mkdir -p /evil/bin && cp /bin/busybox /evil/bin/ && ln -s ${s.host} /evil/var && exec chroot /evil /bin/busybox sleep 300`;
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', tmpfs: ['/var/tmp'], cmd: ['sh', '-c', setup], detach: true });
    expect(await eventually(async () => (await s.t.engine.top(id)).Processes.map((p) => p.join(' ')).join('\n'), (ps) => ps.includes('sleep 300'))).toContain('sleep 300');
    await s.t.engine.putArchive(id, '/var/tmp', tarStream({ name: 'payload', type: 'file', data: 'x' }));
    await expect(s.t.engine.getArchive(id, '/var/tmp/host-file')).rejects.toMatchObject({ code: 'NotFound' });
    expect((await readdir(s.host)).sort()).toEqual(['host-file']);
  });

  test('a stopped container\'s tmpfs is an empty directory: its files went with it', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', tmpfs: ['/t'], cmd: ['sh', '-c', 'echo -n gone > /t/made'] });
    expect(await archived(s.t, id, '/t')).toEqual(new Map([['t/', '']]));
  });

  test('a device volume of a stopped container is mounted for the copy, and unmounted after', async () => {
    await writeFile(join(s.host, 'on-device'), 'from the device');
    const { Mountpoint } = await s.t.engine.createVolume({ name: 'dev', options: { type: 'none', o: 'bind', device: s.host } });
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none', volumes: ['dev:/data'] });
    expect(await archived(s.t, id, '/data/on-device')).toEqual(new Map([['on-device', 'from the device']]));
    await s.t.engine.putArchive(id, '/data', tarStream({ name: 'copied', type: 'file', data: 'onto the device' }));
    expect(await readFile(join(s.host, 'copied'), 'utf8')).toBe('onto the device');
    expect(await mountPoints()).not.toContain(Mountpoint);
  });

  test('a never-started container shows the way to a volume inside another, without writing into the outer one', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none', volumes: [`${s.host}:/outer`, 'inner:/outer/x/y'] });
    await s.t.engine.putArchive(id, '/outer/x/y', tarStream({ name: 'file', type: 'file', data: 'in the inner volume' }));
    const { Mountpoint } = await s.t.engine.inspectVolume('inner');
    expect(await readFile(join(Mountpoint, 'file'), 'utf8')).toBe('in the inner volume');
    expect(await archived(s.t, id, '/outer')).toEqual(new Map([['outer/', ''], ['outer/x/', ''], ['outer/x/y/', ''], ['outer/x/y/file', 'in the inner volume']]));
    expect(await readdir(s.host)).toEqual([]);
    expect((await readdir(s.t.runRoot)).filter((name) => name.startsWith('cp-'))).toEqual([]);
    await expect(s.t.engine.putArchive(id, '/outer/x', tarStream({ name: 'nope', type: 'file', data: 'x' }))).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  test('a never-started container\'s tmpfs inside a volume is an empty directory, made in neither', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none', volumes: [`${s.host}:/outer`], tmpfs: ['/outer/t'] });
    expect(await archived(s.t, id, '/outer/t')).toEqual(new Map([['t/', '']]));
    expect(await readdir(s.host)).toEqual([]);
  });
});
