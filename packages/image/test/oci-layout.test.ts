import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { isCtrError } from '@ctr/errors';
import {
  digestOf,
  loadArchive,
  loadOciLayout,
  MediaTypes,
  MemoryContentStore,
  OciLayout,
  saveArchive,
  saveOciLayout,
  type Digest,
} from '@ctr/image';
import { collect, makeImage, put, untar } from './docker-archive-fixtures';

const run = promisify(execFile);

describe('OCI image layout directories', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-oci-layout-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the skeleton: oci-layout, an empty index.json, blobs/sha256', async () => {
    const layout = await OciLayout.open(join(dir, 'l'), { create: true });
    expect(JSON.parse(await readFile(join(layout.dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(await layout.images()).toEqual([]);
    expect(await readdir(join(layout.dir, 'blobs', 'sha256'))).toEqual([]);
  });

  it('refuses to open a directory that is not a layout unless asked to create one', async () => {
    const error = await OciLayout.open(dir).catch((e: unknown) => e);
    expect(isCtrError(error) && error.code).toBe('NotFound');
  });

  it('stores blobs verified, reads them back from an offset, lists and deletes them', async () => {
    const layout = await OciLayout.open(dir, { create: true });
    const info = await layout.write(Readable.from([Buffer.from('hello blob')]));
    expect(info).toEqual({ digest: digestOf('hello blob'), size: 10 });
    expect((await collect(await layout.read(info.digest, { offset: 6 }))).toString()).toBe('blob');
    const listed: Digest[] = [];
    for await (const blob of layout.walk()) listed.push(blob.digest);
    expect(listed).toEqual([info.digest]);
    await layout.delete(info.digest);
    await expect(layout.info(info.digest)).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('rejects a blob whose bytes do not match the expected digest and leaves no file behind', async () => {
    const layout = await OciLayout.open(dir, { create: true });
    const wrong = digestOf('something else');
    await expect(layout.write(Readable.from([Buffer.from('hello')]), { digest: wrong })).rejects.toMatchObject({ code: 'DigestMismatch' });
    expect(await readdir(join(dir, 'blobs', 'sha256'))).toEqual([]);
  });

  it('resolves an image by full name, by familiar name and by its ref name', async () => {
    const store = new MemoryContentStore();
    const image = await makeImage(store);
    const layout = await saveOciLayout(store, [{ descriptor: image.manifest, names: ['busybox:1.36'] }], dir);
    for (const name of ['docker.io/library/busybox:1.36', 'busybox:1.36', '1.36']) {
      expect((await layout.resolve(name)).digest).toBe(image.manifest.digest);
    }
    await expect(layout.resolve('busybox:latest')).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('moves a name to the new image when it is added again', async () => {
    const store = new MemoryContentStore();
    const first = await makeImage(store, { cmd: ['first'] });
    const second = await makeImage(store, { cmd: ['second'] });
    const layout = await saveOciLayout(store, [{ descriptor: first.manifest, names: ['app:v1', 'app:stable'] }], dir);
    await saveOciLayout(store, [{ descriptor: second.manifest, names: ['app:v1'] }], dir);
    expect((await layout.resolve('app:v1')).digest).toBe(second.manifest.digest);
    expect((await layout.resolve('app:stable')).digest).toBe(first.manifest.digest);
    expect((await layout.images()).map((i) => i.names)).toEqual([['docker.io/library/app:stable'], ['docker.io/library/app:v1']]);
  });

  it('loads every image a layout lists into a store, names and digests kept', async () => {
    const store = new MemoryContentStore();
    const image = await makeImage(store);
    await saveOciLayout(store, [{ descriptor: image.manifest, names: ['localhost:5000/x/y:z'] }], dir);
    const target = new MemoryContentStore();
    const loaded = await loadOciLayout(target, dir);
    expect(loaded).toEqual([
      { names: ['localhost:5000/x/y:z'], descriptor: expect.objectContaining({ digest: image.manifest.digest }), imageId: image.config.digest },
    ]);
    for (const blob of [image.manifest, image.config, ...image.layers]) expect((await target.info(blob.digest)).size).toBe(blob.size);
  });

  it('refuses an index.json entry whose digest would climb out of blobs/ (T17)', async () => {
    await OciLayout.open(dir, { create: true });
    const index = { schemaVersion: 2, manifests: [{ mediaType: MediaTypes.ociManifest, digest: 'sha256:../../../../etc/passwd', size: 1 }] };
    await writeFile(join(dir, 'index.json'), JSON.stringify(index));
    const layout = await OciLayout.open(dir);
    await expect(layout.images()).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(loadOciLayout(new MemoryContentStore(), dir)).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(layout.info('sha256:../../x' as Digest)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('loads an OCI layout directory tarred by GNU tar (entries named ./…)', async () => {
    const store = new MemoryContentStore();
    const image = await makeImage(store);
    await saveOciLayout(store, [{ descriptor: image.manifest, names: ['a:b'] }], join(dir, 'layout'));
    const { stdout } = await run('tar', ['-cf', '-', '-C', join(dir, 'layout'), '.'], { encoding: 'buffer', maxBuffer: 64 << 20 });
    const result = await loadArchive(new MemoryContentStore(), Readable.from([stdout]));
    expect(result.images.map((i) => [i.names, i.descriptor.digest])).toEqual([[['docker.io/library/a:b'], image.manifest.digest]]);
  });

  it('writes an OCI layout tar that loads back with format oci', async () => {
    const store = new MemoryContentStore();
    const image = await makeImage(store);
    const bytes = await collect(saveArchive(store, [{ descriptor: image.manifest, names: ['a:b'] }], { format: 'oci' }));
    expect([...(await untar(bytes)).keys()].filter((n) => !n.startsWith('blobs/'))).toEqual(['oci-layout', 'index.json']);
    const result = await loadArchive(new MemoryContentStore(), Readable.from([bytes]));
    expect(result).toEqual({
      format: 'oci',
      images: [{ names: ['docker.io/library/a:b'], descriptor: expect.objectContaining({ digest: image.manifest.digest }), imageId: image.config.digest }],
    });
  });
});

describe('multi-platform images in archives', () => {
  it('saves the platforms the store has, and manifest.json describes the requested one', async () => {
    const store = new MemoryContentStore();
    const amd = await makeImage(store, { cmd: ['amd64'] });
    const arm = await makeImage(store, { cmd: ['arm64'] });
    const missing = { mediaType: MediaTypes.ociManifest, digest: digestOf('not in the store'), size: 3, platform: { os: 'linux', architecture: 's390x' } };
    const indexBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: [
          { ...amd.manifest, platform: { os: 'linux', architecture: 'amd64' } },
          { ...arm.manifest, platform: { os: 'linux', architecture: 'arm64' } },
          missing,
        ],
      }),
    );
    const index = { mediaType: MediaTypes.ociIndex, digest: await put(store, indexBytes), size: indexBytes.length };
    const bytes = await collect(saveArchive(store, [{ descriptor: index, names: ['multi:latest'] }], { platform: { os: 'linux', architecture: 'arm64' } }));
    const entries = await untar(bytes);
    expect(JSON.parse(entries.get('manifest.json')!.toString())[0].Config).toBe(`blobs/sha256/${arm.config.digest.slice(7)}`);
    expect(entries.has(`blobs/sha256/${amd.config.digest.slice(7)}`)).toBe(true);
    const result = await loadArchive(new MemoryContentStore(), Readable.from([bytes]));
    expect(result.images).toEqual([{ names: ['docker.io/library/multi:latest'], descriptor: expect.objectContaining({ digest: index.digest }) }]);
  });
});
