import { Readable } from 'node:stream';
import { loadArchive, MemoryContentStore, saveArchive } from '@ctr/image';
import { collect, makeImage, untar } from './docker-archive-fixtures';

describe('docker save → docker load round trip', () => {
  it('keeps the manifest digest, image ID and every blob', async () => {
    const source = new MemoryContentStore();
    const image = await makeImage(source);
    const archive = await collect(saveArchive(source, [{ descriptor: image.manifest, names: ['busybox:latest'] }]));
    const target = new MemoryContentStore();
    const result = await loadArchive(target, Readable.from([archive]));
    expect(result.format).toBe('docker-oci');
    expect(result.images).toEqual([
      {
        names: ['docker.io/library/busybox:latest'],
        descriptor: expect.objectContaining({ digest: image.manifest.digest, size: image.manifest.size }),
        imageId: image.config.digest,
      },
    ]);
    for (const blob of [image.manifest, image.config, ...image.layers]) {
      expect(await target.info(blob.digest)).toEqual({ digest: blob.digest, size: blob.size });
    }
  });

  it('returns an image saved under several names once, with all its names', async () => {
    const source = new MemoryContentStore();
    const image = await makeImage(source);
    const archive = await collect(saveArchive(source, [{ descriptor: image.manifest, names: ['app:1', 'app:latest', 'localhost:5000/app:1'] }]));
    const result = await loadArchive(new MemoryContentStore(), Readable.from([archive]));
    expect(result.images).toEqual([
      {
        names: ['docker.io/library/app:1', 'docker.io/library/app:latest', 'localhost:5000/app:1'],
        descriptor: { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size },
        imageId: image.config.digest,
      },
    ]);
  });

  it('writes manifest.json, repositories, index.json and oci-layout as docker 25 does', async () => {
    const source = new MemoryContentStore();
    const image = await makeImage(source);
    const entries = await untar(await collect(saveArchive(source, [{ descriptor: image.manifest, names: ['localhost:5000/app:v1'] }])));
    expect(JSON.parse(entries.get('manifest.json')!.toString())).toEqual([
      {
        Config: `blobs/sha256/${image.config.digest.slice(7)}`,
        RepoTags: ['localhost:5000/app:v1'],
        Layers: image.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
      },
    ]);
    expect(JSON.parse(entries.get('oci-layout')!.toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(JSON.parse(entries.get('index.json')!.toString()).manifests[0].annotations).toEqual({
      'io.containerd.image.name': 'localhost:5000/app:v1',
      'org.opencontainers.image.ref.name': 'v1',
    });
    expect(Object.keys(JSON.parse(entries.get('repositories')!.toString()))).toEqual(['localhost:5000/app']);
  });
});

describe('cancelling', () => {
  it('stops a save with Aborted when the signal fires', async () => {
    const source = new MemoryContentStore();
    const image = await makeImage(source);
    const controller = new AbortController();
    controller.abort();
    await expect(collect(saveArchive(source, [{ descriptor: image.manifest }], { signal: controller.signal }))).rejects.toMatchObject({
      code: 'Aborted',
    });
  });

  it('stops a load with Aborted when the signal fires, returning no images', async () => {
    const source = new MemoryContentStore();
    const image = await makeImage(source);
    const archive = await collect(saveArchive(source, [{ descriptor: image.manifest, names: ['a:b'] }]));
    const controller = new AbortController();
    controller.abort();
    await expect(loadArchive(new MemoryContentStore(), Readable.from([archive]), { signal: controller.signal })).rejects.toMatchObject({
      code: 'Aborted',
    });
  });

  it('fails a save with NotFound when a blob the manifest names is not in the store', async () => {
    const source = new MemoryContentStore();
    const image = await makeImage(source);
    await source.delete(image.layers[0]!.digest);
    await expect(collect(saveArchive(source, [{ descriptor: image.manifest }]))).rejects.toMatchObject({ code: 'NotFound' });
  });
});
