import { promises as fs, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { digestOf, MediaTypes, type Descriptor } from '@ctr/image';
import { openStore } from '@ctr/store';
import { fillDisk } from '../../../test/support/full-disk';
import { exec } from './helpers';

let disk: string;
beforeAll(async () => {
  disk = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-store-test-reserve-'));
  await exec('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', disk]);
});
afterEach(async () => {
  for (const entry of await fs.readdir(disk)) await fs.rm(path.join(disk, entry), { recursive: true, force: true });
});
afterAll(async () => {
  await exec('umount', [disk]).catch(() => undefined);
  await fs.rm(disk, { recursive: true, force: true });
});

const manifest = (seed: string): Descriptor => ({ mediaType: MediaTypes.ociManifest, digest: digestOf(`manifest ${seed}`), size: 100 });
const reserveOf = (root: string): number | undefined => statSync(path.join(root, 'reserve'), { throwIfNoEntry: false })?.size;

test('a store opened with room to spare sets 1 MiB aside', async () => {
  const root = path.join(disk, 'store');
  await openStore({ root });
  expect(reserveOf(root)).toBe(1 << 20);
});

test('an image removed on a full disk is removed, the reserve given up for the smaller index', async () => {
  const root = path.join(disk, 'store');
  const store = await openStore({ root });
  // An index big enough that its rewrite needs blocks of its own.
  for (let i = 0; i < 200; i++) await store.images.put(`example.com/app:${i}`, { id: digestOf(`config ${i}`), target: manifest(String(i)) });
  await fillDisk(disk);
  await store.images.delete('example.com/app:7');
  await expect(store.images.get('example.com/app:7')).rejects.toMatchObject({ code: 'NotFound' });
  expect(reserveOf(root)).toBeUndefined();
  expect((await store.images.list()).length).toBe(199);
});

test('the reserve is set aside again by the next write once there is room', async () => {
  const root = path.join(disk, 'store');
  const store = await openStore({ root });
  await store.images.put('example.com/app:1', { id: digestOf('config 1'), target: manifest('1') });
  await fs.rm(path.join(root, 'reserve'));
  await store.images.put('example.com/app:2', { id: digestOf('config 2'), target: manifest('2') });
  expect(reserveOf(root)).toBe(1 << 20);
});

test('a store opened on a nearly full disk sets nothing aside', async () => {
  await fillDisk(disk);
  await fs.truncate(path.join(disk, 'fill'), (await fs.stat(path.join(disk, 'fill'))).size - (2 << 20));
  const root = path.join(disk, 'store');
  await openStore({ root });
  expect(reserveOf(root)).toBeUndefined();
});
