/**
 * Pulls over a network that fails: cut off mid-layer (the next pull resumes with Range),
 * serving a wrong blob (DigestMismatch, nothing stored), and a cancelled pull.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { openStore, type Store } from '@ctr/store';
import { RegistryClient } from '@ctr/registry';
import { FaultProxy } from './support/fault-proxy';
import { makeImage, readAll, type TestImage } from './support/images';
import { startRegistry, type RunningRegistry } from './support/servers';

let registry: RunningRegistry;
let proxy: FaultProxy;
let image: TestImage;
let work: string;
let store: Store;
let client: RegistryClient;
const BIG = 2 * 1024 * 1024;

beforeAll(async () => {
  registry = await startRegistry();
  const local = new MemoryContentStore();
  image = await makeImage(local, [5000, BIG]);
  const pusher = new RegistryClient({ credentials: {} });
  await pusher.push(`${registry.host}/faults/app:v1`, { store: local, manifest: image.manifest });
  await pusher.close();
});
afterAll(async () => registry.stop());

beforeEach(async () => {
  proxy = new FaultProxy(registry.url);
  await proxy.listen();
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-faults-'));
  store = await openStore({ root: work });
  client = new RegistryClient({ credentials: {} });
});
afterEach(async () => {
  await client.close();
  await proxy.close();
  await fs.rm(work, { recursive: true, force: true });
});

const big = (): TestImage['layers'][number] => image.layers[1]!;

test('a pull cut off mid-layer fails as Unavailable and keeps the bytes it got', async () => {
  proxy.dropOnce = { digest: big().digest, bytes: 700_000 };
  await expect(client.pull(`${proxy.host}/faults/app:v1`, { store: store.content })).rejects.toMatchObject({ code: 'Unavailable' });
  const ingests = await store.content.ingests();
  expect(ingests).toHaveLength(1);
  expect(ingests[0]!.digest).toBe(big().digest);
  expect(ingests[0]!.offset).toBeGreaterThan(0);
  await expect(store.content.info(big().digest)).rejects.toMatchObject({ code: 'NotFound' });
  await expect(store.content.info(image.manifest.digest)).rejects.toMatchObject({ code: 'NotFound' });
});

test('the next pull resumes the cut-off layer with a Range request and completes verified', async () => {
  proxy.dropOnce = { digest: big().digest, bytes: 700_000 };
  await expect(client.pull(`${proxy.host}/faults/app:v1`, { store: store.content })).rejects.toThrow();
  const kept = (await store.content.ingests())[0]!.offset;
  proxy.seen.length = 0;

  const pulled = await client.pull(`${proxy.host}/faults/app:v1`, { store: store.content });
  expect(pulled.manifest.digest).toBe(image.manifest.digest);
  const blobGets = proxy.seen.filter((r) => r.method === 'GET' && r.url.endsWith(big().digest));
  expect(blobGets).toEqual([{ method: 'GET', url: `/v2/faults/app/blobs/${big().digest}`, range: `bytes=${kept}-` }]);
  expect((await readAll(await store.content.read(big().digest))).equals(image.blobs.get(big().digest)!)).toBe(true);
  expect(await store.content.ingests()).toEqual([]);
});

test('a registry serving a wrong blob is caught: DigestMismatch in dockerd\'s words naming the registry, and nothing stored', async () => {
  proxy.corrupt = big().digest;
  await expect(client.pull(`${proxy.host}/faults/app:v1`, { store: store.content })).rejects.toMatchObject({
    code: 'DigestMismatch',
    message: expect.stringMatching(new RegExp(`^filesystem layer verification failed for digest ${big().digest}: layer \\w{12} of ${proxy.host}/faults/app:v1 from registry ${proxy.host}: `)),
  });
  await expect(store.content.info(big().digest)).rejects.toMatchObject({ code: 'NotFound' });
  await expect(store.content.info(image.manifest.digest)).rejects.toMatchObject({ code: 'NotFound' });
  expect((await store.content.ingests()).filter((i) => i.digest === big().digest)).toEqual([]);
});

test('a cancelled pull rejects Aborted, leaves no manifest, and a later pull finishes', async () => {
  const controller = new AbortController();
  const pull = client.pull(`${proxy.host}/faults/app:v1`, {
    store: store.content,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.status === 'Downloading' && e.digest === big().digest) controller.abort();
    },
  });
  await expect(pull).rejects.toMatchObject({ code: 'Aborted' });
  await expect(store.content.info(image.manifest.digest)).rejects.toMatchObject({ code: 'NotFound' });
  await expect(store.content.info(big().digest)).rejects.toMatchObject({ code: 'NotFound' });
  const pulled = await client.pull(`${proxy.host}/faults/app:v1`, { store: store.content });
  expect(pulled.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest));
});

test('an unreachable registry is Unavailable, worded with the registry and "connection refused"', async () => {
  const host = proxy.host;
  await proxy.close();
  await expect(client.pull(`${host}/faults/app:v1`, { store: store.content })).rejects.toMatchObject({
    code: 'Unavailable',
    message: `manifest for ${host}/faults/app:v1: cannot reach registry ${host}: connection refused (tried https://${host}/v2/, then http://${host}/v2/)`,
  });
  proxy = new FaultProxy(registry.url);
  await proxy.listen();
});

test('two pulls of the same image into one store at once both finish', async () => {
  const [a, b] = await Promise.all([
    client.pull(`${proxy.host}/faults/app:v1`, { store: store.content }),
    client.pull(`${proxy.host}/faults/app:v1`, { store: store.content }),
  ]);
  expect(a.manifest.digest).toBe(image.manifest.digest);
  expect(b.manifest.digest).toBe(image.manifest.digest);
  expect((await readAll(await store.content.read(big().digest))).equals(image.blobs.get(big().digest)!)).toBe(true);
});
