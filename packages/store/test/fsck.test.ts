import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { digestOf, MediaTypes } from '@ctr/image';
import type { Store } from '@ctr/store';
import { bytes, newStore, removeDir, tempDir, unpackable, writeImage } from './helpers';

let store: Store;
let root: string;
let work: string;
beforeEach(async () => {
  ({ store, root } = await newStore('fsck'));
  work = await tempDir('fsck-work');
});
afterEach(async () => {
  await removeDir(work);
  await removeDir(root);
});

/** The PID of a process that has exited (what a SIGKILLed writer leaves in its files). */
const deadPid = (): number => spawnSync('true').pid as number;

test('a fresh store is clean', async () => {
  expect(await store.fsck()).toEqual({ clean: true, problems: [], repaired: [], ingests: [] });
});

test('leftovers of killed processes are repaired and images survive', async () => {
  const image = await writeImage(store, work, [{ a: '1' }]);
  await store.images.put('localhost/keep:1', { id: image.config, target: image.target });
  const top = await store.unpackLayers(unpackable(image));
  const pid = deadPid();
  await fs.writeFile(path.join(store.paths.blobs, `.tmp-${pid}-0123`), 'half a blob');
  await fs.symlink(`${pid} feedface`, path.join(store.paths.locks, 'images.lock'));
  await fs.mkdir(path.join(store.paths.snapshots, '77', 'fs'), { recursive: true });
  await fs.mkdir(path.join(store.paths.ingest, 'f'.repeat(64)));
  await store.snapshots.prepare('extract-dead sha256:x', top, { labels: { 'ctr.store/extract-pid': String(pid) } });
  await fs.mkdir(path.join(store.paths.volumes, `.tmp-${pid}-77`));
  await fs.mkdir(path.join(store.paths.snapshots, '1', 'work'));

  const report = await store.fsck();
  expect(report.problems).toEqual([]);
  expect(report.repaired).toHaveLength(7);
  expect(await store.fsck()).toMatchObject({ clean: true, repaired: [] });
  expect((await store.images.resolve('localhost/keep:1')).id).toBe(image.config);
  await expect(store.snapshots.stat('extract-dead sha256:x')).rejects.toMatchObject({ code: 'NotFound' });
  expect((await fs.readdir(store.paths.snapshots)).sort()).toEqual(['1', 'metadata.json']);
});

test('without repair, fsck reports leftovers and touches nothing', async () => {
  const leftover = path.join(store.paths.blobs, `.tmp-${deadPid()}-0123`);
  await fs.writeFile(leftover, 'half');
  expect((await store.fsck({ repair: false })).repaired).toHaveLength(1);
  await expect(fs.readFile(leftover, 'utf8')).resolves.toBe('half');
});

test('a live process\'s temporary files and ingests are left alone', async () => {
  const mine = path.join(store.paths.blobs, `.tmp-${process.pid}-0123`);
  await fs.writeFile(mine, 'in progress');
  const ingest = await store.content.ingest('pull', (await store.content.write(bytes('x'))).digest);
  const report = await store.fsck();
  expect(report).toMatchObject({ clean: true, repaired: [] });
  expect(report.ingests.map((i) => [i.ref, i.writer])).toEqual([['pull', process.pid]]);
  await ingest.abort();
  await fs.rm(mine);
});

test('a corrupt blob is a problem and is removed; the image missing it is a problem too', async () => {
  const image = await writeImage(store, work, [{ a: '1' }]);
  await store.images.put('localhost/broken:1', { id: image.config, target: image.target });
  await fs.writeFile(store.content.blobPath(image.config), 'bit rot');
  const report = await store.fsck();
  expect(report.clean).toBe(false);
  expect(report.problems.map((p) => p.area)).toEqual(['content', 'images']);
  expect(report.problems[1]?.message).toContain(image.config);
  await expect(store.content.info(image.config)).rejects.toMatchObject({ code: 'NotFound' });
});

test('an unreadable image index or snapshot table is reported, not thrown', async () => {
  await fs.writeFile(path.join(store.paths.images, 'index.json'), '{not json');
  await fs.writeFile(path.join(store.paths.snapshots, 'metadata.json'), '{not json');
  const report = await store.fsck();
  expect(report.problems.map((p) => p.area)).toEqual(['images', 'snapshots']);
});

test('an index whose other platforms were not pulled is not a problem', async () => {
  const image = await writeImage(store, work, [{ a: '1' }]);
  const other = { mediaType: MediaTypes.ociManifest, digest: digestOf('arm64 manifest, never pulled'), size: 10 };
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [image.target, other] }));
  const stored = await store.content.write(Readable.from([index]));
  await store.images.put('localhost/multi:1', { id: image.config, target: { mediaType: MediaTypes.ociIndex, ...stored } });
  expect((await store.fsck()).problems).toEqual([]);
  await store.content.delete(image.layers[0]!.digest);
  expect((await store.fsck()).problems.map((p) => p.message)).toEqual([expect.stringContaining(image.layers[0]!.digest)]);
});
