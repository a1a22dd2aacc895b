/**
 * Digest references (`repo@sha256:…`): the names a pull or push records beside a tag, as
 * moby's reference store does, and the rules `docker rmi` applies to them.
 */
import { digestOf, MediaTypes, type Descriptor } from '@ctr/image';
import { isSingleReference, type Store } from '@ctr/store';
import { newStore, removeDir } from './helpers';

let store: Store;
let root: string;
beforeEach(async () => ({ store, root } = await newStore('digest-refs')));
afterEach(async () => removeDir(root));

const manifest = (seed: string): Descriptor => ({ mediaType: MediaTypes.ociManifest, digest: digestOf(`manifest ${seed}`), size: 100 });
const TAG = 'docker.io/library/busybox:latest';
const REPO = 'docker.io/library/busybox';
const BY_DIGEST = `${REPO}@${manifest('A').digest}`;
const ID = digestOf('config A');

test('put records the digest references it is given beside the name', async () => {
  const record = await store.images.put(TAG, { id: ID, target: manifest('A'), digestReferences: [BY_DIGEST] });
  expect(record.names).toEqual([TAG, BY_DIGEST]);
  expect((await store.images.get(BY_DIGEST)).id).toBe(ID);
});

test('a digest reference another image holds stays that image’s', async () => {
  const other = digestOf('config B');
  await store.images.put(undefined, { id: other, target: manifest('A'), digestReferences: [BY_DIGEST] });
  await store.images.put(TAG, { id: ID, target: manifest('A'), digestReferences: [BY_DIGEST] });
  expect((await store.images.get(BY_DIGEST)).id).toBe(other);
  expect((await store.images.get(TAG)).names).toEqual([TAG]);
});

test('addDigestReferences names an image here by digest, and is NotFound for an image that is not', async () => {
  await store.images.put(TAG, { id: ID, target: manifest('A') });
  const pushed = `localhost:5000/app@${manifest('A').digest}`;
  expect((await store.images.addDigestReferences(ID, [pushed])).names).toEqual([TAG, pushed]);
  await expect(store.images.addDigestReferences(digestOf('nope'), [pushed])).rejects.toMatchObject({ code: 'NotFound' });
});

test('a digest reference without a digest is InvalidArgument, and nothing is written', async () => {
  await expect(store.images.put(TAG, { id: ID, target: manifest('A'), digestReferences: [REPO] })).rejects.toMatchObject({ code: 'InvalidArgument' });
  expect(await store.images.list()).toEqual([]);
});

test('untagging a repository’s last tag takes its digest references with it, and the image with them', async () => {
  await store.images.put(TAG, { id: ID, target: manifest('A'), digestReferences: [BY_DIGEST] });
  expect(await store.images.untag(TAG)).toEqual({ untagged: TAG, digestReferences: [BY_DIGEST], deleted: ID });
  expect(await store.images.list()).toEqual([]);
});

test('untagging keeps the digest references while another tag of the repository remains', async () => {
  await store.images.put(TAG, { id: ID, target: manifest('A'), digestReferences: [BY_DIGEST] });
  await store.images.tag(TAG, `${REPO}:1`);
  expect(await store.images.untag(TAG)).toEqual({ untagged: TAG });
  expect((await store.images.get(`${REPO}:1`)).names).toEqual([`${REPO}:1`, BY_DIGEST]);
});

test('untagging keeps the digest references of other repositories', async () => {
  const pushed = `localhost:5000/app@${manifest('A').digest}`;
  await store.images.put(TAG, { id: ID, target: manifest('A'), digestReferences: [BY_DIGEST, pushed] });
  await store.images.tag(TAG, 'localhost:5000/app:1');
  expect(await store.images.untag('localhost:5000/app:1')).toEqual({ untagged: 'localhost:5000/app:1', digestReferences: [pushed] });
  expect((await store.images.get(TAG)).names).toEqual([TAG, BY_DIGEST]);
});

test('untagging a digest reference removes it alone', async () => {
  await store.images.put(TAG, { id: ID, target: manifest('A'), digestReferences: [BY_DIGEST] });
  expect(await store.images.untag(BY_DIGEST)).toEqual({ untagged: BY_DIGEST });
  expect((await store.images.get(TAG)).names).toEqual([TAG]);
});

test('untagging an image’s last digest reference deletes it', async () => {
  await store.images.put(BY_DIGEST, { id: ID, target: manifest('A') });
  expect(await store.images.untag(BY_DIGEST)).toEqual({ untagged: BY_DIGEST, deleted: ID });
});

test('moving a tag to another image leaves the old one its digest references', async () => {
  await store.images.put(TAG, { id: ID, target: manifest('A'), digestReferences: [BY_DIGEST] });
  await store.images.put(TAG, { id: digestOf('config B'), target: manifest('B') });
  expect((await store.images.resolve(ID)).names).toEqual([BY_DIGEST]);
});

test('deleting by ID an image with one tag and its digests needs no force', async () => {
  await store.images.put(TAG, { id: ID, target: manifest('A'), digestReferences: [BY_DIGEST] });
  expect((await store.images.delete(ID)).names).toEqual([TAG, BY_DIGEST]);
  expect(await store.images.list()).toEqual([]);
});

test('deleting by ID an image with digests in two repositories needs force', async () => {
  await store.images.put(TAG, { id: ID, target: manifest('A'), digestReferences: [BY_DIGEST, `localhost:5000/app@${manifest('A').digest}`] });
  await expect(store.images.delete(ID)).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('referenced in multiple repositories') });
});

describe('isSingleReference (moby’s rule for what rmi takes without force)', () => {
  test('one repository with one tag and any digests is single', () => {
    expect(isSingleReference([TAG, BY_DIGEST, `${REPO}@${digestOf('x')}`])).toBe(true);
  });
  test('two tags of one repository are not', () => {
    expect(isSingleReference([TAG, `${REPO}:1`])).toBe(false);
  });
  test('two repositories are not, even by digest only', () => {
    expect(isSingleReference([BY_DIGEST, `localhost:5000/app@${manifest('A').digest}`])).toBe(false);
  });
  test('no name is not', () => {
    expect(isSingleReference([])).toBe(false);
  });
});
