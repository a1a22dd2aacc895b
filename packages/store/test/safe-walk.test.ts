import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { invalidArgument } from '@ctr/errors';
import { bindBeneath, bindOpened, mountPoints, openBeneath, unmount, type RefuseWalk, type Store } from '@ctr/store';
import { newStore, removeDir, tempDir } from './helpers';

/** Each problem as an error whose message is the problem's name. */
const refuse: RefuseWalk = (problem) => invalidArgument(problem);

let root: string;
let host: string;
let staging: string;
beforeEach(async () => {
  root = await tempDir('safe-walk-root');
  host = await tempDir('safe-walk-host');
  staging = path.join(await tempDir('safe-walk-staging'), 'point');
  await fs.mkdir(path.join(root, 'a', 'b'), { recursive: true });
  await fs.writeFile(path.join(root, 'a', 'b', 'mark'), 'inside');
  await fs.mkdir(path.join(host, 'b'));
  await fs.writeFile(path.join(host, 'b', 'mark'), 'host');
});
afterEach(async () => {
  await unmount(staging);
  expect((await mountPoints()).filter((point) => point.startsWith(path.dirname(staging)))).toEqual([]);
  for (const dir of [root, host, path.dirname(staging)]) await removeDir(dir);
});

describe('openBeneath', () => {
  test('reaches a directory below the root', () => {
    const beneath = openBeneath(root, 'a/./b/', refuse);
    expect(beneath.stat.isDirectory()).toBe(true);
    beneath.close();
  });

  test('refuses ".." even where it would lead back inside', () => {
    expect(() => openBeneath(root, 'a/../a/b', refuse)).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid subpath a/../a/b: must not contain ".."' }));
  });

  test('refuses an absolute path', () => {
    expect(() => openBeneath(root, '/etc', refuse)).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid subpath /etc: must be relative' }));
  });

  test('refuses a symbolic link on the way', async () => {
    await fs.symlink(host, path.join(root, 'link'));
    expect(() => openBeneath(root, 'link/b', refuse)).toThrow(expect.objectContaining({ message: 'symlink' }));
  });

  test('refuses a symbolic link at the end', async () => {
    await fs.symlink(host, path.join(root, 'link'));
    expect(() => openBeneath(root, 'link', refuse)).toThrow(expect.objectContaining({ message: 'symlink' }));
  });

  test('calls a missing component missing', () => {
    expect(() => openBeneath(root, 'a/nothere', refuse)).toThrow(expect.objectContaining({ message: 'missing' }));
  });
});

describe('bindBeneath', () => {
  test('mounts the directory reached on the staging point', async () => {
    await bindBeneath(root, 'a/b', staging, refuse);
    expect(await fs.readFile(path.join(staging, 'mark'), 'utf8')).toBe('inside');
  });

  test('mounts a file on a file made as the staging point', async () => {
    await bindBeneath(root, 'a/b/mark', staging, refuse);
    expect(await fs.readFile(staging, 'utf8')).toBe('inside');
  });

  test('mounts nothing when a symbolic link is on the way', async () => {
    await fs.symlink(host, path.join(root, 'link'));
    await expect(bindBeneath(root, 'link/b', staging, refuse)).rejects.toMatchObject({ message: 'symlink' });
    expect(await mountPoints()).not.toContain(staging);
  });
});

describe('a component swapped for a symbolic link between the walk and the mount', () => {
  test('cannot make the staging point show the host directory the link leads to', async () => {
    const beneath = openBeneath(root, 'a/b', refuse);
    try {
      // What a container with the whole volume could do meanwhile: `a` becomes a link to the host.
      await fs.rename(path.join(root, 'a'), path.join(root, 'a-moved'));
      await fs.symlink(host, path.join(root, 'a'));
      await bindOpened(beneath, staging, refuse);
    } finally {
      beneath.close();
    }
    expect(await fs.readFile(path.join(staging, 'mark'), 'utf8')).toBe('inside');
  });
});

describe("a volume's subpath with '..'", () => {
  let store: Store;
  let storeRoot: string;
  let Mountpoint: string;
  beforeEach(async () => {
    ({ store, root: storeRoot } = await newStore('safe-walk-volume'));
    ({ Mountpoint } = await store.volumes.create({ name: 'data' }));
    await fs.mkdir(path.join(Mountpoint, 'a'));
  });
  afterEach(async () => {
    await removeDir(storeRoot);
  });

  test('is refused by subpath, even where it stays inside the volume', async () => {
    await expect(store.volumes.subpath('data', 'a/../../x')).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(store.volumes.subpath('data', 'a/..')).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  test('is refused by populate, which fills nothing', async () => {
    const source = await tempDir('safe-walk-source');
    await fs.writeFile(path.join(source, 'f'), 'image');
    try {
      await expect(store.volumes.populate('data', source, { subpath: 'a/../..' })).rejects.toMatchObject({ code: 'InvalidArgument' });
      expect(await fs.readdir(Mountpoint)).toEqual(['a']);
      expect(await fs.readdir(path.dirname(path.dirname(Mountpoint)))).not.toContain('f');
    } finally {
      await removeDir(source);
    }
  });

  test('is refused by mountSubpath, which mounts nothing', async () => {
    await expect(store.volumes.mountSubpath('data', '../..', staging)).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(await mountPoints()).not.toContain(staging);
  });
});
