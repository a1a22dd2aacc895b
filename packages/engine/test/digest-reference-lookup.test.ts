/**
 * A name with a digest (`repo@sha256:…`) finds an image as moby's graphdriver store finds it:
 * only when this store knows that very reference — recorded by a pull or a push of that
 * repository — never because some image of another repository has the digest. A tag beside
 * the digest is left out of the lookup, as moby's reference store leaves it. Against ctr's
 * registry server on 127.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let work: string;
let registry: RegistryServer;
let host: string;
/** The digest busybox was pushed as, to `<host>/big:1`. */
let digest: string;

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-engine-digest-lookup-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
  host = registry.host;
  await t.engine.tag('busybox', `${host}/big:1`);
  digest = (await t.engine.push(`${host}/big:1`)).digest;
});

afterAll(async () => {
  await registry?.close();
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

test('the reference a push recorded finds the image', async () => {
  const image = await t.engine.inspectImage(`${host}/big@${digest}`);
  expect(image.RepoDigests).toContain(`${host}/big@${digest}`);
});

test('a tag beside the digest is left out of the lookup', async () => {
  const found = await t.engine.inspectImage(`${host}/big:other@${digest}`);
  expect(found.Id).toBe((await t.engine.inspectImage(`${host}/big:1`)).Id);
});

test("another repository's name with the digest is No such image, in docker's words", async () => {
  await expect(t.engine.inspectImage(`127.0.0.1:9999/zzz@${digest}`)).rejects.toMatchObject({
    code: 'NotFound',
    message: `No such image: 127.0.0.1:9999/zzz@${digest}`,
  });
});

test('a repository the image is tagged in, but never pulled or pushed as by digest, does not know the digest', async () => {
  await t.engine.tag('busybox', `${host}/tagged-only:1`);
  await expect(t.engine.inspectImage(`${host}/tagged-only@${digest}`)).rejects.toMatchObject({ code: 'NotFound' });
});

test('a pull of the digest under a repository the store no longer knows records that reference for the image here', async () => {
  await t.engine.tag('busybox', `${host}/elsewhere:1`);
  await t.engine.push(`${host}/elsewhere:1`);
  // Its last tag untagged takes the repository's digest references with it; the image stays under its other names.
  await t.engine.removeImage(`${host}/elsewhere:1`);
  const ref = `${host}/elsewhere@${digest}`;
  await expect(t.engine.inspectImage(ref)).rejects.toMatchObject({ code: 'NotFound' });
  const pulled = await t.engine.pull(ref);
  expect(pulled.record.id).toBe((await t.engine.inspectImage('busybox')).Id);
  expect((await t.engine.inspectImage(ref)).RepoDigests).toEqual(expect.arrayContaining([ref, `${host}/big@${digest}`]));
});
