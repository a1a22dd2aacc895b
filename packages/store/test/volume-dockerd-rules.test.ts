import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Store, VolumeDriverHooks } from '@ctr/store';
import { listTree, newStore, removeDir, tempDir } from './helpers';

let store: Store;
let root: string;
let hostDir: string;
beforeEach(async () => {
  ({ store, root } = await newStore('volume-rules'));
  hostDir = await tempDir('volume-rules-host');
});
afterEach(async () => {
  await removeDir(root);
  await removeDir(hostDir);
});

const plugin: VolumeDriverHooks = { name: 'sshfs', scope: 'local', create: async () => undefined };

describe('prune, as moby prunes: only the local driver’s volumes without options', () => {
  test('a plugin’s volume is never pruned, even with all', async () => {
    await store.volumes.create({ name: 'remote' }, plugin);
    expect(await store.volumes.prune({ all: true })).toEqual({ deleted: [], spaceReclaimed: 0 });
    expect((await store.volumes.list()).map((v) => v.Name)).toEqual(['remote']);
  });

  test('a local volume with device options is never pruned, even with all, and its host directory is untouched', async () => {
    await fs.writeFile(path.join(hostDir, 'kept'), 'x');
    await store.volumes.create({ name: 'bound', options: { type: 'none', o: 'bind', device: hostDir } });
    await store.volumes.create({ name: 'ram', options: { type: 'tmpfs', device: 'tmpfs' } });
    expect(await store.volumes.prune({ all: true })).toEqual({ deleted: [], spaceReclaimed: 0 });
    expect((await store.volumes.list()).map((v) => v.Name).sort()).toEqual(['bound', 'ram']);
    expect(await fs.readdir(hostDir)).toEqual(['kept']);
  });

  test('an anonymous volume with device options is not pruned either; a plain one beside it is, and only its size counts', async () => {
    const plain = await store.volumes.create();
    await fs.writeFile(path.join(plain.Mountpoint, 'f'), 'hello');
    const device = await store.volumes.create({ options: { type: 'tmpfs', device: 'tmpfs' } });
    expect(await store.volumes.prune()).toEqual({ deleted: [plain.Name], spaceReclaimed: 'hello'.length });
    expect((await store.volumes.list()).map((v) => v.Name)).toEqual([device.Name]);
  });
});

test('prune, as moby’s: a volume that cannot be removed (a mount left in it) stays, and the others still go', async () => {
  const stuck = await store.volumes.create();
  const plain = await store.volumes.create();
  const inside = path.join(stuck.Mountpoint, 'mnt');
  await fs.mkdir(inside);
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', inside]);
  try {
    expect((await store.volumes.prune()).deleted).toEqual([plain.Name]);
    expect((await store.volumes.list()).map((v) => v.Name)).toEqual([stuck.Name]);
  } finally {
    execFileSync('umount', [inside]);
  }
});

describe('create of an existing volume, as moby’s store answers it', () => {
  test('options that would be refused for a new volume return the existing one', async () => {
    const first = await store.volumes.create({ name: 'vl' });
    expect(await store.volumes.create({ name: 'vl', options: { type: 'none' } })).toEqual(first);
  });

  test('other options and labels return the existing volume as it was made', async () => {
    const first = await store.volumes.create({ name: 'vl', labels: { a: '1' } });
    expect(await store.volumes.create({ name: 'vl', labels: { b: '2' }, options: { type: 'tmpfs', device: 'tmpfs' }, driver: 'local' })).toEqual(first);
  });

  test('another driver named for it is a Conflict, and the volume stays as it was', async () => {
    const first = await store.volumes.create({ name: 'vl' });
    await expect(store.volumes.create({ name: 'vl', options: { type: 'none' } }, plugin)).rejects.toMatchObject({
      code: 'Conflict',
      message: "create vl: driver 'local' already has volume 'vl': volume name must be unique",
    });
    expect(await store.volumes.inspect('vl')).toEqual(first);
  });

  test('bad options for a new volume are refused, and nothing is left in the store', async () => {
    await expect(store.volumes.create({ name: 'vl', options: { type: 'none' } })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'missing required option: "device"' });
    await expect(store.volumes.inspect('vl')).rejects.toMatchObject({ code: 'NotFound' });
    expect(await listTree(path.join(root, 'volumes'))).toEqual([]);
  });
});

describe('filling a device volume, as dockerd fills one it has mounted', () => {
  let source: string;
  beforeEach(async () => {
    source = await tempDir('volume-rules-source');
    await fs.writeFile(path.join(source, 'from-image'), 'img');
    await fs.chown(source, 1000, 1000);
    await fs.chmod(source, 0o750);
  });
  afterEach(async () => removeDir(source));

  /** Populate `name` from `source` while held mounted, then let the mount go. */
  async function populateMounted(name: string): Promise<boolean> {
    const release = await store.volumes.holdDevices([name], 'c1');
    try {
      return await store.volumes.populate(name, source);
    } finally {
      await release();
      await store.volumes.releaseDevice(name, async () => false);
    }
  }

  test('an empty host directory bound by the volume gets the copy, with the source directory’s owner and mode', async () => {
    const volume = await store.volumes.create({ name: 'vb', options: { type: 'none', o: 'bind', device: hostDir } });
    expect(await populateMounted('vb')).toBe(true);
    expect(await fs.readFile(path.join(hostDir, 'from-image'), 'utf8')).toBe('img');
    const stat = await fs.stat(hostDir);
    expect([stat.uid, stat.gid, stat.mode & 0o7777]).toEqual([1000, 1000, 0o750]);
    // Nothing went into the store's own directory, under the mount.
    expect(await fs.readdir(volume.Mountpoint)).toEqual([]);
  });

  test('a host directory with anything in it is never copied into', async () => {
    await fs.writeFile(path.join(hostDir, 'mine'), 'host');
    await store.volumes.create({ name: 'vb', options: { type: 'none', o: 'bind', device: hostDir } });
    expect(await populateMounted('vb')).toBe(false);
    expect(await fs.readdir(hostDir)).toEqual(['mine']);
  });

  test('a device volume not mounted is not filled: nothing goes under where its device is mounted', async () => {
    const volume = await store.volumes.create({ name: 'vb', options: { type: 'none', o: 'bind', device: hostDir } });
    expect(await store.volumes.populate('vb', source)).toBe(false);
    expect(await fs.readdir(hostDir)).toEqual([]);
    expect(await fs.readdir(volume.Mountpoint)).toEqual([]);
  });
});
