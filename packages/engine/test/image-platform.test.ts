/**
 * The `platform` option of history, save, load and import, and a create's `imagePlatform`.
 * The store keeps one platform of each image, so for history, save, load and create a platform
 * picks nothing: the image's own is accepted and another refused in dockerd's words, the store
 * unchanged. An import records the platform it is given as the image's. `removeImage`'s
 * `noPrune` (docker's `--no-prune`) changes nothing: ctr images have no parent images to prune.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { formatPlatform, hostPlatform, parsePlatform } from '@ctr/image';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let work: string;
const HOST = hostPlatform();
/** A platform that is not this machine's. */
const OTHER = parsePlatform(HOST.architecture === 'arm64' ? 'linux/amd64' : 'linux/arm64');

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-engine-platform-'));
});

afterAll(async () => {
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function rootfs(content = 'content'): Promise<string> {
  const dir = await mkdtemp(join(work, 'rootfs-'));
  await writeFile(join(dir, 'file'), content);
  return dir;
}

const mismatch = (ref: string): string =>
  `image with reference ${ref} was found but does not match the specified platform: wanted ${formatPlatform(OTHER)}, actual: ${formatPlatform(HOST)}`;

test("history for the image's own platform is its history", async () => {
  expect(await t.engine.history('busybox', { platform: HOST })).toEqual(await t.engine.history('busybox'));
});

test("history for another platform is NotFound in dockerd's words", async () => {
  await expect(t.engine.history('busybox', { platform: OTHER })).rejects.toMatchObject({ code: 'NotFound', message: mismatch('busybox') });
});

test("save for the image's own platform gives the same archive as save without one", async () => {
  const [plain, chosen] = [await readAll(await t.engine.save(['busybox'])), await readAll(await t.engine.save(['busybox'], { platform: HOST }))];
  expect(chosen.equals(plain)).toBe(true);
});

test("save for another platform is NotFound in dockerd's words", async () => {
  await expect(t.engine.save(['busybox'], { platform: OTHER })).rejects.toMatchObject({ code: 'NotFound', message: mismatch('busybox') });
});

test("create for another platform than the image's is NotFound in dockerd's words, and makes nothing", async () => {
  const before = await t.engine.ps({ all: true });
  await expect(t.engine.create({ image: 'busybox', network: 'none', pull: 'never', imagePlatform: OTHER })).rejects.toMatchObject({ code: 'NotFound', message: mismatch('busybox') });
  expect(await t.engine.ps({ all: true })).toEqual(before);
});

test("create for the image's own platform makes the container", async () => {
  const created = await t.engine.create({ image: 'busybox', network: 'none', pull: 'never', imagePlatform: HOST });
  expect((await t.engine.inspect(created.id)).Image).toBe((await t.engine.inspectImage('busybox')).Id);
  await t.engine.remove(created.id);
});

test("load for the archive's platform loads it", async () => {
  await t.engine.tag('busybox', 'platform-load:mine');
  const archive = await readAll(await t.engine.save(['platform-load:mine']));
  await t.engine.removeImage('platform-load:mine');
  expect(await t.engine.load(Readable.from([archive]), { platform: HOST })).toEqual({ loaded: ['Loaded image: platform-load:mine'] });
  expect((await t.engine.images({ filters: { reference: ['platform-load'] } })).flatMap((i) => i.RepoTags)).toEqual(['platform-load:mine']);
});

test("load for a platform no image in the archive is for is NotFound in dockerd's words, naming nothing", async () => {
  await t.engine.tag('busybox', 'platform-load:other');
  const archive = await readAll(await t.engine.save(['platform-load:other']));
  await t.engine.removeImage('platform-load:other');
  await expect(t.engine.load(Readable.from([archive]), { platform: OTHER })).rejects.toMatchObject({
    code: 'NotFound',
    message: `no images providing the requested platform ${formatPlatform(OTHER)} found`,
  });
  expect(await t.engine.images({ filters: { reference: ['platform-load:other'] } })).toEqual([]);
});

test("import with a platform records it as the image's os, architecture and variant", async () => {
  await t.engine.importImage({ dir: await rootfs() }, { name: 'platform-import:arm', platform: parsePlatform('linux/arm/v6') });
  const inspect = await t.engine.inspectImage('platform-import:arm');
  expect([inspect.Os, inspect.Architecture, inspect.Variant]).toEqual(['linux', 'arm', 'v6']);
});

test('import without a platform records the host platform', async () => {
  await t.engine.importImage({ dir: await rootfs() }, { name: 'platform-import:host' });
  const inspect = await t.engine.inspectImage('platform-import:host');
  expect(formatPlatform({ os: inspect.Os, architecture: inspect.Architecture, ...(inspect.Variant ? { variant: inspect.Variant } : {}) })).toBe(formatPlatform(HOST));
});

test("import for another operating system is dockerd's InvalidArgument, naming nothing", async () => {
  await expect(t.engine.importImage({ dir: await rootfs() }, { name: 'platform-import:windows', platform: parsePlatform('windows/amd64') })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: 'operating system is not supported',
  });
  await expect(t.engine.inspectImage('platform-import:windows')).rejects.toMatchObject({ code: 'NotFound' });
});

test('removeImage with noPrune untags and deletes as without it', async () => {
  // A layer of its own: one another test's image shares (same content, same second) would stay.
  await t.engine.importImage({ dir: await rootfs('noprune') }, { name: 'platform-noprune:1' });
  const removed = await t.engine.removeImage('platform-noprune:1', { noPrune: true });
  // --no-prune keeps untagged parents (ctr's images have none); the image's own layer goes, as moby's release.
  expect(removed).toEqual([{ Untagged: 'platform-noprune:1' }, { Deleted: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }, { Deleted: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }]);
});
