import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { mountAll, unmount, type Store } from '@ctr/store';
import { newStore, removeDir, tempDir } from './helpers';

let store: Store;
let root: string;
let target: string;
beforeEach(async () => {
  ({ store, root } = await newStore('snap'));
  target = await tempDir('snap-mnt');
});
afterEach(async () => {
  await unmount(target);
  await removeDir(target);
  await removeDir(root);
});

/** prepare → write files → commit, as unpacking a layer does. */
async function layer(name: string, parent: string | undefined, files: Record<string, string>): Promise<void> {
  const key = `extract ${name}`;
  await store.snapshots.prepare(key, parent);
  const upper = await store.snapshots.upperDir(key);
  for (const [file, content] of Object.entries(files)) await fs.writeFile(path.join(upper, file), content);
  await store.snapshots.commit(name, key);
}

test('prepare without a parent gives an active snapshot mounted as a writable bind', async () => {
  const mounts = await store.snapshots.prepare('c1');
  expect(mounts).toEqual([{ type: 'bind', source: path.join(root, 'snapshots', '1', 'fs'), options: ['rw', 'rbind'] }]);
  expect(await store.snapshots.stat('c1')).toMatchObject({ name: 'c1', kind: 'active' });
});

test('commit turns an active snapshot into a committed one under its name', async () => {
  await layer('L1', undefined, { a: '1' });
  expect(await store.snapshots.stat('L1')).toMatchObject({ name: 'L1', kind: 'committed' });
  await expect(store.snapshots.stat('extract L1')).rejects.toMatchObject({ code: 'NotFound' });
});

test('a container snapshot on a layer stack mounts as overlay: lower layers visible, writes go to its upper dir', async () => {
  await layer('L1', undefined, { a: 'one', shared: 'old' });
  await layer('L2', 'L1', { b: 'two', shared: 'new' });
  const mounts = await store.snapshots.prepare('container', 'L2');
  expect(mounts[0]?.type).toBe('overlay');
  await mountAll(mounts, target);
  expect(await fs.readFile(path.join(target, 'a'), 'utf8')).toBe('one');
  expect(await fs.readFile(path.join(target, 'shared'), 'utf8')).toBe('new');
  await fs.writeFile(path.join(target, 'c'), 'three');
  await unmount(target);
  expect(await fs.readFile(path.join(await store.snapshots.upperDir('container'), 'c'), 'utf8')).toBe('three');
  expect((await store.snapshots.usage('container')).size).toBeGreaterThan(0);
});

test('a view of a single layer is a read-only bind', async () => {
  await layer('L1', undefined, { a: 'one' });
  const mounts = await store.snapshots.view('v', 'L1');
  expect(mounts).toEqual([{ type: 'bind', source: expect.stringMatching(/snapshots\/1\/fs$/), options: ['ro', 'rbind'] }]);
  await mountAll(mounts, target);
  expect(await fs.readFile(path.join(target, 'a'), 'utf8')).toBe('one');
  await expect(fs.writeFile(path.join(target, 'x'), '')).rejects.toMatchObject({ code: 'EROFS' });
});

test('a view of a stack is a read-only overlay', async () => {
  await layer('L1', undefined, { a: 'one' });
  await layer('L2', 'L1', { b: 'two' });
  await mountAll(await store.snapshots.view('v', 'L2'), target);
  expect((await fs.readdir(target)).sort()).toEqual(['a', 'b']);
  await expect(fs.writeFile(path.join(target, 'x'), '')).rejects.toMatchObject({ code: 'EROFS' });
});

test('a stack of 120 layers mounts although absolute lowerdir options would exceed one page', async () => {
  let parent: string | undefined;
  for (let i = 0; i < 120; i++) {
    const name = `sha256:${String(i).padStart(64, '0')}`;
    await layer(name, parent, { [`f${i}`]: String(i) });
    parent = name;
  }
  const mounts = await store.snapshots.prepare('big', parent);
  expect(mounts[0]?.options.join(',').length).toBeGreaterThan(4096);
  await mountAll(mounts, target);
  expect(await fs.readFile(path.join(target, 'f0'), 'utf8')).toBe('0');
  expect(await fs.readFile(path.join(target, 'f119'), 'utf8')).toBe('119');
});

test('removing a snapshot that others depend on is Conflict, and nothing changes', async () => {
  await layer('L1', undefined, { a: '1' });
  await store.snapshots.prepare('c', 'L1');
  await expect(store.snapshots.remove('L1')).rejects.toMatchObject({ code: 'Conflict' });
  expect(await store.snapshots.stat('L1')).toMatchObject({ kind: 'committed' });
  await store.snapshots.remove('c');
  await store.snapshots.remove('L1');
  expect(await fs.readdir(path.join(root, 'snapshots'))).toEqual(['metadata.json']);
});

test('walk lists every snapshot with its parent', async () => {
  await layer('L1', undefined, { a: '1' });
  await store.snapshots.prepare('c', 'L1');
  const all = [];
  for await (const info of store.snapshots.walk()) all.push({ name: info.name, kind: info.kind, parent: info.parent });
  expect(all).toEqual([
    { name: 'L1', kind: 'committed', parent: undefined },
    { name: 'c', kind: 'active', parent: 'L1' },
  ]);
});

test('bad requests are typed errors and leave the table unchanged', async () => {
  await layer('L1', undefined, { a: '1' });
  const before = await fs.readFile(path.join(root, 'snapshots', 'metadata.json'), 'utf8');
  await expect(store.snapshots.prepare('x', 'missing')).rejects.toMatchObject({ code: 'NotFound', message: expect.stringContaining('missing') });
  await expect(store.snapshots.prepare('L1')).rejects.toMatchObject({ code: 'AlreadyExists' });
  await expect(store.snapshots.commit('L2', 'L1')).rejects.toMatchObject({ code: 'InvalidArgument' });
  await expect(store.snapshots.mounts('nope')).rejects.toMatchObject({ code: 'NotFound' });
  await expect(store.snapshots.prepare('')).rejects.toMatchObject({ code: 'InvalidArgument' });
  await store.snapshots.prepare('a');
  await expect(store.snapshots.prepare('b', 'a')).rejects.toMatchObject({ code: 'InvalidArgument' });
  await store.snapshots.remove('a');
  expect(JSON.parse(await fs.readFile(path.join(root, 'snapshots', 'metadata.json'), 'utf8')).snapshots).toEqual(JSON.parse(before).snapshots);
  expect((await fs.readdir(path.join(root, 'snapshots'))).sort()).toEqual(['1', 'metadata.json']);
});

test('keys that look like object properties are ordinary keys', async () => {
  await store.snapshots.prepare('__proto__');
  await store.snapshots.prepare('constructor');
  expect((await store.snapshots.stat('__proto__')).kind).toBe('active');
  await expect(store.snapshots.stat('toString')).rejects.toMatchObject({ code: 'NotFound' });
});

test('a background remove takes the snapshot out of the table at once, and its files are gone after settle()', async () => {
  await store.snapshots.prepare('c-bg');
  const upper = await store.snapshots.upperDir('c-bg');
  await fs.writeFile(path.join(upper, 'data'), 'x');
  await store.snapshots.remove('c-bg', { background: true });
  await expect(store.snapshots.stat('c-bg')).rejects.toMatchObject({ code: 'NotFound' });
  await store.snapshots.settle();
  await expect(fs.access(path.dirname(upper))).rejects.toMatchObject({ code: 'ENOENT' });
});

test('a background remove never deletes into a filesystem still mounted inside the snapshot: it stays, for fsck once unmounted', async () => {
  await store.snapshots.prepare('c-mounted');
  const inner = path.join(await store.snapshots.upperDir('c-mounted'), 'mnt');
  await fs.mkdir(inner);
  await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }], inner);
  let mounted = inner;
  try {
    await fs.writeFile(path.join(inner, 'keep'), 'kept');
    await store.snapshots.remove('c-mounted', { background: true });
    await store.snapshots.settle();
    // The snapshot's directory went to trash (with the mount inside) before its deletion began.
    const [id = ''] = path.relative(store.paths.snapshots, inner).split(path.sep);
    const [trash = ''] = (await fs.readdir(store.paths.snapshots)).filter((name) => name.startsWith('.trash-'));
    mounted = path.join(store.paths.snapshots, trash, path.relative(path.join(store.paths.snapshots, id), inner));
    expect(await fs.readFile(path.join(mounted, 'keep'), 'utf8')).toBe('kept');
    await expect(store.snapshots.stat('c-mounted')).rejects.toMatchObject({ code: 'NotFound' });
    expect((await store.fsck({ repair: true })).problems).toEqual([expect.objectContaining({ area: 'snapshots', path: path.join(store.paths.snapshots, trash) })]);
  } finally {
    await unmount(mounted);
  }
  expect((await store.fsck({ repair: true })).repaired).toEqual([expect.objectContaining({ area: 'snapshots', found: 'the rest of a tree whose deletion was cut short (the process deleting it ended)' })]);
});

test('removeLayers takes a whole unused chain, children first, and keeps what a snapshot outside it is based on', async () => {
  await layer('base', undefined, { a: '1' });
  await layer('mid', 'base', { b: '2' });
  await layer('top', 'mid', { c: '3' });
  await layer('other', 'base', { d: '4' });
  const dirs = await Promise.all(['mid', 'top'].map(async (name) => path.dirname(await store.snapshots.layerDir(name))));

  expect(await store.snapshots.removeLayers(['base', 'mid', 'top'])).toEqual(['top', 'mid']);
  expect(Object.keys((await store.snapshots.table()).snapshots).sort()).toEqual(['base', 'other']);
  expect(await Promise.all(dirs.map((dir) => fs.stat(dir).then(() => true, () => false)))).toEqual([false, false]);
});

test('removeLayers leaves a layer committed at or after the time it is given', async () => {
  await layer('old', undefined, { a: '1' });
  const cutoff = Date.parse((await store.snapshots.table()).snapshots.old!.updated);
  expect(await store.snapshots.removeLayers(['old'], { olderThan: cutoff })).toEqual([]);
  expect(await store.snapshots.removeLayers(['old'], { olderThan: cutoff + 1 })).toEqual(['old']);
});
