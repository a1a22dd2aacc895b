import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Store } from '@ctr/store';
import { listTree, newStore, removeDir, tempDir } from './helpers';

let store: Store;
let root: string;
let host: string;
beforeEach(async () => {
  ({ store, root } = await newStore('volume-fill-safety'));
  host = await tempDir('volume-fill-safety-host');
  await fs.chmod(host, 0o755);
});
afterEach(async () => {
  await removeDir(root);
  await removeDir(host);
});

test("a fill's subpath swapped for a symbolic link to the host before its publish is finished changes nothing on the host", async () => {
  const { Mountpoint } = await store.volumes.create({ name: 'data' });
  const volumeDir = path.dirname(Mountpoint);
  // A publish cut short, its target then made a link to a host directory (a container with the whole volume could).
  await fs.writeFile(path.join(volumeDir, 'filling.json'), JSON.stringify({ subpath: 'sub', uid: 999, gid: 999, mode: 0o777, atimeMs: 0, mtimeMs: 0 }));
  await fs.mkdir(path.join(volumeDir, 'filling'));
  await fs.writeFile(path.join(volumeDir, 'filling', 'f'), 'from the image');
  await fs.symlink(host, path.join(Mountpoint, 'sub'));
  await store.volumes.addUser('data', 'c1');
  expect(await fs.readdir(host)).toEqual([]);
  const stat = await fs.stat(host);
  expect({ mode: stat.mode & 0o7777, uid: stat.uid }).toEqual({ mode: 0o755, uid: 0 });
  // The image's entries are kept aside, and the journal is done.
  const aside = (await fs.readdir(volumeDir)).filter((name) => name.startsWith('unfilled-'));
  expect(await listTree(path.join(volumeDir, aside[0] as string))).toEqual(['f']);
  expect(await fs.readdir(volumeDir)).not.toContain('filling.json');
});

test('a subpath that is a symbolic link to a host directory is not filled', async () => {
  const { Mountpoint } = await store.volumes.create({ name: 'data' });
  const source = await tempDir('volume-fill-safety-source');
  try {
    await fs.writeFile(path.join(source, 'f'), 'from the image');
    await fs.symlink(host, path.join(Mountpoint, 'sub'));
    expect(await store.volumes.populate('data', source, { subpath: 'sub' })).toBe(false);
    expect(await fs.readdir(host)).toEqual([]);
  } finally {
    await removeDir(source);
  }
});

test('a fill cancelled by its signal is Aborted, not a storage failure, and leaves the volume empty', async () => {
  const { Mountpoint } = await store.volumes.create({ name: 'data' });
  const source = await tempDir('volume-fill-safety-source');
  try {
    await fs.writeFile(path.join(source, 'f'), 'from the image');
    const controller = new AbortController();
    controller.abort();
    await expect(store.volumes.populate('data', source, { signal: controller.signal })).rejects.toMatchObject({ code: 'Aborted' });
    expect(await fs.readdir(Mountpoint)).toEqual([]);
  } finally {
    await removeDir(source);
  }
});
