import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiMount, CreateContainerOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let work: string;

/** An image with content at a VOLUME: `/vol/f` (`img`), a symlink to it, owned by 1000 with mode 0750. */
const IMAGE = 'copy-up:latest';

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-copy-up-'));
  const context = join(work, 'context');
  await mkdir(context);
  await writeFile(
    join(context, 'Dockerfile'),
    'FROM busybox\nRUN mkdir /vol && echo img > /vol/f && ln -s f /vol/link && chown 1000:1000 /vol && chmod 0750 /vol\nVOLUME /vol\n',
  );
  await t.engine.build({ context, tags: [IMAGE], network: 'none' });
}, 120_000);

afterAll(async () => {
  await t.cleanup();
  await rm(work, { recursive: true, force: true });
});

/** Run `script` in a new container of `image` (removed after), and give its output. */
async function run(options: Partial<CreateContainerOptions> & { image?: string }, script: string): Promise<string> {
  const stdout = collector();
  const { exitCode } = await t.engine.run({ image: IMAGE, pull: 'never', network: 'none', autoRemove: true, ...options, cmd: ['sh', '-c', script], stdout });
  expect(exitCode).toBe(0);
  return stdout.text();
}

/** What `/vol` holds and how it is owned, as the container sees it. */
const LIST_VOL = 'ls /vol | tr "\\n" " "; cat /vol/link; stat -c "%u %a" /vol';

describe("a new volume gets the image's content at its mount point", () => {
  test("an image VOLUME's anonymous volume, with the directory's owner and mode", async () => {
    expect(await run({}, LIST_VOL)).toBe('f link img\n1000 750\n');
  });

  test('an anonymous -v /path volume', async () => {
    expect(await run({ image: 'busybox', volumes: ['/etc'] }, 'ls /etc/passwd')).toBe('/etc/passwd\n');
  });

  test('a named volume made by -v', async () => {
    expect(await run({ volumes: ['copy-named:/vol'] }, LIST_VOL)).toBe('f link img\n1000 750\n');
    const { Mountpoint } = await t.engine.inspectVolume('copy-named');
    expect((await readdir(Mountpoint)).sort()).toEqual(['f', 'link']);
  });

  test("a named volume that exists but is empty, over busybox's /etc", async () => {
    await t.engine.createVolume({ name: 'copy-etc' });
    expect(await run({ image: 'busybox', volumes: ['copy-etc:/etc'] }, 'cat /etc/passwd | head -1')).toBe('root:x:0:0:root:/root:/bin/sh\n');
  });

  test('a named and an anonymous volume of --mount', async () => {
    expect(await run({ mountSpecs: [{ Type: 'volume', Source: 'copy-mount', Target: '/vol' }] }, LIST_VOL)).toBe('f link img\n1000 750\n');
    expect(await run({ image: 'busybox', mountSpecs: [{ Type: 'volume', Target: '/etc' }] }, 'ls /etc/group')).toBe('/etc/group\n');
  });
});

describe('what is not filled', () => {
  test('a volume with data keeps it: nothing of the image is copied over it', async () => {
    await run({ image: 'busybox', volumes: ['copy-kept:/vol'] }, 'echo mine > /vol/own');
    expect(await run({ volumes: ['copy-kept:/vol'] }, 'ls /vol; cat /vol/own')).toBe('own\nmine\n');
  });

  test('a volume mounted with nocopy stays empty', async () => {
    expect(await run({ volumes: ['copy-nocopy:/vol:nocopy'] }, 'ls -A /vol | wc -l')).toBe('0\n');
  });

  test('a --mount with volume-nocopy stays empty', async () => {
    expect(await run({ mountSpecs: [{ Type: 'volume', Source: 'copy-nocopy-mount', Target: '/vol', VolumeOptions: { NoCopy: true } }] }, 'ls -A /vol | wc -l')).toBe('0\n');
  });

  test('a bind mount is the host directory as it is', async () => {
    const host = await mkdtemp(join(work, 'bind-'));
    expect(await run({ volumes: [`${host}:/vol`] }, 'ls -A /vol | wc -l')).toBe('0\n');
    expect(await readdir(host)).toEqual([]);
  });

  test("another container's volume through --volumes-from is not filled from this image", async () => {
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], network: 'none', volumes: ['copy-from:/vol:nocopy'] });
    expect(await run({ volumesFrom: [id] }, 'ls -A /vol | wc -l')).toBe('0\n');
    await t.engine.remove(id);
  });
});

describe('volume-subpath', () => {
  test('mounts that directory of the volume alone, filled from the image when empty', async () => {
    await run({ image: 'busybox', volumes: ['copy-sub:/v'] }, 'mkdir /v/sub; echo other > /v/other');
    expect(await run({ mountSpecs: [{ Type: 'volume', Source: 'copy-sub', Target: '/vol', VolumeOptions: { Subpath: 'sub' } }] }, 'ls /vol | tr "\\n" " "')).toBe('f link ');
    const inspect = await t.engine.inspectVolume('copy-sub');
    expect((await readdir(inspect.Mountpoint)).sort()).toEqual(['other', 'sub']);
  });

  test("that is missing fails the start in dockerd's words, and the container stays created", async () => {
    const { Mountpoint } = await t.engine.createVolume({ name: 'copy-sub-missing' });
    const { id } = await t.engine.create({
      image: 'busybox',
      pull: 'never',
      cmd: ['true'],
      network: 'none',
      mountSpecs: [{ Type: 'volume', Source: 'copy-sub-missing', Target: '/x', VolumeOptions: { Subpath: 'nothere' } }],
    });
    await expect(t.engine.start(id)).rejects.toMatchObject({ code: 'NotFound', message: `cannot access path ${Mountpoint}/nothere: no such file or directory` });
    expect((await t.engine.inspect(id)).State.Status).toBe('created');
    await t.engine.remove(id);
  });
});

describe('--mount checks', () => {
  test("a bind whose source is missing is refused in dockerd's words, and the source is not made", async () => {
    const missing = join(work, 'missing');
    await expect(t.engine.create({ image: 'busybox', pull: 'never', network: 'none', mountSpecs: [{ Type: 'bind', Source: missing, Target: '/x' }] })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: `invalid mount config for type "bind": bind source path does not exist: ${missing}`,
    });
    await expect(readdir(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('volume-opt and volume-label make the new volume with those options and labels', async () => {
    await run({ image: 'busybox', mountSpecs: [{ Type: 'volume', Source: 'copy-opts', Target: '/x', VolumeOptions: { Labels: { tier: 'cache' }, DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } } } }] }, 'true');
    expect(await t.engine.inspectVolume('copy-opts')).toMatchObject({ Labels: { tier: 'cache' }, Options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
  });

  test('two mounts at one place are refused', async () => {
    await expect(
      t.engine.create({ image: 'busybox', pull: 'never', network: 'none', volumes: ['copy-dup:/x'], mountSpecs: [{ Type: 'tmpfs', Target: '/x' }] }),
    ).rejects.toMatchObject({ code: 'InvalidArgument', message: 'Duplicate mount point: /x' });
  });
});

describe('inspect', () => {
  test('HostConfig.Mounts shows the --mounts as given; Mounts lists a --mount tmpfs, and HostConfig.Tmpfs only --tmpfs', async () => {
    const mountSpecs: ApiMount[] = [
      { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576 } },
      { Type: 'volume', Source: 'copy-inspect', Target: '/v', VolumeOptions: { NoCopy: true } },
    ];
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', tmpfs: ['/run'], mountSpecs });
    const inspect = await t.engine.inspect(id);
    expect(inspect.HostConfig.Mounts).toEqual(mountSpecs);
    expect(inspect.HostConfig.Tmpfs).toEqual({ '/run': '' });
    expect(inspect.HostConfig.Binds).toBeNull();
    expect(inspect.Mounts).toEqual(
      expect.arrayContaining([
        { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' },
        expect.objectContaining({ Type: 'volume', Name: 'copy-inspect', Destination: '/v', Mode: 'z' }),
      ]),
    );
    expect(inspect.Mounts.map((m) => m.Destination)).not.toContain('/run');
    await t.engine.remove(id);
  });

  test("a -v mode shows as given in Mounts' Mode and in Binds", async () => {
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', volumes: ['copy-mode:/v:ro,cached'] });
    const inspect = await t.engine.inspect(id);
    expect(inspect.Mounts).toEqual([expect.objectContaining({ Name: 'copy-mode', Mode: 'ro,cached', RW: false })]);
    expect(inspect.HostConfig.Binds).toEqual(['copy-mode:/v:ro,cached']);
    await t.engine.remove(id);
  });

  test('HostConfig.Binds holds the -v binds and named volumes as given, not anonymous volumes nor --volumes-from mounts', async () => {
    const source = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', volumes: ['copy-binds-src:/src'] });
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', volumes: ['/anon', 'copy-binds:/named', '/tmp:/host:ro'], volumesFrom: [source.id] });
    expect((await t.engine.inspect(id)).HostConfig.Binds).toEqual(['copy-binds:/named', '/tmp:/host:ro']);
    await t.engine.remove(id, { volumes: true });
    await t.engine.remove(source.id);
  });
});
