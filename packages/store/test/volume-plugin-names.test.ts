import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Store, VolumeDriverHooks } from '@ctr/store';
import { newStore, removeDir } from './helpers';

/**
 * A plugin's volume names are the plugin's (sshfs's `user@host:/path`, names with slashes): the
 * store keeps such a volume's record under an encoded key, and a local volume as ever, under
 * its name.
 */

let store: Store;
let root: string;
beforeEach(async () => ({ store, root } = await newStore('volume-plugin-names')));
afterEach(async () => removeDir(root));

const plugin: VolumeDriverHooks = { name: 'sshfs', scope: 'local', create: async () => undefined };

test("a plugin's volume named user@host:/path is created, found by its name, listed and removed", async () => {
  const name = 'user@host:/srv/data';
  expect(await store.volumes.create({ name }, plugin)).toMatchObject({ Name: name, Driver: 'sshfs' });
  expect((await store.volumes.inspect(name)).Name).toBe(name);
  expect((await store.volumes.list()).map((v) => v.Name)).toEqual([name]);
  await store.volumes.addUser(name, 'c1');
  expect(await store.volumes.users(name)).toEqual(['c1']);
  await store.volumes.removeUser(name, 'c1');
  await store.volumes.remove(name);
  await expect(store.volumes.inspect(name)).rejects.toMatchObject({ code: 'NotFound', message: `get ${name}: no such volume` });
});

test("a plugin's volume name never leads out of the store's volumes directory", async () => {
  for (const name of ['../escape', '../../escape', '/abs', '..', 'a/../../b']) await store.volumes.create({ name }, plugin);
  const entries = await fs.readdir(path.join(root, 'volumes'));
  expect(entries.every((entry) => /^@[0-9a-f]{64}$/.test(entry))).toBe(true);
  expect(entries).toHaveLength(5);
  await expect(fs.stat(path.join(root, 'escape'))).rejects.toMatchObject({ code: 'ENOENT' });
  expect((await store.volumes.inspect('../escape')).Name).toBe('../escape');
});

test("a local volume keeps its name as its directory, and a plugin's with a local name too", async () => {
  await store.volumes.create({ name: 'plain' });
  await store.volumes.create({ name: 'pluggy' }, plugin);
  expect((await fs.readdir(path.join(root, 'volumes'))).sort()).toEqual(['plain', 'pluggy']);
});

test('a local volume may still not take a name only a plugin may have', async () => {
  await expect(store.volumes.create({ name: 'user@host:/srv' })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('includes invalid characters for a local volume name') });
});

test("one plugin name is one volume: a second plugin's create of it is a Conflict", async () => {
  await store.volumes.create({ name: 'u@h:/p' }, plugin);
  await expect(store.volumes.create({ name: 'u@h:/p' }, { ...plugin, name: 'other' })).rejects.toMatchObject({ code: 'Conflict' });
});

test("a plugin's volume may not be named with a NUL", async () => {
  await expect(store.volumes.create({ name: 'a\0b' }, plugin)).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test('the damaged-volume check passes over a plugin volume kept under an encoded key', async () => {
  await store.volumes.create({ name: 'u@h:/p' }, plugin);
  expect(await store.volumes.damaged()).toEqual([]);
});
