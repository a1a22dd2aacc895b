import { Readable } from 'node:stream';
import { digestOf, loadArchive, MediaTypes, MemoryContentStore, parseManifest, saveArchive } from '@ctr/image';
import { classicArchive, collect, tarEntries } from './docker-archive-fixtures';

async function manifestOf(store: MemoryContentStore, digest: string): Promise<ReturnType<typeof parseManifest>> {
  return parseManifest(await collect(await store.read(digest as never)));
}

describe('docker load of a classic docker save archive', () => {
  it('keeps uncompressed layers as they are, writes a schema 2 manifest and keeps the image ID', async () => {
    const archive = await classicArchive();
    const store = new MemoryContentStore();
    const result = await loadArchive(store, Readable.from([await tarEntries(archive.entries)]));
    expect(result.format).toBe('docker');
    expect(result.images).toHaveLength(1);
    const image = result.images[0]!;
    expect(image.names).toEqual(['docker.io/library/busybox:latest']);
    expect(image.imageId).toBe(archive.configDigest);
    expect(image.descriptor.mediaType).toBe(MediaTypes.dockerManifest);
    const manifest = await manifestOf(store, image.descriptor.digest);
    expect(manifest.config).toEqual(expect.objectContaining({ mediaType: MediaTypes.dockerConfig, digest: archive.configDigest }));
    expect(manifest.layers.map((l) => [l.mediaType, l.digest])).toEqual(archive.diffIds.map((d) => [MediaTypes.dockerLayer, d]));
  });

  it('loads when manifest.json comes first and the layers arrive in reverse order', async () => {
    const archive = await classicArchive({ layers: [{ a: '1' }, { b: '2' }, { c: '3' }] });
    const manifest = archive.entries.filter((e) => e.name === 'manifest.json');
    const rest = archive.entries.filter((e) => e.name !== 'manifest.json').reverse();
    const store = new MemoryContentStore();
    const result = await loadArchive(store, Readable.from([await tarEntries([...manifest, ...rest])]));
    const loaded = await manifestOf(store, result.images[0]!.descriptor.digest);
    expect(loaded.layers.map((l) => l.digest)).toEqual(archive.diffIds);
  });

  it('follows a layer stored once and linked from a second layer directory, as docker save does for duplicates', async () => {
    const archive = await classicArchive({ layers: [{ same: 'x' }, { same: 'x' }] });
    const [first, second] = archive.layerPaths;
    const entries = archive.entries.map((e) =>
      e.name === second ? { name: second!, type: 'symlink' as const, linkname: `../${first}` } : e,
    );
    const store = new MemoryContentStore();
    const result = await loadArchive(store, Readable.from([await tarEntries(entries)]));
    const loaded = await manifestOf(store, result.images[0]!.descriptor.digest);
    expect(loaded.layers.map((l) => l.digest)).toEqual(archive.diffIds);
  });

  it('accepts gzip-compressed layers, checking their uncompressed digest against the config', async () => {
    const archive = await classicArchive({ gzipLayers: true });
    const store = new MemoryContentStore();
    const result = await loadArchive(store, Readable.from([await tarEntries(archive.entries)]));
    const loaded = await manifestOf(store, result.images[0]!.descriptor.digest);
    expect(loaded.layers.map((l) => l.mediaType)).toEqual([MediaTypes.dockerLayerGzip, MediaTypes.dockerLayerGzip]);
    expect(result.images[0]!.imageId).toBe(archive.configDigest);
  });

  it('writes the same manifest each time the same archive is loaded', async () => {
    const bytes = await tarEntries((await classicArchive()).entries);
    const first = await loadArchive(new MemoryContentStore(), Readable.from([bytes]));
    const second = await loadArchive(new MemoryContentStore(), Readable.from([bytes]));
    expect(second.images[0]!.descriptor).toEqual(first.images[0]!.descriptor);
  });

  it('keeps image ID and manifest digest through load → save → load', async () => {
    const archive = await classicArchive();
    const store = new MemoryContentStore();
    const first = (await loadArchive(store, Readable.from([await tarEntries(archive.entries)]))).images[0]!;
    const saved = await collect(saveArchive(store, [{ descriptor: first.descriptor, names: first.names }]));
    const again = await loadArchive(new MemoryContentStore(), Readable.from([saved]));
    expect(again.images).toEqual([
      { names: ['docker.io/library/busybox:latest'], descriptor: expect.objectContaining({ digest: first.descriptor.digest }), imageId: archive.configDigest },
    ]);
  });

  it('returns untagged images with no names', async () => {
    const archive = await classicArchive({ repoTags: [] });
    const result = await loadArchive(new MemoryContentStore(), Readable.from([await tarEntries(archive.entries)]));
    expect(result.images[0]!.names).toEqual([]);
    expect(result.images[0]!.imageId).toBe(digestOf(archive.entries.find((e) => e.name.endsWith('.json') && !e.name.includes('/') && e.name !== 'manifest.json')!.content!));
  });
});
