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

test('a volatile snapshot in use is left alone', async () => {
  await store.snapshots.prepare('container-1', undefined, { durable: false });
  expect(await store.fsck()).toMatchObject({ clean: true, repaired: [] });
  expect(await store.snapshots.stat('container-1')).toMatchObject({ kind: 'active' });
});

test("a crash's volatile leftovers are removed: a directory without a record, a record without a directory, an unfinished record", async () => {
  const volatile = path.join(store.paths.snapshots, 'volatile');
  await fs.mkdir(path.join(store.paths.snapshots, 'v0123abcd', 'fs'), { recursive: true });
  await store.snapshots.prepare('container-2', undefined, { durable: false });
  const [record] = await fs.readdir(volatile);
  await fs.rm(path.join(store.paths.snapshots, path.basename(record as string, '.json')), { recursive: true });
  await fs.writeFile(path.join(volatile, 'v99.json'), '{"key":"container-3","id":');

  const report = await store.fsck();
  expect(report.repaired.map((r) => r.message)).toEqual([
    'removed the record of volatile snapshot "container-2", whose directory is gone',
    'removed a snapshot directory that was never recorded (interrupted prepare or remove)',
    'removed an unreadable or unfinished volatile snapshot record',
  ]);
  expect(await store.fsck()).toMatchObject({ clean: true, repaired: [] });
  expect(await fs.readdir(volatile)).toEqual([]);
  // Only volatile snapshots were made: the table was never written.
  expect(await fs.readdir(store.paths.snapshots)).toEqual(['volatile']);
});

test('a volatile record left beside its commit (a crash between the two writes) is removed; the committed snapshot stays', async () => {
  await store.snapshots.prepare('container-4', undefined, { durable: false });
  const volatile = path.join(store.paths.snapshots, 'volatile');
  const [record] = await fs.readdir(volatile);
  const left = await fs.readFile(path.join(volatile, record as string), 'utf8');
  await store.snapshots.commit('layer', 'container-4');
  await fs.writeFile(path.join(volatile, record as string), left);

  expect((await store.fsck()).repaired.map((r) => r.message)).toEqual(['removed the record of volatile snapshot "container-4", committed']);
  expect(await store.snapshots.stat('layer')).toMatchObject({ kind: 'committed' });
  await expect(store.snapshots.stat('container-4')).rejects.toMatchObject({ code: 'NotFound' });
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
