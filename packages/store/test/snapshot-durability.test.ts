/**
 * A snapshot's record is fsynced (file and directory) in the snapshot table. One nobody
 * needs after a power cut (the root filesystem of a container removed when it exits) is
 * volatile: its record is a file of its own beside the table, written and removed without
 * fsync, and the table is never rewritten for it — yet it is an ordinary snapshot to every
 * reader and writer.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Store } from '@ctr/store';
import { newStore, removeDir } from './helpers';

// fs-util takes `fsync` from node:fs when it loads: count the calls it makes.
const fsyncs: number[] = [];
jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return {
    ...actual,
    fsync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      fsyncs.push(fd);
      actual.fsync(fd, callback);
    },
  };
});

let store: Store;
let root: string;
beforeEach(async () => ({ store, root } = await newStore('durable')));
afterEach(async () => removeDir(root));

async function fsyncsDuring(action: () => Promise<unknown>): Promise<number> {
  const before = fsyncs.length;
  await action();
  return fsyncs.length - before;
}

const table = (): Promise<string> => fs.readFile(path.join(root, 'snapshots', 'metadata.json'), 'utf8');
const volatileRecords = async (): Promise<string[]> => fs.readdir(path.join(root, 'snapshots', 'volatile')).catch(() => []);

/** A committed one-layer snapshot to base others on. */
async function layer(name: string): Promise<void> {
  await store.snapshots.prepare(`extract-${name}`);
  await store.snapshots.commit(name, `extract-${name}`);
}

test('a prepared snapshot is recorded durably by default', async () => {
  expect(await fsyncsDuring(() => store.snapshots.prepare('c1'))).toBe(2);
});

test('a snapshot prepared with durable false is made without an fsync and without rewriting the table', async () => {
  await layer('base');
  const before = await table();
  expect(await fsyncsDuring(() => store.snapshots.prepare('c1', 'base', { durable: false }))).toBe(0);
  expect(await table()).toBe(before);
  expect(await volatileRecords()).toEqual([expect.stringMatching(/^v[0-9a-f]+\.json$/)]);
});

test('a volatile snapshot is an ordinary snapshot to readers: stat, walk and mounts see it', async () => {
  await layer('base');
  const mounts = await store.snapshots.prepare('c1', 'base', { durable: false });
  expect(await store.snapshots.stat('c1')).toMatchObject({ name: 'c1', kind: 'active', parent: 'base' });
  const names: string[] = [];
  for await (const info of store.snapshots.walk()) names.push(info.name);
  expect(names.sort()).toEqual(['base', 'c1']);
  expect(await store.snapshots.mounts('c1')).toEqual(mounts);
});

test('a key taken by a volatile snapshot cannot be prepared again', async () => {
  await store.snapshots.prepare('c1', undefined, { durable: false });
  await expect(store.snapshots.prepare('c1')).rejects.toMatchObject({ code: 'AlreadyExists' });
  await expect(store.snapshots.prepare('c1', undefined, { durable: false })).rejects.toMatchObject({ code: 'AlreadyExists' });
});

test('removing a volatile snapshot deletes its record and leaves the table as it was', async () => {
  await layer('base');
  await store.snapshots.prepare('c1', 'base', { durable: false });
  const before = await table();
  expect(await fsyncsDuring(() => store.snapshots.remove('c1'))).toBe(0);
  expect(await table()).toBe(before);
  expect(await volatileRecords()).toEqual([]);
  await expect(store.snapshots.stat('c1')).rejects.toMatchObject({ code: 'NotFound' });
});

test('a volatile snapshot holds its parent: removing the parent is a Conflict', async () => {
  await layer('base');
  await store.snapshots.prepare('c1', 'base', { durable: false });
  await expect(store.snapshots.remove('base')).rejects.toMatchObject({ code: 'Conflict' });
  expect(await store.snapshots.stat('base')).toMatchObject({ kind: 'committed' });
});

test('garbage collection keeps the layer under a volatile snapshot', async () => {
  await layer('base');
  await layer('unused');
  await store.snapshots.prepare('c1', 'base', { durable: false });
  const result = await store.gc();
  expect(result.removedSnapshots).toContain('unused');
  expect(result.removedSnapshots).not.toContain('base');
  expect(await store.snapshots.stat('base')).toMatchObject({ kind: 'committed' });
});

test('committing a volatile snapshot makes a durable committed one in the table', async () => {
  await store.snapshots.prepare('c1', undefined, { durable: false });
  expect(await fsyncsDuring(() => store.snapshots.commit('layer', 'c1'))).toBe(2);
  expect(JSON.parse(await table()).snapshots.layer).toMatchObject({ kind: 'committed' });
  expect(JSON.parse(await table()).snapshots.layer.volatile).toBeUndefined();
  expect(await volatileRecords()).toEqual([]);
});

test('a volatile record that cannot be written is a CtrError, and the table is left as it was', async () => {
  await layer('base');
  const before = await table();
  // A file where the records' directory belongs: the directory cannot be made.
  await fs.writeFile(path.join(root, 'snapshots', 'volatile'), 'not a directory');
  await expect(store.snapshots.prepare('c1', 'base', { durable: false })).rejects.toMatchObject({
    code: 'Internal',
    message: expect.stringMatching(/^recording a volatile snapshot: .*EEXIST/),
  });
  expect(await table()).toBe(before);
  await expect(store.snapshots.stat('c1')).rejects.toMatchObject({ code: 'NotFound' });
});
