import { Readable } from 'node:stream';
import { MemoryContentStore, type Descriptor } from '@ctr/image';
import { RegistryClient, type PullProgress } from '@ctr/registry';
import { makeImage, makeIndex, readAll } from './support/images';
import { startRegistry, type RunningRegistry } from './support/servers';

let registry: RunningRegistry;
let client: RegistryClient;

beforeEach(async () => {
  registry = await startRegistry();
  client = new RegistryClient({ credentials: {} });
});

afterEach(async () => {
  await client.close();
  await registry.stop();
});

test('an image pushed by the client is pulled back with identical digests and bytes', async () => {
  const local = new MemoryContentStore();
  const image = await makeImage(local);
  const pushed = await client.push(`${registry.host}/round/trip:v1`, { store: local, manifest: image.manifest });
  expect(pushed.descriptor.digest).toBe(image.manifest.digest);

  const target = new MemoryContentStore();
  const events: PullProgress[] = [];
  const pulled = await client.pull(`${registry.host}/round/trip:v1`, { store: target, onProgress: (e) => events.push(e) });
  expect(pulled.manifest.digest).toBe(image.manifest.digest);
  expect(pulled.config.digest).toBe(image.config.digest);
  expect(pulled.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest));
  for (const [digest, bytes] of image.blobs) {
    expect(await readAll(await target.read(digest))).toEqual(bytes);
  }
  expect(events.filter((e) => e.status === 'Download complete' && e.kind === 'layer')).toHaveLength(2);
});

test('resolve and listTags see what was pushed', async () => {
  const local = new MemoryContentStore();
  const image = await makeImage(local, [100]);
  for (const tag of ['b', 'a', 'c']) {
    await client.push(`${registry.host}/tags/repo:${tag}`, { store: local, manifest: image.manifest });
  }
  expect(await client.listTags(`${registry.host}/tags/repo`)).toEqual(['a', 'b', 'c']);
  const resolved = await client.resolve(`${registry.host}/tags/repo:b`);
  expect(resolved).toEqual({ mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size });
});

test('pulling a multi-platform index picks the requested platform and reports the index', async () => {
  const local = new MemoryContentStore();
  const amd = await makeImage(local, [100], { os: 'linux', architecture: 'amd64' });
  const arm = await makeImage(local, [200], { os: 'linux', architecture: 'arm64' });
  const index = await makeIndex(local, [
    { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
    { image: arm, platform: { os: 'linux', architecture: 'arm64' } },
  ]);
  await client.push(`${registry.host}/multi/app:v1`, { store: local, manifest: index });

  const target = new MemoryContentStore();
  const pulled = await client.pull(`${registry.host}/multi/app:v1`, { store: target, platform: { os: 'linux', architecture: 'arm64' } });
  expect(pulled.index?.digest).toBe(index.digest);
  expect(pulled.manifest.digest).toBe(arm.manifest.digest);
  expect(pulled.layers.map((l) => l.digest)).toEqual(arm.layers.map((l) => l.digest));
  await expect(target.info(index.digest)).resolves.toMatchObject({ size: index.size });
  await expect(target.info(amd.layers[0]!.digest)).rejects.toMatchObject({ code: 'NotFound' });
});

test('a platform the index lacks is NotFound naming the platform', async () => {
  const local = new MemoryContentStore();
  const amd = await makeImage(local, [100]);
  const index = await makeIndex(local, [{ image: amd, platform: { os: 'linux', architecture: 'amd64' } }]);
  await client.push(`${registry.host}/multi/only:v1`, { store: local, manifest: index });
  await expect(client.pull(`${registry.host}/multi/only:v1`, { store: new MemoryContentStore(), platform: { os: 'linux', architecture: 's390x' } })).rejects.toMatchObject({
    code: 'NotFound',
    message: expect.stringContaining('linux/s390x'),
  });
});

test('pulling by digest verifies the manifest against it', async () => {
  const local = new MemoryContentStore();
  const image = await makeImage(local, [100]);
  await client.push(`${registry.host}/bydigest/app:v1`, { store: local, manifest: image.manifest });
  const pulled = await client.pull(`${registry.host}/bydigest/app@${image.manifest.digest}`, { store: new MemoryContentStore() });
  expect(pulled.manifest.digest).toBe(image.manifest.digest);
});

test('an image whose blobs are all in the store is not downloaded again, and says nothing per layer (as dockerd)', async () => {
  const local = new MemoryContentStore();
  const image = await makeImage(local);
  await client.push(`${registry.host}/again/app:v1`, { store: local, manifest: image.manifest });
  const events: PullProgress[] = [];
  await client.pull(`${registry.host}/again/app:v1`, { store: local, onProgress: (e) => events.push(e) });
  expect(events.filter((e) => e.kind === 'layer')).toEqual([]);
});

test('a layer already in the store is "Already exists"; the others are pulled', async () => {
  const local = new MemoryContentStore();
  const image = await makeImage(local);
  await client.push(`${registry.host}/partly/app:v1`, { store: local, manifest: image.manifest });
  const target = new MemoryContentStore();
  const [base, top] = image.layers as [Descriptor, Descriptor];
  await target.write(Readable.from([image.blobs.get(base.digest) as Buffer]), { digest: base.digest, size: base.size });
  const events: PullProgress[] = [];
  await client.pull(`${registry.host}/partly/app:v1`, { store: target, onProgress: (e) => events.push(e) });
  const statuses = (layer: Descriptor): string[] => events.filter((e) => e.digest === layer.digest).map((e) => e.status);
  expect(statuses(base)).toEqual(['Already exists']);
  expect(statuses(top).filter((s) => s !== 'Downloading')).toEqual(['Pulling fs layer', 'Verifying Checksum', 'Download complete']);
});

test('progress for a downloaded layer goes Pulling fs layer → Downloading → Verifying Checksum → Download complete with byte counts', async () => {
  const local = new MemoryContentStore();
  const image = await makeImage(local, [2 * 1024 * 1024]);
  await client.push(`${registry.host}/progress/app:v1`, { store: local, manifest: image.manifest });
  const events: PullProgress[] = [];
  await client.pull(`${registry.host}/progress/app:v1`, { store: new MemoryContentStore(), onProgress: (e) => events.push(e) });
  const layer = events.filter((e) => e.kind === 'layer');
  expect(layer[0]).toMatchObject({ status: 'Pulling fs layer', id: image.layers[0]!.digest.slice(7, 19) });
  const downloading = layer.filter((e) => e.status === 'Downloading');
  expect(downloading.length).toBeGreaterThan(1);
  expect(downloading[downloading.length - 1]).toMatchObject({ current: image.layers[0]!.size, total: image.layers[0]!.size });
  expect(layer.slice(-2).map((e) => e.status)).toEqual(['Verifying Checksum', 'Download complete']);
  // No layer waits for a download slot when there are enough.
  expect(layer.some((e) => e.status === 'Waiting')).toBe(false);
});

test('pushing a digest reference must name the manifest being pushed', async () => {
  const local = new MemoryContentStore();
  const image = await makeImage(local, [10]);
  await expect(client.push(`${registry.host}/x/y@${image.config.digest}`, { store: local, manifest: image.manifest })).rejects.toMatchObject({ code: 'InvalidArgument' });
});
