import { MemoryContentStore } from '@ctr/image';
import { RegistryClient, type PullProgress } from '@ctr/registry';
import { makeImage, readAll } from './support/images';
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
