import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { chainIdOf, type DiffID } from '@ctr/image';
import { mountAll, unmount, type Store, type UnpackLayer, type UnpackProgress } from '@ctr/store';
import { makeLayer, newStore, removeDir, tempDir } from './helpers';

let store: Store;
let root: string;
let work: string;
beforeEach(async () => {
  ({ store, root } = await newStore('unpack'));
  work = await tempDir('unpack-work');
});
afterEach(async () => {
  await unmount(path.join(work, 'mnt'));
  await removeDir(work);
  await removeDir(root);
});

const asLayer = (blob: Buffer, diffId: DiffID): UnpackLayer => ({
  diffId,
  compression: 'gzip',
  read: async () => Readable.from([blob]),
});

test('layers unpack into committed snapshots named by chainID, and the top mounts as the image rootfs', async () => {
  const l1 = await makeLayer(work, { 'etc/hostname': 'base', 'bin/tool': 'v1' });
  const l2 = await makeLayer(work, { 'bin/tool': 'v2', 'app/run': 'go' });
  const top = await store.unpackLayers([asLayer(l1.blob, l1.diffId), asLayer(l2.blob, l2.diffId)]);
  const chain = chainIdOf([l1.diffId, l2.diffId]);
  expect(top).toBe(chain[1]);
  expect(await store.snapshots.stat(chain[0] as string)).toMatchObject({ kind: 'committed' });
  expect(await store.snapshots.stat(chain[1] as string)).toMatchObject({ kind: 'committed', parent: chain[0] });

  const mnt = path.join(work, 'mnt');
  await fs.mkdir(mnt);
  await mountAll(await store.snapshots.prepare('ctr-1', top), mnt);
  expect(await fs.readFile(path.join(mnt, 'bin/tool'), 'utf8')).toBe('v2');
  expect(await fs.readFile(path.join(mnt, 'etc/hostname'), 'utf8')).toBe('base');
});

test('a whiteout in an upper layer hides the lower file in the mounted image', async () => {
  const l1 = await makeLayer(work, { 'etc/old': 'gone soon', 'etc/kept': 'stays' });
  const l2 = await makeLayer(work, { 'etc/.wh.old': '' });
  const top = await store.unpackLayers([asLayer(l1.blob, l1.diffId), asLayer(l2.blob, l2.diffId)]);
  const mnt = path.join(work, 'mnt');
  await fs.mkdir(mnt);
  await mountAll(await store.snapshots.view('look', top), mnt);
  expect(await fs.readdir(path.join(mnt, 'etc'))).toEqual(['kept']);
});

test('a chainID already committed is not unpacked again', async () => {
  const l1 = await makeLayer(work, { a: '1' });
  await store.unpackLayers([asLayer(l1.blob, l1.diffId)]);
  const events: UnpackProgress['status'][] = [];
  let opened = 0;
  const layer: UnpackLayer = { ...asLayer(l1.blob, l1.diffId), read: async () => (opened++, Readable.from([l1.blob])) };
  await store.unpackLayers([layer], { onProgress: (p) => events.push(p.status) });
  expect(events).toEqual(['exists']);
  expect(opened).toBe(0);
});

test('a layer whose content does not match its diffID is DigestMismatch and nothing is committed', async () => {
  const good = await makeLayer(work, { a: '1' });
  const evil = await makeLayer(work, { a: 'evil' });
  await expect(store.unpackLayers([asLayer(evil.blob, good.diffId)])).rejects.toMatchObject({ code: 'DigestMismatch' });
  const left = [];
  for await (const info of store.snapshots.walk()) left.push(info.name);
  expect(left).toEqual([]);
  expect(await fs.readdir(path.join(root, 'snapshots'))).toEqual(['metadata.json']);
});

test('a failing layer stream leaves the layers below it committed and nothing half-made', async () => {
  const l1 = await makeLayer(work, { a: '1' });
  const l2 = await makeLayer(work, { b: '2' });
  const broken: UnpackLayer = { ...asLayer(l2.blob, l2.diffId), read: async () => Readable.from([l2.blob.subarray(0, 20)]) };
  await expect(store.unpackLayers([asLayer(l1.blob, l1.diffId), broken])).rejects.toThrow();
  const left = [];
  for await (const info of store.snapshots.walk()) left.push(info.name);
  expect(left).toEqual([l1.diffId]);
});

test('an unpack under a lease records its snapshots in the lease', async () => {
  const l1 = await makeLayer(work, { a: '1' });
  const lease = await store.leases.create();
  await store.unpackLayers([asLayer(l1.blob, l1.diffId)], { lease: lease.id });
  expect((await store.leases.get(lease.id)).resources).toEqual([{ type: 'snapshot', id: l1.diffId }]);
});
