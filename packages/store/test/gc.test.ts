import { promises as fs } from 'node:fs';
import { digestOf } from '@ctr/image';
import type { Store } from '@ctr/store';
import { bytes, newStore, removeDir, tempDir, unpackable, writeImage } from './helpers';

let store: Store;
let root: string;
let work: string;
beforeEach(async () => {
  ({ store, root } = await newStore('gc'));
  work = await tempDir('gc-work');
});
afterEach(async () => {
  await removeDir(work);
  await removeDir(root);
});

const blobs = async (): Promise<string[]> => {
  const out = [];
  for await (const b of store.content.walk()) out.push(b.digest);
  return out.sort();
};
const snapshots = async (): Promise<string[]> => {
  const out = [];
  for await (const s of store.snapshots.walk()) out.push(s.name);
  return out.sort();
};
/** Blob mtimes are compared with gc's start: let the clock move past the writes. */
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

test('gc keeps every blob and snapshot an image reaches and removes the rest', async () => {
  const image = await writeImage(store, work, [{ a: '1' }, { b: '2' }]);
  await store.images.put('docker.io/library/kept:1', { id: image.config, target: image.target });
  const top = await store.unpackLayers(unpackable(image));
  const orphan = await store.content.write(bytes('nobody needs me'));
  const stray = await writeImage(store, work, [{ c: '3' }]);
  await store.unpackLayers(unpackable(stray));
  await tick();

  const result = await store.gc();
  expect(result.removedBlobs.sort()).toEqual([orphan.digest, stray.target.digest, stray.config, stray.layers[0]!.digest].sort());
  expect(result.removedSnapshots).toEqual([stray.layers[0]!.diffId]);
  expect(await blobs()).toEqual([image.target.digest, image.config, ...image.layers.map((l) => l.digest)].sort());
  expect(await snapshots()).toEqual([image.layers[0]!.diffId, top].sort());
});

test('a lease protects what it records until it is deleted', async () => {
  const lease = await store.leases.create();
  const leased = store.content.withLease(lease.id);
  const { digest } = await leased.write(bytes('pull in progress'));
  await tick();
  expect((await store.gc()).removedBlobs).toEqual([]);
  await store.leases.delete(lease.id);
  await tick();
  expect((await store.gc()).removedBlobs).toEqual([digest]);
});

test('an expired lease protects nothing and is removed', async () => {
  const lease = await store.leases.create({ expiresInMs: 1 });
  const { digest } = await store.content.withLease(lease.id).write(bytes('stale pull'));
  await tick();
  const result = await store.gc();
  expect(result.expiredLeases).toEqual([lease.id]);
  expect(result.removedBlobs).toEqual([digest]);
});

test('a container snapshot keeps its image layers even after the image is deleted', async () => {
  const image = await writeImage(store, work, [{ a: '1' }]);
  await store.images.put('docker.io/library/x:1', { id: image.config, target: image.target });
  const top = await store.unpackLayers(unpackable(image));
  await store.snapshots.prepare('container-1', top);
  await store.images.untag('docker.io/library/x:1');
  await tick();
  const result = await store.gc();
  expect(result.removedSnapshots).toEqual([]);
  expect(await snapshots()).toEqual(['container-1', top].sort());
});

test('gc leaves active ingests alone', async () => {
  const ingest = await store.content.ingest('pull-x', digestOf('whole thing'));
  await ingest.append(bytes('whole'));
  await ingest.close();
  await tick();
  await store.gc();
  expect((await store.content.ingests()).map((i) => i.ref)).toEqual(['pull-x']);
  await expect(fs.readdir(store.paths.ingest)).resolves.toHaveLength(1);
});
