import { promises as fs } from 'node:fs';
import { digestOf, MediaTypes, type Descriptor, type Digest } from '@ctr/image';
import { openStore, type Store } from '@ctr/store';
import { newStore, removeDir } from './helpers';

let store: Store;
let root: string;
beforeEach(async () => ({ store, root } = await newStore('images')));
afterEach(async () => removeDir(root));

const manifest = (seed: string): Descriptor => ({ mediaType: MediaTypes.ociManifest, digest: digestOf(`manifest ${seed}`), size: 100 });
const BUSYBOX = 'docker.io/library/busybox:latest';

test('a stored name resolves to the image: ID, target and names', async () => {
  const id = digestOf('config A');
  await store.images.put(BUSYBOX, { id, target: manifest('A') });
  expect(await store.images.resolve(BUSYBOX)).toMatchObject({ id, target: manifest('A'), names: [BUSYBOX] });
});

test('an image resolves by its full ID, its hex, and any unique prefix', async () => {
  const id = digestOf('config A');
  await store.images.put(BUSYBOX, { id, target: manifest('A') });
  for (const ref of [id, id.slice(7), id.slice(7, 19), id.slice(7, 8), `sha256:${id.slice(7, 12)}`]) {
    expect((await store.images.resolve(ref)).id).toBe(id);
  }
});

test('an ambiguous ID prefix is InvalidArgument', async () => {
  const ids: Digest[] = [];
  for (let i = 0; ids.length < 2 || ids[0]?.[7] !== ids[1]?.[7]; i++) {
    const id = digestOf(`config ${i}`);
    if (ids.length === 0 || id[7] === ids[0]?.[7]) ids.push(id);
  }
  for (const [i, id] of ids.entries()) await store.images.put(`example.com/x:${i}`, { id, target: manifest(String(i)) });
  await expect(store.images.resolve(ids[0]!.slice(7, 8))).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test('an image resolves by name@digest and by bare manifest digest', async () => {
  const id = digestOf('config A');
  await store.images.put(BUSYBOX, { id, target: manifest('A') });
  expect((await store.images.resolve(`docker.io/library/busybox@${manifest('A').digest}`)).id).toBe(id);
  expect((await store.images.resolve(manifest('A').digest)).id).toBe(id);
  await expect(store.images.resolve(`docker.io/library/busybox@${digestOf('other')}`)).rejects.toMatchObject({ code: 'NotFound' });
});

test('an unknown name is NotFound in docker words, saying where it looked', async () => {
  const error = await store.images.resolve('docker.io/library/nope:latest').catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'NotFound', message: 'No such image: docker.io/library/nope:latest' });
  expect((error as { hint: string }).hint).toContain(root);
});

test('tag gives an existing image another name; untag removes it, and the last untag deletes the image', async () => {
  const id = digestOf('config A');
  await store.images.put(BUSYBOX, { id, target: manifest('A') });
  await store.images.tag(id.slice(7, 19), 'localhost/mine:1');
  expect((await store.images.resolve('localhost/mine:1')).names).toEqual([BUSYBOX, 'localhost/mine:1']);
  expect(await store.images.untag(BUSYBOX)).toEqual({ untagged: BUSYBOX });
  expect(await store.images.untag('localhost/mine:1')).toEqual({ untagged: 'localhost/mine:1', deleted: id });
  expect(await store.images.list()).toEqual([]);
});

test('moving a name to a new image leaves the old one dangling, listed without names', async () => {
  await store.images.put(BUSYBOX, { id: digestOf('old'), target: manifest('old') });
  await store.images.put(BUSYBOX, { id: digestOf('new'), target: manifest('new') });
  const list = await store.images.list();
  expect(list.map((i) => [i.id, i.names])).toEqual(
    expect.arrayContaining([
      [digestOf('old'), []],
      [digestOf('new'), [BUSYBOX]],
    ]),
  );
});

test('deleting an image with several names needs force', async () => {
  const id = digestOf('config A');
  await store.images.put(BUSYBOX, { id, target: manifest('A') });
  await store.images.tag(BUSYBOX, 'localhost/b:1');
  await expect(store.images.delete(id)).rejects.toMatchObject({ code: 'Conflict' });
  expect((await store.images.delete(id, { force: true })).names).toEqual([BUSYBOX, 'localhost/b:1']);
  await expect(store.images.resolve(BUSYBOX)).rejects.toMatchObject({ code: 'NotFound' });
});

test('bad input is InvalidArgument and changes nothing', async () => {
  await store.images.put(BUSYBOX, { id: digestOf('A'), target: manifest('A') });
  const before = await fs.readFile(`${root}/images/index.json`, 'utf8');
  await expect(store.images.put('has space', { id: digestOf('A'), target: manifest('A') })).rejects.toMatchObject({ code: 'InvalidArgument' });
  await expect(store.images.put('x', { id: 'sha256:nope' as Digest, target: manifest('A') })).rejects.toMatchObject({ code: 'InvalidArgument' });
  await expect(store.images.tag('docker.io/library/missing:1', 'y')).rejects.toMatchObject({ code: 'NotFound' });
  await expect(store.images.untag('missing')).rejects.toMatchObject({ code: 'NotFound' });
  await expect(store.images.resolve('')).rejects.toMatchObject({ code: 'InvalidArgument' });
  expect(await fs.readFile(`${root}/images/index.json`, 'utf8')).toBe(before);
});

test('a name like "__proto__" is an ordinary name', async () => {
  await store.images.put('__proto__', { id: digestOf('A'), target: manifest('A') });
  expect((await store.images.resolve('__proto__')).id).toBe(digestOf('A'));
  await expect(store.images.resolve('constructor')).rejects.toMatchObject({ code: 'NotFound' });
});

test('a second store object on the same root sees changes at once', async () => {
  const other = await openStore({ root });
  await store.images.put(BUSYBOX, { id: digestOf('A'), target: manifest('A') });
  expect((await other.images.resolve(BUSYBOX)).id).toBe(digestOf('A'));
  await other.images.put(BUSYBOX, { id: digestOf('B'), target: manifest('B') });
  expect((await store.images.resolve(BUSYBOX)).id).toBe(digestOf('B'));
});

test('an image put with a parent records the link; a parent no longer in the index is not named', async () => {
  const parent = digestOf('config parent');
  await store.images.put(undefined, { id: parent, target: manifest('parent') });
  const child = await store.images.put(BUSYBOX, { id: digestOf('config child'), target: manifest('child'), parent });
  expect(child.parent).toBe(parent);
  // What a build re-committing a cached step meets when another process pruned the chain meanwhile.
  const orphan = await store.images.put('example.com/orphan:1', { id: digestOf('config orphan'), target: manifest('orphan'), parent: digestOf('config removed') });
  expect(orphan.parent).toBeUndefined();
});
