import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { catIn, engineAndHostDir } from './fixture';
import { archived, tarStream } from './tar-fixture';

/**
 * `docker cp` sees a container's files as its processes do — volumes, bind mounts and its own
 * /etc/hosts, /etc/hostname and /etc/resolv.conf on top of its root filesystem — running or
 * not, as moby's archive operations do in the mount namespace they make for them.
 */

describe('docker cp through a container\'s mounts (overlayfs, runc)', () => {
  const s = engineAndHostDir('ctr-cp-mounts-', { clean: true });

  /** A stopped container with the volume `data` at /data holding `f` ("in the volume"), and /lnk → /data. */
  async function withVolume(): Promise<string> {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', volumes: ['data:/data'], cmd: ['sh', '-c', 'echo -n in the volume > /data/f && ln -s /data /lnk'] });
    return id;
  }

  test('a link in the root filesystem into a volume copies the volume\'s files', async () => {
    const id = await withVolume();
    expect(await archived(s.t, id, '/lnk/')).toEqual(new Map([['lnk/', ''], ['lnk/f', 'in the volume']]));
  });

  test('an absolute link in a volume leads to the container\'s file, not into the volume', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', hostname: 'from-container', network: 'none', volumes: ['data:/data'] });
    const { Mountpoint } = await s.t.engine.inspectVolume('data');
    await mkdir(join(Mountpoint, 'etc'));
    await writeFile(join(Mountpoint, 'etc', 'hostname'), 'a decoy in the volume\n');
    await symlink('/etc/hostname', join(Mountpoint, 'hn'));
    const { linkTarget } = await s.t.engine.statPath(id, '/data/hn');
    expect(linkTarget).toBe('/etc/hostname');
    // What `docker cp -L` copies: the link's target, as the container sees it.
    expect(await archived(s.t, id, linkTarget)).toEqual(new Map([['hostname', 'from-container\n']]));
  });

  test('a directory is copied with what is mounted below it: /etc holds the container\'s own hostname', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', hostname: 'own-name', network: 'none' });
    expect((await archived(s.t, id, '/etc')).get('etc/hostname')).toBe('own-name\n');
  });

  test('the root is copied with its volumes\' and bind mounts\' files', async () => {
    await writeFile(join(s.host, 'bound'), 'from the host');
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', volumes: ['data:/data', `${s.host}:/srv/bind:ro`], cmd: ['sh', '-c', 'echo -n in the volume > /data/f'] });
    const entries = await archived(s.t, id, '/');
    expect(entries.get('/data/f')).toBe('in the volume');
    expect(entries.get('/srv/bind/bound')).toBe('from the host');
  });

  test('the root\'s entries are named /, /bin/… and PATH/.\'s ./…, as moby names them', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none' });
    const root = [...(await archived(s.t, id, '/')).keys()];
    expect(root.slice(0, 1)).toEqual(['/']);
    expect(root).toEqual(expect.arrayContaining(['/bin/', '/bin/busybox', '/etc/passwd']));
    expect(root.every((name) => name.startsWith('/'))).toBe(true);
    const contents = [...(await archived(s.t, id, '/.')).keys()];
    expect(contents).toEqual(expect.arrayContaining(['./', './bin/', './etc/passwd']));
    expect(contents.every((name) => name.startsWith('./'))).toBe(true);
  });

  test('a copy in through a link into a volume lands in the volume of a stopped container', async () => {
    const id = await withVolume();
    await s.t.engine.putArchive(id, '/lnk', tarStream({ name: 'copied', type: 'file', data: 'into the volume' }));
    const { Mountpoint } = await s.t.engine.inspectVolume('data');
    expect(await readFile(join(Mountpoint, 'copied'), 'utf8')).toBe('into the volume');
  });

  test('a copy in through a link into a volume lands in the volume of a running container', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', volumes: ['data:/data'], cmd: ['sh', '-c', 'ln -s /data /lnk && sleep 60'], detach: true });
    await s.t.engine.exec(id, { cmd: ['test', '-L', '/lnk'] });
    await s.t.engine.putArchive(id, '/lnk', tarStream({ name: 'copied', type: 'file', data: 'seen inside' }));
    expect(await catIn(s.t, id, '/data/copied')).toBe('seen inside');
  });

  test('a copy in through a link onto a read-only bind mount is refused in moby\'s words and writes nothing', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', volumes: [`${s.host}:/ro:ro`], cmd: ['ln', '-s', '/ro', '/to-ro'] });
    await expect(s.t.engine.putArchive(id, '/to-ro', tarStream({ name: 'nope', type: 'file', data: 'x' }))).rejects.toMatchObject({ code: 'InvalidArgument', message: 'mounted volume is marked read-only' });
    expect(await readdir(s.host)).toEqual([]);
  });

  test('a copy whose archive reaches below a mount under its directory lands in the mount, as the container sees it', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', volumes: [`${s.host}:/data`], cmd: ['sleep', '300'], detach: true });
    await s.t.engine.putArchive(id, '/', tarStream({ name: 'data/seen', type: 'file', data: 'x' }));
    expect(await readFile(join(s.host, 'seen'), 'utf8')).toBe('x');
    expect(await catIn(s.t, id, '/data/seen')).toBe('x');
  });

  test('a container never started is copied into at a bind mount whose point its image lacks', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none', volumes: [`${s.host}:/new/place`] });
    await s.t.engine.putArchive(id, '/new/place', tarStream({ name: 'arrived', type: 'file', data: 'on the host' }));
    expect(await readFile(join(s.host, 'arrived'), 'utf8')).toBe('on the host');
  });

  test('a volume subpath is copied from and into that directory of the volume', async () => {
    const { Mountpoint } = await s.t.engine.createVolume({ name: 'data' });
    await mkdir(join(Mountpoint, 'sub'));
    await writeFile(join(Mountpoint, 'sub', 'mark'), 'inside');
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none', mountSpecs: [{ Type: 'volume', Source: 'data', Target: '/x', VolumeOptions: { Subpath: 'sub' } }] });
    expect(await archived(s.t, id, '/x/mark')).toEqual(new Map([['mark', 'inside']]));
    await s.t.engine.putArchive(id, '/x', tarStream({ name: 'added', type: 'file', data: 'y' }));
    expect(await readdir(join(Mountpoint, 'sub'))).toEqual(['added', 'mark']);
  });

  test('links in a volume that climb or name host paths stay in the container', async () => {
    await writeFile(join(s.host, 'secret'), 'host secret');
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', volumes: ['data:/data'], cmd: ['sh', '-c', `ln -s ../../../../.. /data/up && ln -s ${s.host}/secret /data/abs`] });
    expect((await archived(s.t, id, '/data/up/etc/passwd')).get('passwd')).toContain('root:x:0:0');
    await expect(s.t.engine.getArchive(id, '/data/abs/')).rejects.toMatchObject({ code: 'NotFound' });
    const volume = await archived(s.t, id, '/data');
    expect([...volume.values()].join('')).not.toContain('host secret');
  });
});
