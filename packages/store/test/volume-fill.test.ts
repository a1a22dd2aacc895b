import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { openStore, type Store } from '@ctr/store';
import { exec, listTree, newStore, removeDir, spawnTs, tempDir, waitExit } from './helpers';

const WORKER = path.join(__dirname, 'fixtures', 'fill-worker.ts');

let store: Store;
let root: string;
let source: string;
beforeEach(async () => {
  ({ store, root } = await newStore('volume-fill'));
  source = await tempDir('volume-fill-source');
});
afterEach(async () => {
  await removeDir(root);
  await removeDir(source);
});

/** What an image might have at a mount point: a file, a directory, a symlink and a hard link, owned by others. */
async function imageDirectory(): Promise<void> {
  await fs.writeFile(path.join(source, 'a'), 'from the image');
  await fs.chmod(path.join(source, 'a'), 0o640);
  await fs.chown(path.join(source, 'a'), 1000, 1000);
  await fs.mkdir(path.join(source, 'd'));
  await fs.writeFile(path.join(source, 'd', 'b'), 'nested');
  await fs.symlink('a', path.join(source, 'l'));
  await fs.link(path.join(source, 'a'), path.join(source, 'h'));
  await fs.chmod(source, 0o750);
  await fs.chown(source, 999, 998);
}

test("an empty volume gets the directory's entries, links and owners, and the directory's own owner and mode", async () => {
  await imageDirectory();
  const { Mountpoint } = await store.volumes.create({ name: 'data' });
  expect(await store.volumes.populate('data', source)).toBe(true);
  expect(await listTree(Mountpoint)).toEqual(['a', 'd', 'd/b', 'h', 'l']);
  expect(await fs.readFile(path.join(Mountpoint, 'd', 'b'), 'utf8')).toBe('nested');
  expect(await fs.readlink(path.join(Mountpoint, 'l'))).toBe('a');
  const [file, link, dir] = await Promise.all([fs.stat(path.join(Mountpoint, 'a')), fs.stat(path.join(Mountpoint, 'h')), fs.stat(Mountpoint)]);
  expect({ mode: file.mode & 0o7777, uid: file.uid, gid: file.gid }).toEqual({ mode: 0o640, uid: 1000, gid: 1000 });
  expect(link.ino).toBe(file.ino);
  expect({ mode: dir.mode & 0o7777, uid: dir.uid, gid: dir.gid }).toEqual({ mode: 0o750, uid: 999, gid: 998 });
});

test('extended attributes come along', async () => {
  await fs.writeFile(path.join(source, 'capable'), 'x');
  await exec('setfattr', ['-n', 'user.origin', '-v', 'image', path.join(source, 'capable')]);
  const { Mountpoint } = await store.volumes.create({ name: 'data' });
  await store.volumes.populate('data', source);
  expect((await exec('getfattr', ['--only-values', '-n', 'user.origin', path.join(Mountpoint, 'capable')])).stdout).toBe('image');
});

test('an empty image directory still gives the volume its owner and mode', async () => {
  await fs.chmod(source, 0o700);
  await fs.chown(source, 999, 999);
  const { Mountpoint } = await store.volumes.create({ name: 'data' });
  expect(await store.volumes.populate('data', source)).toBe(true);
  const dir = await fs.stat(Mountpoint);
  expect({ mode: dir.mode & 0o7777, uid: dir.uid }).toEqual({ mode: 0o700, uid: 999 });
});

test('a volume with anything in it is left as it is', async () => {
  await imageDirectory();
  const { Mountpoint } = await store.volumes.create({ name: 'data' });
  await fs.writeFile(path.join(Mountpoint, 'mine'), 'saved');
  expect(await store.volumes.populate('data', source)).toBe(false);
  expect(await listTree(Mountpoint)).toEqual(['mine']);
  expect((await fs.stat(Mountpoint)).uid).toBe(0);
});

test('with a subpath, the empty directory of the volume is filled', async () => {
  await imageDirectory();
  const { Mountpoint } = await store.volumes.create({ name: 'data' });
  await fs.mkdir(path.join(Mountpoint, 'sub'));
  await fs.writeFile(path.join(Mountpoint, 'other'), 'kept');
  expect(await store.volumes.populate('data', source, { subpath: 'sub' })).toBe(true);
  expect(await listTree(path.join(Mountpoint, 'sub'))).toEqual(['a', 'd', 'd/b', 'h', 'l']);
  expect(await fs.readFile(path.join(Mountpoint, 'other'), 'utf8')).toBe('kept');
});

test('a device volume is not filled: its data is the device\'s', async () => {
  await imageDirectory();
  const { Mountpoint } = await store.volumes.create({ name: 'dev', options: { type: 'tmpfs', device: 'tmpfs' } });
  expect(await store.volumes.populate('dev', source)).toBe(false);
  expect(await listTree(Mountpoint)).toEqual([]);
});

test('a fill killed while it copies leaves the volume empty, fsck removes the copy, and the next fill is whole', async () => {
  for (let i = 0; i < 3000; i++) await fs.writeFile(path.join(source, `f${i}`), `file ${i}`);
  const { Mountpoint } = await store.volumes.create({ name: 'data' });
  const child = spawnTs(WORKER, [root, 'data', source]);
  let exited = false;
  const exit = waitExit(child).finally(() => (exited = true));
  // Killed once its copy has begun, well before it is done.
  const volumes = path.join(root, 'volumes');
  for (let copied = 0; copied < 200 && !exited; ) {
    await new Promise((r) => setTimeout(r, 2));
    const staging = (await fs.readdir(volumes)).find((name) => name.startsWith('.tmp-'));
    copied = staging ? (await fs.readdir(path.join(volumes, staging)).catch(() => [])).length : 0;
  }
  child.kill('SIGKILL');
  expect((await exit).stdout).not.toContain('filled');
  expect(await fs.readdir(Mountpoint)).toEqual([]);

  const reopened = await openStore({ root });
  const report = await reopened.fsck();
  expect(report.problems).toEqual([]);
  expect(report.repaired).toEqual([expect.objectContaining({ area: 'volumes', message: 'removed a temporary file left by an interrupted write' })]);
  expect(await reopened.volumes.populate('data', source)).toBe(true);
  expect((await fs.readdir(Mountpoint)).length).toBe(3000);
});

describe('a fill cut short while it was being published', () => {
  /** The state a process killed among its moves leaves: the journal, and what was not moved yet. */
  async function interruptedPublish(volumeDir: string, left: Record<string, string>): Promise<void> {
    await fs.writeFile(path.join(volumeDir, 'filling.json'), JSON.stringify({ subpath: '', uid: 999, gid: 999, mode: 0o700, atimeMs: 0, mtimeMs: 0 }));
    await fs.mkdir(path.join(volumeDir, 'filling'));
    for (const [name, content] of Object.entries(left)) await fs.writeFile(path.join(volumeDir, 'filling', name), content);
  }

  test("is finished by the volume's next use, with the source directory's owner and mode", async () => {
    const { Mountpoint } = await store.volumes.create({ name: 'data' });
    await fs.writeFile(path.join(Mountpoint, 'moved'), 'first');
    await interruptedPublish(path.dirname(Mountpoint), { left: 'second' });
    await store.volumes.addUser('data', 'c1');
    expect(await listTree(path.dirname(Mountpoint))).toEqual(['_data', '_data/left', '_data/moved', 'meta.json', 'users', 'users/c1']);
    const dir = await fs.stat(Mountpoint);
    expect({ mode: dir.mode & 0o7777, uid: dir.uid }).toEqual({ mode: 0o700, uid: 999 });
  });

  test('never replaces what a container wrote meanwhile, and keeps the image\'s entry aside', async () => {
    const { Mountpoint } = await store.volumes.create({ name: 'data' });
    await fs.writeFile(path.join(Mountpoint, 'f'), 'written by a container');
    await interruptedPublish(path.dirname(Mountpoint), { f: 'from the image' });
    await store.volumes.addUser('data', 'c1');
    expect(await fs.readFile(path.join(Mountpoint, 'f'), 'utf8')).toBe('written by a container');
    const aside = (await fs.readdir(path.dirname(Mountpoint))).filter((name) => name.startsWith('unfilled-'));
    expect(aside).toHaveLength(1);
    expect(await fs.readFile(path.join(path.dirname(Mountpoint), aside[0] as string, 'f'), 'utf8')).toBe('from the image');
  });
});

describe("a volume's subpath", () => {
  test('is its directory there', async () => {
    const { Mountpoint } = await store.volumes.create({ name: 'data' });
    await fs.mkdir(path.join(Mountpoint, 'a', 'b'), { recursive: true });
    expect(await store.volumes.subpath('data', 'a/b')).toBe(path.join(Mountpoint, 'a', 'b'));
  });

  test("that is missing is NotFound in dockerd's words", async () => {
    const { Mountpoint } = await store.volumes.create({ name: 'data' });
    await expect(store.volumes.subpath('data', 'missing')).rejects.toMatchObject({
      code: 'NotFound',
      message: `cannot access path ${Mountpoint}/missing: no such file or directory`,
    });
  });

  test('reached through a symbolic link is refused, so it can never lead out of the volume', async () => {
    const { Mountpoint } = await store.volumes.create({ name: 'data' });
    await fs.symlink('/', path.join(Mountpoint, 'escape'));
    await expect(store.volumes.subpath('data', 'escape/etc')).rejects.toMatchObject({
      code: 'NotFound',
      message: `cannot access path ${Mountpoint}/escape/etc: too many levels of symbolic links`,
    });
  });
});
