import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { catIn, engineAndHostDir } from './fixture';
import { entriesOf, tarOf } from './tar-fixture';

describe('docker cp, export and diff (overlayfs, runc)', () => {
  const s = engineAndHostDir('ctr-cp-host-');

  test('getArchive of a file names the entry by its base name and reports its stat', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none' });
    const { stat: st, tar } = await s.t.engine.getArchive(id, '/etc/passwd');
    expect(st).toMatchObject({ name: 'passwd', linkTarget: '' });
    const entries = await entriesOf(tar);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ name: 'passwd', type: '0', text: expect.stringContaining('root:x:0:0') });
    await s.t.engine.remove(id);
  });

  test('getArchive of a directory holds the directory and what is under it; PATH/. holds only the contents', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', cmd: ['sh', '-c', 'mkdir -p /data/sub && echo a > /data/a && echo b > /data/sub/b && ln -s /etc/passwd /data/link'] });
    const names = (await entriesOf((await s.t.engine.getArchive(id, '/data')).tar)).map((e) => e.name);
    expect(names).toEqual(['data/', 'data/a', 'data/link', 'data/sub/', 'data/sub/b']);
    const contents = (await entriesOf((await s.t.engine.getArchive(id, '/data/.')).tar)).map((e) => e.name);
    expect(contents).toEqual(['./', './a', './link', './sub/', './sub/b']);
    await s.t.engine.remove(id);
  });

  test('a symlink is archived as a link, and its stat resolves the target inside the container', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', cmd: ['ln', '-s', '/etc/passwd', '/pw'] });
    const { stat: st, tar } = await s.t.engine.getArchive(id, '/pw');
    expect(st.linkTarget).toBe('/etc/passwd');
    expect(await entriesOf(tar)).toEqual([{ name: 'pw', type: '2', text: '', linkname: '/etc/passwd' }]);
    await s.t.engine.remove(id);
  });

  test('putArchive into a running container is visible inside it', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '60'], detach: true });
    await s.t.engine.putArchive(id, '/tmp', Readable.from(tarOf({ name: 'hello.txt', type: 'file', mode: 0o644, data: 'hi from the host\n' })));
    expect(await catIn(s.t, id, '/tmp/hello.txt')).toBe('hi from the host\n');
    expect((await s.t.engine.inspect(id)).State.Paused).toBe(false);
    await s.t.engine.remove(id, { force: true });
  });

  test('a running container is frozen while its files are archived, and thawed after (C1)', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '60'], detach: true });
    const { tar } = await s.t.engine.getArchive(id, '/etc');
    expect((await s.t.engine.inspect(id)).State.Paused).toBe(true);
    await entriesOf(tar);
    expect((await s.t.engine.inspect(id)).State.Paused).toBe(false);
    await s.t.engine.remove(id, { force: true });
  });

  test('putArchive takes a gzip-compressed tar', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none' });
    await s.t.engine.putArchive(id, '/', Readable.from(gzipSync(tarOf({ name: 'opt/x', type: 'file', mode: 0o600, data: 'zipped' }))));
    expect((await entriesOf((await s.t.engine.getArchive(id, '/opt/x')).tar))[0]?.text).toBe('zipped');
    await s.t.engine.remove(id);
  });

  test('a destination symlink pointing at a host path resolves inside the container, not on the host', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', cmd: ['sh', '-c', `mkdir -p ${s.host} && ln -s ${s.host} /escape`] });
    await s.t.engine.putArchive(id, '/escape', Readable.from(tarOf({ name: 'planted', type: 'file', mode: 0o644, data: 'x' })));
    expect(await readdir(s.host)).toEqual([]);
    expect((await entriesOf((await s.t.engine.getArchive(id, `${s.host}/planted`)).tar))[0]?.text).toBe('x');
    await s.t.engine.remove(id);
  });

  test('a relative symlink climbing above the root stays inside it', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', cmd: ['sh', '-c', 'ln -s ../../../../../../../../.. /up'] });
    await s.t.engine.putArchive(id, '/up/tmp', Readable.from(tarOf({ name: 'ctr-cp-climb-marker', type: 'file', mode: 0o644, data: 'x' })));
    await expect(stat('/tmp/ctr-cp-climb-marker')).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await entriesOf((await s.t.engine.getArchive(id, '/tmp/ctr-cp-climb-marker')).tar))).toHaveLength(1);
    await s.t.engine.remove(id);
  });

  test('a tar entry with ../ is an InvalidArgument and writes nothing outside the container', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none' });
    const hostile = tarOf({ name: `../../../../../../../../..${s.host}/evil`, type: 'file', mode: 0o644, data: 'pwned' });
    await expect(s.t.engine.putArchive(id, '/tmp', Readable.from(hostile))).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(await readdir(s.host)).toEqual([]);
    await s.t.engine.remove(id);
  });

  test('a tar that plants a symlink and writes through it stays inside the container (C4)', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none' });
    await writeFile(join(s.host, 'victim'), 'original');
    const hostile = tarOf(
      { name: 'link', type: 'symlink', mode: 0o777, linkname: s.host },
      { name: 'link/victim', type: 'file', mode: 0o777, data: 'overwritten' },
    );
    await s.t.engine.putArchive(id, '/tmp', Readable.from(hostile)).catch(() => undefined);
    expect(await readFile(join(s.host, 'victim'), 'utf8')).toBe('original');
    expect((await stat(join(s.host, 'victim'))).mode & 0o777).toBe(0o644);
    await s.t.engine.remove(id);
  });

  test('copying into a missing directory is NotFound; into a file is InvalidArgument', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none' });
    const tar = (): Readable => Readable.from(tarOf({ name: 'f', type: 'file', mode: 0o644, data: 'x' }));
    await expect(s.t.engine.putArchive(id, '/no/such/dir', tar())).rejects.toMatchObject({ code: 'NotFound', message: expect.stringContaining('Could not find the file /no') });
    await expect(s.t.engine.putArchive(id, '/etc/passwd', tar())).rejects.toMatchObject({ code: 'InvalidArgument', message: 'extraction point is not a directory' });
    await expect(s.t.engine.getArchive(id, '/no/such/file')).rejects.toMatchObject({ code: 'NotFound' });
    await s.t.engine.remove(id);
  });

  test('an unknown container is NotFound', async () => {
    await expect(s.t.engine.getArchive('no-such-container', '/etc')).rejects.toMatchObject({ code: 'NotFound', message: 'No such container: no-such-container' });
    await expect(s.t.engine.putArchive('no-such-container', '/', Readable.from(tarOf()))).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('noOverwriteDirNonDir refuses to replace a directory with a file', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none' });
    const tar = Readable.from(tarOf({ name: 'etc', type: 'file', mode: 0o644, data: 'not a dir' }));
    await expect(s.t.engine.putArchive(id, '/', tar, { noOverwriteDirNonDir: true })).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('cannot overwrite directory') });
    expect((await s.t.engine.statPath(id, '/etc')).mode & 2 ** 31).toBeTruthy();
    await s.t.engine.remove(id);
  });

  test('noOverwriteDirNonDir takes gzip; a corrupt gzip is an InvalidArgument, not a hang, and writes nothing', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none' });
    await s.t.engine.putArchive(id, '/', Readable.from(gzipSync(tarOf({ name: 'srv/z', type: 'file', mode: 0o644, data: 'gz' }))), { noOverwriteDirNonDir: true });
    expect((await entriesOf((await s.t.engine.getArchive(id, '/srv/z')).tar))[0]?.text).toBe('gz');
    const corrupt = gzipSync(tarOf({ name: 'srv/y', type: 'file', mode: 0o644, data: 'x'.repeat(5000) })).subarray(0, 60);
    await expect(s.t.engine.putArchive(id, '/', Readable.from(corrupt), { noOverwriteDirNonDir: true })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('not valid gzip') });
    await expect(s.t.engine.statPath(id, '/srv/y')).rejects.toMatchObject({ code: 'NotFound' });
    await s.t.engine.remove(id);
  });

  test('a read-only container refuses copies in, in moby\'s words', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none', readOnlyRootfs: true });
    await expect(s.t.engine.putArchive(id, '/tmp', Readable.from(tarOf()))).rejects.toMatchObject({ code: 'InvalidArgument', message: 'container rootfs is marked read-only' });
    await s.t.engine.remove(id);
  });

  test('cp reaches into volumes and bind mounts, and refuses read-only ones', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', volumes: ['cp-vol:/data', `${s.host}:/bound:ro`], cmd: ['sleep', '60'], detach: true });
    await writeFile(join(s.host, 'from-host'), 'bound file');
    await s.t.engine.putArchive(id, '/data', Readable.from(tarOf({ name: 'in-volume', type: 'file', mode: 0o644, data: 'kept in the volume' })));
    expect(await catIn(s.t, id, '/data/in-volume')).toBe('kept in the volume');
    expect((await entriesOf((await s.t.engine.getArchive(id, '/bound/from-host')).tar))[0]?.text).toBe('bound file');
    await expect(s.t.engine.putArchive(id, '/bound', Readable.from(tarOf({ name: 'nope', type: 'file', mode: 0o644, data: 'x' })))).rejects.toMatchObject({ code: 'InvalidArgument', message: 'mounted volume is marked read-only' });
    expect(await readdir(s.host)).toEqual(['from-host']);
    await s.t.engine.remove(id, { force: true });
    await s.t.engine.removeVolume('cp-vol');
  });

  test('a read-only container still takes copies into its volumes', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none', readOnlyRootfs: true, volumes: ['ro-vol:/scratch'] });
    await s.t.engine.putArchive(id, '/scratch', Readable.from(tarOf({ name: 'ok', type: 'file', mode: 0o644, data: 'x' })));
    expect((await s.t.engine.statPath(id, '/scratch/ok')).size).toBe(1);
    await s.t.engine.remove(id);
    await s.t.engine.removeVolume('ro-vol');
  });

  test('export streams the whole filesystem, with the container changes', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', cmd: ['sh', '-c', 'echo exported > /marker'] });
    const names = (await entriesOf(await s.t.engine.export(id))).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['bin/busybox', 'etc/passwd', 'marker']));
    await s.t.engine.remove(id);
  });

  test('diff lists added, changed and deleted paths like docker diff', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', cmd: ['sh', '-c', 'mkdir /new && echo x > /new/file && echo y >> /etc/passwd && rm /etc/group'] });
    const changes = await s.t.engine.changes(id);
    expect(changes).toEqual(expect.arrayContaining([
      { Path: '/etc', Kind: 0 },
      { Path: '/etc/passwd', Kind: 0 },
      { Path: '/etc/group', Kind: 2 },
      { Path: '/new', Kind: 1 },
      { Path: '/new/file', Kind: 1 },
    ]));
    expect(changes.map((c) => c.Path)).toEqual([...changes.map((c) => c.Path)].sort());
    await s.t.engine.remove(id);
  });

  test('a container that changed nothing has an empty diff (the runtime mount points are not changes)', async () => {
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', cmd: ['true'] });
    expect(await s.t.engine.changes(id)).toEqual([]);
    await s.t.engine.remove(id);
  });

  test('a file copied in shows in diff as added', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', network: 'none' });
    await s.t.engine.putArchive(id, '/', Readable.from(tarOf({ name: 'copied', type: 'file', mode: 0o644, data: 'c' })));
    expect(await s.t.engine.changes(id)).toContainEqual({ Path: '/copied', Kind: 1 });
    await s.t.engine.remove(id);
  });

  test('symlinks in the container are never followed out when archiving', async () => {
    await writeFile(join(s.host, 'secret'), 'host secret');
    const { id } = await s.t.engine.run({ image: 'busybox', network: 'none', cmd: ['sh', '-c', `mkdir /d && ln -s ${s.host}/secret /d/s && ln -s ${s.host} /hostdir`] });
    const entries = await entriesOf((await s.t.engine.getArchive(id, '/d')).tar);
    expect(entries.map((e) => e.text).join('')).not.toContain('host secret');
    await expect(s.t.engine.getArchive(id, '/hostdir/secret')).rejects.toMatchObject({ code: 'NotFound' });
    await s.t.engine.remove(id);
  });

  test('cp of /etc/hostname gives the container’s own file, as docker cp does', async () => {
    const { id } = await s.t.engine.create({ image: 'busybox', hostname: 'etc-host', network: 'none' });
    const entries = await entriesOf((await s.t.engine.getArchive(id, '/etc/hostname')).tar);
    expect(entries).toEqual([expect.objectContaining({ name: 'hostname', text: 'etc-host\n' })]);
    await s.t.engine.remove(id);
  });
});
