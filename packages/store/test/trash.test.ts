/**
 * A snapshot removed in the background is deleted by the mount relay after the process that
 * removed it has exited (`ctr rm`, `ctr run --rm`). Its directory is moved to trash named for
 * the relay first, so another process's fsck or gc tells a deletion under way (left alone)
 * from one whose deleter was killed (finished). The relay's deletion is held by stopping it
 * (trash-deleter.ts), so each interleaving is deterministic.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Store } from '@ctr/store';
import { newStore, removeDir } from './helpers';
import { removeWithHeldDeleter, type HeldDeleter } from './trash-deleter';

let store: Store;
let root: string;
let deleter: HeldDeleter | undefined;
beforeEach(async () => {
  ({ store, root } = await newStore('trash'));
});
afterEach(async () => {
  await deleter?.kill().catch(() => undefined);
  deleter = undefined;
  await removeDir(root);
});

/** An active snapshot with a few files in it; returns what the snapshots directory holds with it. */
async function doomedSnapshot(): Promise<string[]> {
  await store.snapshots.prepare('doomed');
  const upper = await store.snapshots.upperDir('doomed');
  for (let i = 0; i < 20; i++) await fs.writeFile(path.join(upper, `f${i}`), 'x');
  return fs.readdir(store.paths.snapshots);
}

/** What the snapshots directory holds beyond `before`. */
async function extra(before: readonly string[]): Promise<string[]> {
  return (await fs.readdir(store.paths.snapshots)).filter((name) => !before.includes(name));
}

test('a removal whose deleter still runs is moved out of sight at once, named for its deleter', async () => {
  const before = await doomedSnapshot();
  deleter = await removeWithHeldDeleter(root, 'doomed');
  const left = await extra(before);
  expect(left).toHaveLength(1);
  expect(left[0]).toMatch(new RegExp(`^\\.trash-${deleter.pid}-\\d+-[0-9a-f]{12}$`));
});

test('fsck in another process passes over a removal whose deleter still runs, and repairs nothing of it', async () => {
  const before = await doomedSnapshot();
  deleter = await removeWithHeldDeleter(root, 'doomed');
  expect(await store.fsck({ repair: true })).toEqual({ clean: true, problems: [], repaired: [], ingests: [] });
  expect(await extra(before)).toHaveLength(1);
});

test('the deleter outlives the process that removed until its deletion is done', async () => {
  const before = await doomedSnapshot();
  deleter = await removeWithHeldDeleter(root, 'doomed');
  await deleter.resume();
  expect(await extra(before)).toEqual([]);
});

test('fsck reports the trash of a killed deleter, and its repair finishes the deletion', async () => {
  const before = await doomedSnapshot();
  deleter = await removeWithHeldDeleter(root, 'doomed');
  await deleter.kill();
  const [trash] = (await extra(before)).map((name) => path.join(store.paths.snapshots, name));
  const found = 'the rest of a tree whose deletion was cut short (the process deleting it ended)';
  const report = await store.fsck({ repair: false });
  expect(report.repaired).toEqual([{ area: 'snapshots', message: `removed ${found}`, path: trash, found }]);
  expect(await extra(before)).toHaveLength(1);
  await store.fsck({ repair: true });
  expect(await extra(before)).toEqual([]);
});

test('sweeping leftovers finishes the trash of a killed deleter', async () => {
  const before = await doomedSnapshot();
  deleter = await removeWithHeldDeleter(root, 'doomed');
  await deleter.kill();
  await store.sweep();
  expect(await extra(before)).toEqual([]);
});

test('gc passes over a removal whose deleter still runs', async () => {
  const before = await doomedSnapshot();
  deleter = await removeWithHeldDeleter(root, 'doomed');
  await store.gc();
  expect(await extra(before)).toHaveLength(1);
});
