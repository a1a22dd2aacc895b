import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { digestOf } from '@ctr/image';
import { openStore } from '@ctr/store';
import { exec, listTree, makeLayer } from './helpers';

let mountpoint: string;
beforeAll(async () => {
  mountpoint = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-store-test-enospc-'));
  await exec('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountpoint]);
});
afterAll(async () => {
  await exec('umount', [mountpoint]).catch(() => undefined);
  await fs.rm(mountpoint, { recursive: true, force: true });
});

const megabytes = (n: number): Readable => Readable.from(Array.from({ length: n * 16 }, () => Buffer.alloc(65536, 7)));

test('a full disk during write is ResourceExhausted and leaves nothing half-visible', async () => {
  const store = await openStore({ root: path.join(mountpoint, 'store') });
  const kept = await store.content.write(Readable.from([Buffer.from('small')]));
  await expect(store.content.write(megabytes(2))).rejects.toMatchObject({ code: 'ResourceExhausted' });
  expect(await listTree(path.join(mountpoint, 'store', 'content'))).toEqual(['blobs', 'blobs/sha256', `blobs/sha256/${kept.digest.slice(7)}`, 'ingest']);
  expect((await store.fsck()).clean).toBe(true);
});

test('a full disk during a resumable ingest is ResourceExhausted and the ingest can be aborted', async () => {
  const store = await openStore({ root: path.join(mountpoint, 'store2') });
  const ingest = await store.content.ingest('big', digestOf('2 MiB never fits'));
  await expect(ingest.append(megabytes(2))).rejects.toMatchObject({ code: 'ResourceExhausted' });
  await ingest.abort();
  expect(await listTree(path.join(mountpoint, 'store2', 'content'))).toEqual(['blobs', 'blobs/sha256', 'ingest']);
});

test('a full disk while unpacking a layer is ResourceExhausted and leaves no snapshot', async () => {
  const store = await openStore({ root: path.join(mountpoint, 'store3') });
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-store-test-enospc-work-'));
  try {
    const big = await makeLayer(work, { 'big.bin': 'x'.repeat(3 * 1024 * 1024) });
    const layer = { diffId: big.diffId, compression: 'gzip' as const, read: async () => Readable.from([big.blob]) };
    await expect(store.unpackLayers([layer])).rejects.toMatchObject({ code: 'ResourceExhausted' });
    expect(await listTree(path.join(mountpoint, 'store3', 'snapshots'))).toEqual(['metadata.json']);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
});

test('on a full disk, tagging and volume creation are ResourceExhausted and what was stored stays intact', async () => {
  const root = path.join(mountpoint, 'store4');
  const store = await openStore({ root });
  const manifest = await store.content.write(Readable.from([Buffer.from('m')]));
  const target = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest };
  await store.images.put('localhost/kept:1', { id: digestOf('c'), target });
  const filler = path.join(mountpoint, 'filler');
  await fs.writeFile(filler, Buffer.alloc(2 * 1024 * 1024)).catch(() => undefined);
  try {
    await expect(store.images.put('localhost/new:1', { id: digestOf('d'), target })).rejects.toMatchObject({ code: 'ResourceExhausted' });
    await expect(store.volumes.create({ name: 'nospace' })).rejects.toMatchObject({ code: 'ResourceExhausted' });
    expect((await store.images.resolve('localhost/kept:1')).id).toBe(digestOf('c'));
    expect(await store.volumes.list()).toEqual([]);
    expect(await listTree(path.join(root, 'images'))).toEqual(['index.json']);
  } finally {
    await fs.rm(filler, { force: true });
  }
  expect((await store.fsck()).clean).toBe(true);
});
