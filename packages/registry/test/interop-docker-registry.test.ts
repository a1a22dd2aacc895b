/**
 * ctr's client against the Debian `docker-registry` (distribution v2), with skopeo and umoci
 * as the other side: images cross in both directions with identical digests.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MediaTypes, MemoryContentStore, OciLayout, parseManifest, type ContentStore, type Digest } from '@ctr/image';
import { openStore, type Store } from '@ctr/store';
import { RegistryClient, type PushProgress } from '@ctr/registry';
import { layoutManifest, makeBusyboxLayout, run, skopeoCopy, startDockerRegistry, type DockerRegistry } from './support/processes';
import { makeImage, makeIndex, readAll } from './support/images';

let registry: DockerRegistry;
let work: string;
let layoutDir: string;
let client: RegistryClient;
let store: Store;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-interop-'));
  registry = await startDockerRegistry();
  layoutDir = await makeBusyboxLayout(work);
});
afterAll(async () => {
  await registry?.stop();
  await fs.rm(work, { recursive: true, force: true });
});
beforeEach(async () => {
  client = new RegistryClient({ credentials: {} });
  store = await openStore({ root: await fs.mkdtemp(path.join(work, 'store-')) });
});
afterEach(async () => client.close());

async function manifestOf(provider: ContentStore, digest: string): Promise<ReturnType<typeof parseManifest>> {
  return parseManifest(await readAll(await provider.read(digest as Digest)));
}

test('an image skopeo pushed is pulled by ctr with identical digests, every blob verified into the store', async () => {
  await skopeoCopy(`oci:${layoutDir}:latest`, `docker://${registry.host}/skopeo/busybox:latest`);
  const expected = await layoutManifest(layoutDir);
  const layout = await OciLayout.open(layoutDir);
  const original = await manifestOf(layout, expected.digest);

  const pulled = await client.pull(`${registry.host}/skopeo/busybox:latest`, { store: store.content });
  expect(pulled.manifest.digest).toBe(expected.digest);
  expect(pulled.config.digest).toBe(original.config.digest);
  expect(pulled.layers.map((l) => l.digest)).toEqual(original.layers.map((l) => l.digest));
  for (const digest of [expected.digest, original.config.digest, ...original.layers.map((l) => l.digest)]) {
    expect((await readAll(await store.content.read(digest as Digest))).equals(await readAll(await layout.read(digest as Digest)))).toBe(true);
  }
});

test('an image ctr pushed is copied back by skopeo with identical digests', async () => {
  const layout = await OciLayout.open(layoutDir);
  const manifest = await layoutManifest(layoutDir);
  const pushed = await client.push(`${registry.host}/ctr/busybox:v1`, { store: layout, manifest });
  expect(pushed.descriptor.digest).toBe(manifest.digest);

  const back = path.join(work, 'skopeo-back');
  await skopeoCopy(`docker://${registry.host}/ctr/busybox:v1`, `oci:${back}:v1`);
  expect((await layoutManifest(back, 'v1')).digest).toBe(manifest.digest);
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${registry.host}/ctr/busybox:v1`]);
  expect(stdout.trim()).toBe(manifest.digest);
});

test('chunked uploads (PATCH with Content-Range) are accepted and the digest is kept', async () => {
  const chunkedClient = new RegistryClient({ credentials: {}, uploadChunkSize: 64 * 1024 });
  try {
    const layout = await OciLayout.open(layoutDir);
    const manifest = await layoutManifest(layoutDir);
    await chunkedClient.push(`${registry.host}/ctr/chunked:v1`, { store: layout, manifest });
    const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${registry.host}/ctr/chunked:v1`]);
    expect(Buffer.from(stdout).equals(await readAll(await layout.read(manifest.digest)))).toBe(true);
    const pulled = await client.pull(`${registry.host}/ctr/chunked:v1`, { store: store.content });
    expect(pulled.manifest.digest).toBe(manifest.digest);
  } finally {
    await chunkedClient.close();
  }
});

test('a push mounts blobs from another repository of the same registry instead of uploading them', async () => {
  const layout = await OciLayout.open(layoutDir);
  const manifest = await layoutManifest(layoutDir);
  await client.push(`${registry.host}/mount/source:v1`, { store: layout, manifest });
  const events: PushProgress[] = [];
  await client.push(`${registry.host}/mount/target:v1`, { store: layout, manifest, mountFrom: ['mount/source'], onProgress: (e) => events.push(e) });
  const final = events.filter((e) => e.status !== 'Preparing').map((e) => e.status);
  expect(final.length).toBeGreaterThan(0);
  expect(final.every((s) => s === 'Mounted from mount/source')).toBe(true);
  expect((await client.resolve(`${registry.host}/mount/target:v1`)).digest).toBe(manifest.digest);
});

test('pushing again skips every blob the registry has (HEAD first)', async () => {
  const layout = await OciLayout.open(layoutDir);
  const manifest = await layoutManifest(layoutDir);
  await client.push(`${registry.host}/again/busybox:v1`, { store: layout, manifest });
  const events: PushProgress[] = [];
  await client.push(`${registry.host}/again/busybox:v2`, { store: layout, manifest, onProgress: (e) => events.push(e) });
  expect(events.filter((e) => e.status !== 'Preparing').every((e) => e.status === 'Layer already exists')).toBe(true);
  expect(await client.listTags(`${registry.host}/again/busybox`)).toEqual(['v1', 'v2']);
});

test('pulling a tag the registry lacks is NotFound, worded like Docker and naming the reference', async () => {
  const layout = await OciLayout.open(layoutDir);
  await client.push(`${registry.host}/present/busybox:v1`, { store: layout, manifest: await layoutManifest(layoutDir) });
  const pull = client.pull(`${registry.host}/present/busybox:nope`, { store: store.content });
  await expect(pull).rejects.toMatchObject({
    code: 'NotFound',
    message: `manifest for ${registry.host}/present/busybox:nope not found: manifest unknown: manifest unknown`,
  });
});

test('a Docker schema 2 image (skopeo --format v2s2) is pulled with the digests skopeo reports', async () => {
  await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${layoutDir}:latest`, `docker://${registry.host}/skopeo/docker-format:latest`]);
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${registry.host}/skopeo/docker-format:latest`]);
  const pulled = await client.pull(`${registry.host}/skopeo/docker-format:latest`, { store: store.content });
  expect(pulled.manifest.digest).toBe(stdout.trim());
  expect(pulled.manifest.mediaType).toBe(MediaTypes.dockerManifest);
  expect(pulled.config.mediaType).toBe(MediaTypes.dockerConfig);
});

test('a multi-platform index ctr pushed is served byte-exact and pulled per platform', async () => {
  const local = new MemoryContentStore();
  const amd = await makeImage(local, [1000], { os: 'linux', architecture: 'amd64' });
  const arm = await makeImage(local, [2000], { os: 'linux', architecture: 'arm64' });
  const index = await makeIndex(local, [
    { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
    { image: arm, platform: { os: 'linux', architecture: 'arm64' } },
  ]);
  await client.push(`${registry.host}/ctr/multi:v1`, { store: local, manifest: index });
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${registry.host}/ctr/multi:v1`]);
  expect(Buffer.from(stdout).equals(await readAll(await local.read(index.digest)))).toBe(true);
  const pulled = await client.pull(`${registry.host}/ctr/multi:v1`, { store: store.content, platform: { os: 'linux', architecture: 'arm64' } });
  expect([pulled.index?.digest, pulled.manifest.digest]).toEqual([index.digest, arm.manifest.digest]);
});
