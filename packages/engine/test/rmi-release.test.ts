import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chainIdOf, type DiffID, type Digest } from '@ctr/image';
import { openStore, type Store } from '@ctr/store';
import type { ResolvedImage } from '@ctr/engine';
import { testEngine, type TestEngine } from './fixture';

describe('rmi gives the space back (store, overlay snapshots, runc)', () => {
  let t: TestEngine;
  let store: Store;
  let work: string;
  beforeAll(async () => {
    t = await testEngine();
    store = await openStore({ root: t.root });
    work = await mkdtemp(path.join(tmpdir(), 'ctr-rmi-release-'));
  });
  afterAll(async () => {
    await t?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  let made = 0;
  /** A one-layer image of its own (nothing shared with busybox), named `name`. */
  async function importSolo(name: string): Promise<ResolvedImage> {
    const dir = path.join(work, `rootfs-${++made}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'data'), `image ${made} of ${name}\n`.repeat(1000));
    return t.engine.importImage({ dir }, { name, config: { Cmd: ['/data'] } });
  }

  const chainOf = (image: ResolvedImage): string[] => chainIdOf(image.config.rootfs.diff_ids as DiffID[]);
  const blobsOf = (image: ResolvedImage): Digest[] => [image.record.target.digest, image.record.id, ...image.layers.map((l) => l.digest)];
  const onDisk = (digests: readonly Digest[]): boolean[] => digests.map((d) => existsSync(store.content.blobPath(d)));
  const snapshotDir = async (name: string): Promise<string> => path.dirname(await store.snapshots.layerDir(name));

  test('rmi of an image nothing else uses frees its blobs and snapshot, as Deleted lines say', async () => {
    const before = (await t.engine.df()).LayersSize;
    const image = await importSolo('solo:1');
    const [chain] = chainOf(image);
    const dir = await snapshotDir(chain as string);

    const removed = await t.engine.removeImage('solo:1');
    expect(removed).toEqual([{ Untagged: 'solo:1' }, { Deleted: image.record.id }, { Deleted: chain }]);
    expect(onDisk(blobsOf(image))).toEqual([false, false, false]);
    expect(existsSync(dir)).toBe(false);
    expect((await t.engine.df()).LayersSize).toBe(before);
  });

  test('a later image prune reclaims nothing for what rmi freed', async () => {
    await importSolo('solo:2');
    await t.engine.removeImage('solo:2');
    expect(await t.engine.pruneImages()).toEqual({ ImagesDeleted: [], SpaceReclaimed: 0 });
  });

  test('rmi of one of several names only untags', async () => {
    const image = await importSolo('twice:1');
    await t.engine.tag('twice:1', 'twice:2');
    expect(await t.engine.removeImage('twice:1')).toEqual([{ Untagged: 'twice:1' }]);
    expect(onDisk(blobsOf(image))).toEqual([true, true, true]);
    await t.engine.removeImage('twice:2');
  });

  test('an image sharing its base layers with another frees only its own layer', async () => {
    const base = await t.engine.inspectImage('busybox');
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', cmd: ['true'] });
    await t.engine.start(id);
    await t.engine.wait(id);
    await t.engine.commit(id, { reference: 'child:1' });
    await t.engine.remove(id);
    const child = await t.engine.inspectImage('child:1');
    const chain = chainIdOf(child.RootFS.Layers as DiffID[]);

    const removed = await t.engine.removeImage('child:1');
    expect(removed).toEqual([{ Untagged: 'child:1' }, { Deleted: child.Id }, { Deleted: chain[chain.length - 1] }]);
    for (const id of chainIdOf(base.RootFS.Layers as DiffID[])) expect(existsSync(await snapshotDir(id))).toBe(true);
    expect((await t.engine.run({ image: 'busybox', network: 'none', cmd: ['true'], autoRemove: true })).exitCode).toBe(0);
  });

  test('rmi -f of an image a stopped container uses keeps the layers its snapshot is based on', async () => {
    const image = await importSolo('used:1');
    const [chain] = chainOf(image);
    const { id } = await t.engine.create({ image: 'used:1', network: 'none', cmd: ['/bin/none'] });

    const removed = await t.engine.removeImage('used:1', { force: true });
    expect(removed).toEqual([{ Untagged: 'used:1' }, { Deleted: image.record.id }]);
    expect(existsSync(await snapshotDir(chain as string))).toBe(true);
    expect(onDisk(blobsOf(image))).toEqual([false, false, false]);
    // The container still sees the image's files through its snapshot.
    expect((await t.engine.statPath(id, '/data')).size).toBeGreaterThan(0);
    await t.engine.remove(id);
  });

  test('what a lease of another process holds (a pull at the same time) stays, until prune once the lease is gone', async () => {
    const image = await importSolo('leased:1');
    const other = await openStore({ root: t.root });
    const lease = await other.leases.create();
    const pulling = other.content.withLease(lease.id);
    // The pull has looked for the config and layer it needs: they are its now.
    for (const digest of [image.record.id, image.layers[0]!.digest]) await pulling.info(digest);

    const removed = await t.engine.removeImage('leased:1');
    expect(removed).toEqual([{ Untagged: 'leased:1' }, { Deleted: image.record.id }]);
    expect(onDisk(blobsOf(image))).toEqual([false, true, true]);
    await other.leases.delete(lease.id);
    const pruned = await t.engine.pruneImages();
    // The collection frees the blobs, but dockerd's prune counts only the layers of images it deletes.
    expect(pruned).toEqual({ ImagesDeleted: [], SpaceReclaimed: 0 });
    expect(onDisk(blobsOf(image))).toEqual([false, false, false]);
  });

  test('the build cache keeps the layers a build made through rmi, until builder prune', async () => {
    const context = path.join(work, 'context');
    await mkdir(context, { recursive: true });
    await writeFile(path.join(context, 'Dockerfile'), 'FROM busybox\nRUN echo built > /built\n');
    const built = await t.engine.build({ context, tags: ['built:1'] });
    const { target } = await store.images.get('docker.io/library/built:1');
    const manifest = JSON.parse((await store.content.readBytes(target.digest)).toString()) as { layers: Array<{ digest: Digest }> };
    const top = manifest.layers[manifest.layers.length - 1]!.digest;

    const removed = await t.engine.removeImage('built:1');
    expect(removed).toEqual([{ Untagged: 'built:1' }, { Deleted: built.id }]);
    expect(onDisk([target.digest, built.id as Digest, top])).toEqual([false, false, true]);
    await t.engine.pruneBuildCache();
    expect(onDisk([top])).toEqual([false]);
  });
});
