/**
 * What a push sends and refuses, and `rmi --platform`, against ctr's registry server on
 * 127.0.0.1. A push names a tag here (dockerd's words when it names none, docker's refusal of
 * a digest); with a platform it sends only the image's manifest for it, as a single-platform
 * image. A multi-platform image is made here as a loaded OCI archive would leave it: an index
 * naming two platforms, both of whose content is in the store, the image run as this host's.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { normalizeImageName } from '@ctr/engine';
import { formatPlatform, hostPlatform, MediaTypes, MemoryContentStore, parsePlatform, type Descriptor, type Digest, type Platform } from '@ctr/image';
import { RegistryClient, RegistryServer } from '@ctr/registry';
import { openStore } from '@ctr/store';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let work: string;
let registry: RegistryServer;
let registryClient: RegistryClient;
const HOST = hostPlatform();
const OTHER = parsePlatform(HOST.architecture === 'arm64' ? 'linux/amd64' : 'linux/arm64');
const NEITHER = parsePlatform('linux/s390x');

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-engine-push-platform-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
  registryClient = new RegistryClient({ credentials: {} });
});

afterAll(async () => {
  await registryClient?.close();
  await registry?.close();
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A one-file image of its own for `platform`, named `name`: its manifest. */
async function imported(name: string, platform: Platform): Promise<Descriptor> {
  const dir = await mkdtemp(join(work, 'rootfs-'));
  await writeFile(join(dir, 'which'), `${name} ${formatPlatform(platform)}`);
  return (await t.engine.importImage({ dir }, { name, platform })).manifest;
}

/**
 * `name` as an index for this host's platform and another, both held here; the other's
 * image goes by no name of its own. Each call's manifests are new.
 */
async function multiPlatform(name: string): Promise<{ own: Descriptor; other: Descriptor }> {
  const own = await imported(name, HOST);
  const other = await imported(`${name}-other`, OTHER);
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [
      { mediaType: own.mediaType, digest: own.digest, size: own.size, platform: HOST },
      { mediaType: other.mediaType, digest: other.digest, size: other.size, platform: OTHER },
    ],
  }));
  const store = await openStore({ root: t.root });
  const blob = await store.content.write(Readable.from([index]));
  const id = (await t.engine.inspectImage(name)).Id as Digest;
  await store.images.put(normalizeImageName(name), { id, target: { mediaType: MediaTypes.ociIndex, digest: blob.digest, size: blob.size } });
  // Once the index holds its manifest: rmi frees what no image holds.
  await t.engine.removeImage(`${name}-other`);
  return { own, other };
}

const mismatch = (ref: string, wanted: Platform): string =>
  `image with reference ${ref} was found but does not match the specified platform: wanted ${formatPlatform(wanted)}, actual: ${formatPlatform(HOST)}`;

describe('push', () => {
  test('a tag whose repository has no name here is NotFound in dockerd\'s words, naming the repository', async () => {
    const repo = `${registry.host}/none-here/app`;
    await expect(t.engine.push(`${repo}:v1`)).rejects.toMatchObject({ code: 'NotFound', message: `An image does not exist locally with the tag: ${repo}` });
  });

  test('a tag its repository lacks here is NotFound in dockerd\'s words, naming the tag', async () => {
    const repo = `${registry.host}/some-here/app`;
    await t.engine.tag('busybox', `${repo}:v1`);
    await expect(t.engine.push(`${repo}:v2`)).rejects.toMatchObject({ code: 'NotFound', message: `tag does not exist: ${repo}:v2` });
  });

  test('a digest reference is refused in docker\'s words', async () => {
    await expect(t.engine.push(`${registry.host}/app@sha256:${'a'.repeat(64)}`)).rejects.toMatchObject({ code: 'InvalidArgument', message: 'cannot push a digest reference' });
  });

  test('with a platform, only that platform\'s manifest is pushed, under the tag', async () => {
    const name = `${registry.host}/multi/push:v1`;
    const { other } = await multiPlatform(name);
    const pushed = await t.engine.push(name, { platform: OTHER });
    expect(pushed).toEqual({ digest: other.digest, size: other.size });
    expect((await registryClient.resolve(name)).digest).toBe(other.digest);
  });

  test('with a platform the image does not hold, NotFound in dockerd\'s words, pushing nothing', async () => {
    const name = `${registry.host}/multi/absent:v1`;
    await multiPlatform(name);
    await expect(t.engine.push(name, { platform: NEITHER })).rejects.toMatchObject({ code: 'NotFound', message: mismatch(name, NEITHER) });
    await expect(registryClient.resolve(name)).rejects.toMatchObject({ code: 'NotFound' });
  });
});

describe('rmi --platform', () => {
  test("removes that platform's manifest and keeps the image", async () => {
    const { other } = await multiPlatform('multi-rm:1');
    expect(await t.engine.removeImage('multi-rm:1', { platforms: [OTHER] })).toEqual([{ Deleted: other.digest }]);
    expect((await t.engine.inspectImage('multi-rm:1')).RepoTags).toEqual(['multi-rm:1']);
    await expect(t.engine.push('multi-rm:1', { platform: OTHER })).rejects.toMatchObject({ code: 'NotFound', message: mismatch('multi-rm:1', OTHER) });
  });

  test('of the platform the image runs as, while it holds another, is a Conflict that removes nothing', async () => {
    const { own, other } = await multiPlatform('multi-own:1');
    await expect(t.engine.removeImage('multi-own:1', { platforms: [HOST] })).rejects.toMatchObject({ code: 'Conflict' });
    const { content } = await openStore({ root: t.root });
    expect([await content.has(own.digest), await content.has(other.digest)]).toEqual([true, true]);
    expect((await t.engine.inspectImage('multi-own:1')).Descriptor.mediaType).toBe(MediaTypes.ociIndex);
  });

  test("of a single-platform image's own platform removes the image", async () => {
    await t.engine.tag('busybox', 'single-rm:1');
    expect(await t.engine.removeImage('single-rm:1', { platforms: [HOST] })).toEqual([{ Untagged: 'single-rm:1' }]);
    expect(await t.engine.images({ filters: { reference: ['single-rm'] } })).toEqual([]);
  });

  test('of a platform the image does not hold is NotFound in dockerd\'s words, removing nothing', async () => {
    await multiPlatform('multi-none:1');
    await expect(t.engine.removeImage('multi-none:1', { platforms: [NEITHER] })).rejects.toMatchObject({ code: 'NotFound', message: mismatch('multi-none:1', NEITHER) });
    expect((await t.engine.inspectImage('multi-none:1')).RepoTags).toEqual(['multi-none:1']);
  });
});
