import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ANONYMOUS_LABEL, type Store } from '@ctr/store';
import { listTree, newStore, removeDir } from './helpers';

let store: Store;
let root: string;
beforeEach(async () => ({ store, root } = await newStore('volumes')));
afterEach(async () => removeDir(root));

test('a named volume has a _data directory and docker inspect fields', async () => {
  const info = await store.volumes.create({ name: 'data', labels: { app: 'web' } });
  expect(info).toEqual({
    Name: 'data',
    Driver: 'local',
    Mountpoint: path.join(root, 'volumes', 'data', '_data'),
    CreatedAt: expect.any(String),
    Labels: { app: 'web' },
    Options: {},
    Scope: 'local',
  });
  expect((await fs.stat(info.Mountpoint)).isDirectory()).toBe(true);
  expect(await store.volumes.inspect('data')).toEqual(info);
});

test("a volume's CreatedAt is docker's: RFC 3339 in whole seconds, with the local offset", async () => {
  const created = await store.volumes.create({ name: 'data' });
  expect(created.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
  expect((await store.volumes.inspect('data')).CreatedAt).toBe(created.CreatedAt);
});

test('creating an existing named volume returns it and keeps its data', async () => {
  const first = await store.volumes.create({ name: 'data' });
  await fs.writeFile(path.join(first.Mountpoint, 'keep'), 'me');
  expect(await store.volumes.create({ name: 'data' })).toEqual(first);
  expect(await fs.readFile(path.join(first.Mountpoint, 'keep'), 'utf8')).toBe('me');
});

test('an anonymous volume gets a 64-hex name and the anonymous label', async () => {
  const info = await store.volumes.create();
  expect(info.Name).toMatch(/^[a-f0-9]{64}$/);
  expect(info.Labels).toEqual({ [ANONYMOUS_LABEL]: '' });
});

test('list returns volumes, filtered by label and by dangling', async () => {
  await store.volumes.create({ name: 'aa', labels: { tier: 'db' } });
  await store.volumes.create({ name: 'bb' });
  await store.volumes.addUser('bb', 'container1');
  expect((await store.volumes.list()).map((v) => v.Name).sort()).toEqual(['aa', 'bb']);
  expect((await store.volumes.list({ label: { tier: 'db' } })).map((v) => v.Name)).toEqual(['aa']);
  expect((await store.volumes.list({ dangling: true })).map((v) => v.Name)).toEqual(['aa']);
});

test('removing a volume in use is Conflict naming the users; after the last user leaves it can go', async () => {
  await store.volumes.create({ name: 'busy' });
  await store.volumes.addUser('busy', 'abc123');
  await expect(store.volumes.remove('busy')).rejects.toMatchObject({ code: 'Conflict', message: 'remove busy: volume is in use - [abc123]' });
  await store.volumes.removeUser('busy', 'abc123');
  await store.volumes.remove('busy');
  await expect(store.volumes.inspect('busy')).rejects.toMatchObject({ code: 'NotFound' });
  expect(await listTree(path.join(root, 'volumes'))).toEqual([]);
});

test("prune reclaims a volume's apparent size, as dockerd's directory.Size counts it: a symlink's own bytes, a hardlinked file once", async () => {
  const volume = await store.volumes.create({ name: 'sized' });
  await fs.writeFile(path.join(volume.Mountpoint, 'f'), 'hello');
  await fs.link(path.join(volume.Mountpoint, 'f'), path.join(volume.Mountpoint, 'again'));
  await fs.mkdir(path.join(volume.Mountpoint, 'dir'));
  await fs.symlink('../f', path.join(volume.Mountpoint, 'dir', 'link'));
  expect(await store.volumes.prune({ all: true })).toEqual({ deleted: ['sized'], spaceReclaimed: 'hello'.length + '../f'.length });
});

test('prune removes unused anonymous volumes only, unless all', async () => {
  const anon = await store.volumes.create();
  const used = await store.volumes.create();
  await store.volumes.addUser(used.Name, 'c1');
  await store.volumes.create({ name: 'named' });
  await fs.writeFile(path.join(anon.Mountpoint, 'f'), 'x'.repeat(10_000));
  const result = await store.volumes.prune();
  expect(result.deleted).toEqual([anon.Name]);
  expect(result.spaceReclaimed).toBeGreaterThanOrEqual(10_000);
  expect((await store.volumes.prune({ all: true })).deleted).toEqual(['named']);
  expect((await store.volumes.list()).map((v) => v.Name)).toEqual([used.Name]);
});

test('bad names are InvalidArgument in docker words and create nothing', async () => {
  for (const name of ['../x', 'a/b', '.hidden', 'x', '']) {
    await expect(store.volumes.create({ name })).rejects.toMatchObject({ code: 'InvalidArgument' });
  }
  await expect(store.volumes.create({ name: 'a/b' })).rejects.toThrow('includes invalid characters for a local volume name');
  expect(await listTree(path.join(root, 'volumes'))).toEqual([]);
});

test('an unknown volume is NotFound', async () => {
  await expect(store.volumes.inspect('ghost')).rejects.toMatchObject({ code: 'NotFound', message: 'get ghost: no such volume' });
  await expect(store.volumes.remove('ghost')).rejects.toMatchObject({ code: 'NotFound' });
  await expect(store.volumes.addUser('ghost', 'c1')).rejects.toMatchObject({ code: 'NotFound' });
});
