/**
 * A legitimate root key rotation, with notary's semantics, as the TrustClient sees it: the
 * repository's owner replaces the root key with a new root signed by both the old and the new
 * root keys (ctr has no command that rotates a root key, nor has docker's CLI: the rotation is
 * made here with the library, as `notary key rotate` would publish it). A client that pinned the
 * old root follows the rotation, resolves tags as before and pins the new root in its place;
 * one that missed several rotations walks them version by version, as notary's client does.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { certifiedRootKey, generateKey, parseMetadata, type RegistryServer, type RootMeta, type TrustClient, type TufKey } from '@ctr/registry';
import { startTrustServers, type TrustServers } from './support/notary';
import { TestRepo } from './support/trust-server-helpers';

let servers: TrustServers;
let ca: string;
let server: RegistryServer;

beforeAll(async () => {
  servers = await startTrustServers('ctr-trust-rotation-');
  ({ ca, notary: server } = servers);
});

afterEach(() => servers.closeClients());

afterAll(async () => {
  await servers?.close();
});

/** A reader's docker config directory (its pinned metadata). */
const newConfig = (): string => servers.newConfig();
const client = (gun: string, config: string): TrustClient => servers.client(gun, config);

/** The root a reader has pinned for `gun`. */
async function pinned(config: string, gun: string): Promise<RootMeta> {
  return parseMetadata<RootMeta>(await fs.readFile(path.join(config, 'trust', 'tuf', ...gun.split('/'), 'metadata', 'root.json')), 'root').signed;
}

/** A repository with trust data: root v1 (its root key), targets v1 signing `latest`. */
async function published(gun: string): Promise<TestRepo> {
  const repo = new TestRepo(server.url, gun, ca);
  expect((await repo.publish()).status).toBe(200);
  return repo;
}

/** Publish root `version` whose root key is `next`, signed by the current root key `current` and by `next` (notary's rotation). */
async function rotate(repo: TestRepo, current: TufKey, next: TufKey, version: number): Promise<Buffer> {
  const root = repo.root([next, current], repo.rootMeta([next], version));
  expect((await repo.post({ root })).status).toBe(200);
  return root;
}

test('a reader that pinned the old root accepts a new root signed by the old and the new root keys, and resolves tags as before', async () => {
  const gun = '127.0.0.1:5000/rotation/once';
  const repo = await published(gun);
  const reader = newConfig();
  const before = await client(gun, reader).target('latest');
  const newKey = certifiedRootKey(generateKey(), gun);
  await rotate(repo, repo.rootKey, newKey, 2);
  expect(await client(gun, reader).target('latest')).toEqual(before);
});

test('the new root replaces the old one as the pin: its root key is the one trusted from then on', async () => {
  const gun = '127.0.0.1:5000/rotation/pin';
  const repo = await published(gun);
  const reader = newConfig();
  await client(gun, reader).target('latest');
  expect((await pinned(reader, gun)).roles.root.keyids).toEqual([repo.rootKey.id]);
  const newKey = certifiedRootKey(generateKey(), gun);
  const rotated = await rotate(repo, repo.rootKey, newKey, 2);
  await client(gun, reader).target('latest');
  const root = await pinned(reader, gun);
  expect({ version: root.version, rootKeys: root.roles.root.keyids }).toEqual({ version: 2, rootKeys: [newKey.id] });
  expect((await fs.readFile(path.join(reader, 'trust', 'tuf', ...gun.split('/'), 'metadata', 'root.json'))).equals(rotated)).toBe(true);
});

test('a reader that missed two rotations follows them through the intermediate root, as notary walks root versions', async () => {
  const gun = '127.0.0.1:5000/rotation/twice';
  const repo = await published(gun);
  const reader = newConfig();
  const before = await client(gun, reader).target('latest');
  const second = certifiedRootKey(generateKey(), gun);
  const third = certifiedRootKey(generateKey(), gun);
  await rotate(repo, repo.rootKey, second, 2);
  await rotate(repo, second, third, 3);
  expect(await client(gun, reader).target('latest')).toEqual(before);
  expect((await pinned(reader, gun)).roles.root.keyids).toEqual([third.id]);
});
