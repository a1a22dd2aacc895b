import { existsSync } from 'node:fs';
import path from 'node:path';
import { chainIdOf, MediaTypes, type Digest } from '@ctr/image';
import type { Store } from '@ctr/store';
import { bytes, newStore, removeDir, tempDir, unpackable, writeImage, writeImageOf, type TestImage } from './helpers';

let store: Store;
let root: string;
let work: string;
beforeEach(async () => {
  ({ store, root } = await newStore('release'));
  work = await tempDir('release-work');
});
afterEach(async () => {
  await removeDir(work);
  await removeDir(root);
});

/** Blob mtimes and snapshot times are compared with the release's start: let the clock move past the writes. */
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

const blobsOf = (image: TestImage): Digest[] => [image.target.digest, image.config, ...image.layers.map((l) => l.digest)];
const present = (digests: readonly Digest[]): boolean[] => digests.map((d) => existsSync(store.content.blobPath(d)));

/** An image named and unpacked, as a pull leaves it. */
async function install(name: string, image: TestImage): Promise<void> {
  await store.images.put(name, { id: image.config, target: image.target });
  await store.unpackLayers(unpackable(image));
}

/** Each committed snapshot's directory on disk, by name. */
async function snapshotDirs(): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for await (const s of store.snapshots.walk()) if (s.kind === 'committed') dirs.set(s.name, path.dirname(await store.snapshots.layerDir(s.name)));
  return dirs;
}

const chainOf = (image: TestImage): string[] => chainIdOf(image.layers.map((l) => l.diffId));

test('releasing a sole image frees its blobs and snapshot directories, and names its layers top first', async () => {
  const image = await writeImage(store, work, [{ a: '1' }, { b: '2' }]);
  await install('docker.io/library/only:1', image);
  const chain = chainOf(image);
  const dirs = await snapshotDirs();
  const sizes = await Promise.all(blobsOf(image).map(async (d) => (await store.content.info(d)).size));
  await store.images.untag('docker.io/library/only:1');
  await tick();

  const result = await store.release([image.target]);
  expect(result.layers).toEqual([[...chain].reverse()]);
  expect(result.removedBlobs.sort()).toEqual(blobsOf(image).sort());
  expect(result.reclaimed).toBe(sizes.reduce((sum, size) => sum + size, 0));
  expect(present(blobsOf(image))).toEqual(blobsOf(image).map(() => false));
  expect(chain.map((id) => existsSync(dirs.get(id) as string))).toEqual([false, false]);
  expect((await store.snapshots.table()).snapshots).toEqual({});
});

test('an image sharing its base layer with another frees only its own layer', async () => {
  const base = await writeImage(store, work, [{ base: 'shared' }]);
  const mine = await writeImage(store, work, [{ mine: 'only' }]);
  const kept = await writeImageOf(store, base.layers);
  const going = await writeImageOf(store, [...base.layers, ...mine.layers]);
  await install('docker.io/library/kept:1', kept);
  await install('docker.io/library/going:1', going);
  const [shared, own] = chainOf(going);
  await store.images.untag('docker.io/library/going:1');
  await tick();

  const result = await store.release([going.target]);
  expect(result.layers).toEqual([[own]]);
  expect(result.removedBlobs.sort()).toEqual([going.target.digest, going.config, mine.layers[0]!.digest].sort());
  expect(present(blobsOf(kept))).toEqual([true, true, true]);
  expect(Object.keys((await store.snapshots.table()).snapshots)).toEqual([shared]);
});

test('a container snapshot keeps the layers it is based on; the blobs go', async () => {
  const image = await writeImage(store, work, [{ a: '1' }, { b: '2' }]);
  await install('docker.io/library/used:1', image);
  const chain = chainOf(image);
  await store.snapshots.prepare('container-1', chain[1]);
  await store.images.untag('docker.io/library/used:1');
  await tick();

  const result = await store.release([image.target]);
  expect(result.layers).toEqual([[]]);
  expect(present(blobsOf(image))).toEqual([false, false, false, false]);
  expect(Object.keys((await store.snapshots.table()).snapshots).sort()).toEqual([...chain, 'container-1'].sort());
  await store.snapshots.mounts('container-1');
});

test('what a live lease holds stays: the blobs it names and the layers its config describes', async () => {
  const image = await writeImage(store, work, [{ a: '1' }]);
  await install('docker.io/library/pulled:1', image);
  await store.images.untag('docker.io/library/pulled:1');
  await store.leases.withLease(async (lease) => {
    // A pull of the same image at the same time has looked for its config and layer.
    await store.content.withLease(lease.id).info(image.config);
    await store.content.withLease(lease.id).info(image.layers[0]!.digest);
    await tick();
    const result = await store.release([image.target]);
    expect(result.layers).toEqual([[]]);
    expect(result.removedBlobs).toEqual([image.target.digest]);
    expect(present([image.config, image.layers[0]!.digest])).toEqual([true, true]);
  });
});

test('a pull looking for a blob while a release runs either keeps it or finds it gone', async () => {
  for (const pullFirst of [true, false, true, false]) {
    const image = await writeImage(store, work, [{ pullFirst: String(pullFirst) }]);
    await install('docker.io/library/race:1', image);
    await store.images.untag('docker.io/library/race:1');
    await tick();
    const layer = image.layers[0]!.digest;
    await store.leases.withLease(async (lease) => {
      const look = (): Promise<boolean> => store.content.withLease(lease.id).info(layer).then(() => true, () => false);
      const release = (): Promise<unknown> => store.release([image.target]);
      const found = pullFirst ? (await Promise.all([look(), release()]))[0] : (await Promise.all([release(), look()]))[1];
      expect(existsSync(store.content.blobPath(layer))).toBe(found);
    });
  }
});

test('a pull that looks for a blob while a release holds the leases frozen waits, and finds what was freed gone', async () => {
  const { digest } = await store.content.write(bytes('a layer'));
  await store.leases.withLease(async (lease) => {
    let looking: Promise<boolean> | undefined;
    await store.leases.frozen(async (active) => {
      looking = store.content.withLease(lease.id).info(digest).then(() => true, () => false);
      expect(active.find((l) => l.id === lease.id)?.resources).toEqual([]);
      await store.content.delete(digest);
    });
    expect(await looking).toBe(false);
    expect((await store.leases.get(lease.id)).resources).toEqual([{ type: 'content', id: digest }]);
  });
});

test('what a release freed, a later gc does not find again', async () => {
  const image = await writeImage(store, work, [{ a: '1' }]);
  await install('docker.io/library/once:1', image);
  await store.images.untag('docker.io/library/once:1');
  await tick();
  await store.release([image.target]);
  await tick();
  expect(await store.gc()).toMatchObject({ removedBlobs: [], removedSnapshots: [], reclaimed: 0 });
});

test('roots the caller names (the build cache) keep their blobs and layers, through release and gc', async () => {
  const image = await writeImage(store, work, [{ a: '1' }, { b: '2' }]);
  await install('docker.io/library/cached:1', image);
  const chain = chainOf(image);
  await store.images.untag('docker.io/library/cached:1');
  const orphan = await store.content.write(bytes('nobody needs me'));
  await tick();
  const roots = async (): Promise<{ blobs: TestImage['target'][]; snapshots: string[] }> => ({ blobs: [{ ...image.target, digest: image.layers[0]!.digest }], snapshots: [chain[0]!] });

  const result = await store.release([image.target], { roots });
  expect(result.layers).toEqual([[chain[1]]]);
  expect(present(blobsOf(image))).toEqual([false, false, true, false]);
  const gc = await store.gc({ roots });
  expect(gc.removedBlobs).toEqual([orphan.digest]);
  expect(Object.keys((await store.snapshots.table()).snapshots)).toEqual([chain[0]]);
});

test('layers two released images share are named once, by the first', async () => {
  const base = await writeImage(store, work, [{ base: 'shared' }]);
  const one = await writeImageOf(store, base.layers);
  const other = await writeImage(store, work, [{ other: 'x' }]);
  const two = await writeImageOf(store, [...base.layers, ...other.layers]);
  await install('docker.io/library/one:1', one);
  await install('docker.io/library/two:1', two);
  const chain = chainOf(two);
  await store.images.untag('docker.io/library/one:1');
  await store.images.untag('docker.io/library/two:1');
  await tick();

  const result = await store.release([one.target, two.target]);
  expect(result.layers).toEqual([[chain[0]], [chain[1]]]);
  expect((await store.snapshots.table()).snapshots).toEqual({});
});

test('platform manifests taken from an index that stays go with their config and layers; the rest of the index stays', async () => {
  const own = await writeImage(store, work, [{ own: '1' }]);
  const other = await writeImage(store, work, [{ other: '2' }]);
  const index = await store.content.write(
    bytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [own.target, other.target] })),
  );
  await store.images.put('docker.io/library/multi:1', { id: own.config, target: { mediaType: MediaTypes.ociIndex, ...index } });
  await tick();

  const result = await store.release([other.target], { index: index.digest });
  expect(result.removedBlobs.sort()).toEqual(blobsOf(other).sort());
  expect(present([index.digest, ...blobsOf(own)])).toEqual([true, true, true, true]);
});

test("a manifest another image's index names stays when the image it was the target of goes", async () => {
  const own = await writeImage(store, work, [{ own: '1' }]);
  const other = await writeImage(store, work, [{ other: '2' }]);
  const index = await store.content.write(bytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [own.target, other.target] })));
  await store.images.put('docker.io/library/multi:1', { id: own.config, target: { mediaType: MediaTypes.ociIndex, ...index } });
  await store.images.put('docker.io/library/single:1', { id: other.config, target: other.target });
  await store.images.untag('docker.io/library/single:1');
  await tick();

  expect(await store.release([other.target])).toEqual({ removedBlobs: [], layers: [[]], reclaimed: 0 });
  expect(present(blobsOf(other))).toEqual([true, true, true]);
});
