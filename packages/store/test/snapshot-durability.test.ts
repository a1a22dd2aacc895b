/**
 * A snapshot's record is fsynced (file and directory); when the caller says nobody needs it
 * after a power cut (the root filesystem of a container removed when it exits), only the
 * directory's fsync is left out.
 */
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

test('a prepared snapshot is recorded durably by default', async () => {
  expect(await fsyncsDuring(() => store.snapshots.prepare('c1'))).toBe(2);
});

test("a snapshot prepared with durable false is recorded without the directory's fsync, and is an ordinary snapshot", async () => {
  // The table's own fsync stays: it holds every other snapshot too.
  expect(await fsyncsDuring(() => store.snapshots.prepare('c1', undefined, { durable: false }))).toBe(1);
  expect(await store.snapshots.stat('c1')).toMatchObject({ name: 'c1', kind: 'active' });
  // Its removal is durable: a record must not come back for files already deleted.
  expect(await fsyncsDuring(() => store.snapshots.remove('c1'))).toBe(2);
});
