/**
 * RepoDigests, as docker's classic store keeps them: the `repo@sha256:…` an image was pulled
 * as (the digest the pull resolved — an index's for a multi-platform image) or pushed as, per
 * repository; shown by inspect and images, selected by `images repo@sha256:…`, untagged by
 * `rmi repo@sha256:…` and with the repository's last tag, never written by save. Against ctr's
 * registry server on 127.0.0.1.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { chainIdOf, formatPlatform, hostPlatform, importRootfs, MediaTypes, MemoryContentStore, parsePlatform, TarReader, type Descriptor, type DiffID, type Platform } from '@ctr/image';
import { RegistryClient, RegistryServer } from '@ctr/registry';
import { testEngine, type TestEngine } from './fixture';

/** The Deleted lines of an image's layers released with it, top first, as moby's rmi prints them. */
const releasedLayers = async (t: TestEngine, ref: string): Promise<Array<{ Deleted: string }>> =>
  chainIdOf((await t.engine.inspectImage(ref)).RootFS.Layers as DiffID[])
    .reverse()
    .map((id) => ({ Deleted: id }));

let pusher: TestEngine;
let puller: TestEngine;
let work: string;
let registry: RegistryServer;
let client: RegistryClient;
let host: string;
/** The digest `busybox` was pushed as, to `<host>/app:1`. */
let pushed: string;
/** `<host>/multi:1`: an index of this host's platform and another. */
let multi: { index: Descriptor; own: Descriptor };

/** A one-file image for `platform` into `store`: its manifest. */
async function platformImage(store: MemoryContentStore, platform: Platform): Promise<Descriptor> {
  const dir = await mkdtemp(join(work, 'rootfs-'));
  await writeFile(join(dir, 'platform'), formatPlatform(platform));
  return (await importRootfs(store, { dir }, { platform, config: { Cmd: ['sh'] } })).manifest;
}

async function seedMulti(): Promise<typeof multi> {
  const store = new MemoryContentStore();
  const own = await platformImage(store, hostPlatform());
  const otherPlatform = parsePlatform(hostPlatform().architecture === 'arm64' ? 'linux/amd64' : 'linux/arm64');
  const other = await platformImage(store, otherPlatform);
  const bytes = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [
      { ...own, platform: hostPlatform() },
      { ...other, platform: otherPlatform },
    ],
  }));
  const written = await store.write(Readable.from([bytes]));
  const index: Descriptor = { mediaType: MediaTypes.ociIndex, digest: written.digest, size: written.size };
  await client.push(`${host}/multi:1`, { store, manifest: index });
  return { index, own };
}

/** The `RepoTags` of each entry of a `docker save` archive's manifest.json. */
async function savedRepoTags(archive: Readable): Promise<unknown[]> {
  const reader = new TarReader(archive);
  let manifest: Array<{ RepoTags: unknown }> = [];
  for (let entry = await reader.next(); entry; entry = await reader.next()) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry.content()) chunks.push(Buffer.from(chunk));
    if (entry.header.name === 'manifest.json') manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof manifest;
  }
  return manifest.map((m) => m.RepoTags);
}

beforeAll(async () => {
  pusher = await testEngine();
  puller = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-engine-repo-digests-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
  host = registry.host;
  client = new RegistryClient({ credentials: {} });
  await pusher.engine.tag('busybox', `${host}/app:1`);
  pushed = (await pusher.engine.push(`${host}/app:1`)).digest;
  multi = await seedMulti();
}, 60_000);

afterAll(async () => {
  await client?.close();
  await registry?.close();
  await pusher?.cleanup();
  await puller?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('push', () => {
  test('records the digest pushed, in the repository pushed to', async () => {
    expect((await pusher.engine.inspectImage(`${host}/app:1`)).RepoDigests).toEqual([`${host}/app@${pushed}`]);
  });

  test('shows the digest on every name of the image, as one image', async () => {
    const [listed] = await pusher.engine.images({ filters: { reference: ['busybox'] } });
    expect((await pusher.engine.inspectImage('busybox')).RepoDigests).toEqual([`${host}/app@${pushed}`]);
    expect(listed?.RepoTags).toEqual(['busybox:latest']);
  });
});

describe('pull by tag', () => {
  test('records the manifest digest it resolved beside the tag', async () => {
    await puller.engine.pull(`${host}/app:1`);
    const image = await puller.engine.inspectImage(`${host}/app:1`);
    // The puller's own busybox is the same image (importBusybox is reproducible): it keeps that tag beside.
    expect({ tags: image.RepoTags, digests: image.RepoDigests }).toEqual({ tags: [`${host}/app:1`, 'busybox:latest'], digests: [`${host}/app@${pushed}`] });
  });

  test('of a multi-platform image records the index’s digest, not the platform manifest’s', async () => {
    await puller.engine.pull(`${host}/multi:1`);
    expect((await puller.engine.inspectImage(`${host}/multi:1`)).RepoDigests).toEqual([`${host}/multi@${multi.index.digest}`]);
  });

  test('lists the digest in images’ RepoDigests', async () => {
    const [listed] = await puller.engine.images({ filters: { reference: [`${host}/app:1`] } });
    expect(listed?.RepoDigests).toEqual([`${host}/app@${pushed}`]);
  });
});

describe('pull by digest', () => {
  let image: Awaited<ReturnType<TestEngine['engine']['inspectImage']>>;
  beforeAll(async () => {
    // The tag's pull recorded the digest too; with the tag goes the digest, and the image.
    await puller.engine.removeImage(`${host}/multi:1`);
    await puller.engine.pull(`${host}/multi@${multi.index.digest}`);
    image = await puller.engine.inspectImage(`${host}/multi@${multi.index.digest}`);
  });

  test('names the image by that digest reference alone', () => {
    expect({ tags: image.RepoTags, digests: image.RepoDigests }).toEqual({ tags: [], digests: [`${host}/multi@${multi.index.digest}`] });
  });

  test('is listed as dangling (no tag), and also when dangling=false (it has a name)', async () => {
    const ids = async (dangling: string): Promise<string[]> => (await puller.engine.images({ filters: { dangling: [dangling] } })).map((i) => i.Id);
    expect(await ids('true')).toContain(image.Id);
    expect(await ids('false')).toContain(image.Id);
  });
});

describe('images with a reference filter', () => {
  test('`repo@sha256:…` selects the image by that digest reference, showing it alone', async () => {
    const listed = await puller.engine.images({ filters: { reference: [`${host}/app@${pushed}`] } });
    expect(listed.map((i) => ({ tags: i.RepoTags, digests: i.RepoDigests }))).toEqual([{ tags: [], digests: [`${host}/app@${pushed}`] }]);
  });

  test('a tagged pattern shows the digests of its repository beside the tag', async () => {
    const listed = await puller.engine.images({ filters: { reference: [`${host}/app:1`] } });
    expect(listed.map((i) => i.RepoDigests)).toEqual([[`${host}/app@${pushed}`]]);
  });

  test('a tag that matches nothing shows no image, though the repository’s digest would match', async () => {
    expect(await puller.engine.images({ filters: { reference: [`${host}/app:nope`] } })).toEqual([]);
  });
});

describe('rmi', () => {
  let fresh: TestEngine;
  beforeEach(async () => {
    fresh = await testEngine();
    await fresh.engine.pull(`${host}/app:1`);
  });
  afterEach(async () => fresh.cleanup());

  test('`repo@sha256:…` untags that digest reference only', async () => {
    expect(await fresh.engine.removeImage(`${host}/app@${pushed}`)).toEqual([{ Untagged: `${host}/app@${pushed}` }]);
    expect((await fresh.engine.inspectImage(`${host}/app:1`)).RepoDigests).toEqual([]);
  });

  test('the repository’s last tag untags its digests too, then deletes the image', async () => {
    const id = (await fresh.engine.inspectImage(`${host}/app:1`)).Id;
    const layers = await releasedLayers(fresh, id);
    await fresh.engine.removeImage('busybox');
    expect(await fresh.engine.removeImage(`${host}/app:1`)).toEqual([{ Untagged: `${host}/app:1` }, { Untagged: `${host}/app@${pushed}` }, { Deleted: id }, ...layers]);
  });

  test('a tag of an image a container uses, with only digests beside it, is Conflict without force', async () => {
    await fresh.engine.removeImage('busybox');
    await fresh.engine.create({ image: `${host}/app:1`, cmd: ['true'], network: 'none' });
    await expect(fresh.engine.removeImage(`${host}/app:1`)).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('(must force)') });
  });
});

describe('save and load', () => {
  test('save writes an image’s tags, never its digests, and a loaded image has no RepoDigests', async () => {
    const id = (await puller.engine.inspectImage(`${host}/app:1`)).Id;
    expect(await savedRepoTags(await puller.engine.save([`${host}/app:1`]))).toEqual([[`${host}/app:1`]]);
    const fresh = await testEngine();
    try {
      await fresh.engine.load(await puller.engine.save([`${host}/app@${pushed}`]));
      expect((await fresh.engine.inspectImage(id)).RepoDigests).toEqual([]);
    } finally {
      await fresh.cleanup();
    }
  });
});

describe('image prune', () => {
  test('removes an image whose tag moved away, though its digest reference stays', async () => {
    const fresh = await testEngine();
    try {
      const old = (await fresh.engine.pull(`${host}/app:1`)).record.id;
      const layers = await releasedLayers(fresh, old);
      await fresh.engine.removeImage('busybox');
      await fresh.engine.importImage({ dir: await mkdtemp(join(work, 'other-')) }, { name: `${host}/app:1` });
      expect((await fresh.engine.inspectImage(old)).RepoDigests).toEqual([`${host}/app@${pushed}`]);
      const { ImagesDeleted } = await fresh.engine.pruneImages();
      expect(ImagesDeleted).toEqual([{ Untagged: `${host}/app@${pushed}` }, { Deleted: old }, ...layers]);
    } finally {
      await fresh.cleanup();
    }
  });
});
