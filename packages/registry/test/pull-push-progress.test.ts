/**
 * The registry client's progress events are dockerd's (classic store): a pull says
 * "Pulling fs layer" for every layer before any downloads, "Waiting" for those without a
 * download slot, then "Downloading", "Verifying Checksum", "Download complete"; a push says
 * "Preparing" for every layer (top layer first) before any goes up, "Waiting" for those
 * without an upload slot, then "Pushing"/"Pushed" or "Layer already exists", under each
 * layer's short diffID, as dockerd shows a pushed layer. Sequences are asserted, not timings.
 */
import { Readable } from 'node:stream';
import { MemoryContentStore, MediaTypes, digestOf, shortId, type Descriptor } from '@ctr/image';
import { RegistryClient, progressText, type PullProgress, type PushProgress } from '@ctr/registry';
import { makeImage } from './support/images';
import { startRegistry, type RunningRegistry } from './support/servers';
import { byLayer, inOrder } from './support/progress-sequences';

let registry: RunningRegistry;

beforeAll(async () => {
  registry = await startRegistry();
});

afterAll(async () => {
  await registry.stop();
});

test('a pull says "Pulling fs layer" for every layer first, "Waiting" for those without a slot, then each download', async () => {
  const local = new MemoryContentStore();
  const image = await makeImage(local, [4000, 90_000, 20_000]);
  const ref = `${registry.host}/progress/pull:v1`;
  const client = new RegistryClient({ credentials: {}, maxConcurrentDownloads: 1 });
  try {
    await client.push(ref, { store: local, manifest: image.manifest });
    const events: PullProgress[] = [];
    await client.pull(ref, { store: new MemoryContentStore(), onProgress: (e) => events.push(e) });
    const layerEvents = events.filter((e) => e.kind === 'layer');
    // Every layer is announced, in the manifest's order, before any byte comes.
    expect(layerEvents.slice(0, 3).map((e) => [e.id, e.status])).toEqual(image.layers.map((l) => [shortId(l.digest), 'Pulling fs layer']));
    const layers = byLayer(events);
    // One slot: the largest layer starts at once, the two others wait for it.
    const [small, large, middle] = image.layers as [Descriptor, Descriptor, Descriptor];
    expect(layers.get(large.digest)?.includes('Waiting')).toBe(false);
    for (const layer of [small, middle]) expect(layers.get(layer.digest)?.[1]).toBe('Waiting');
    for (const layer of image.layers) {
      expect(inOrder(layers.get(layer.digest) ?? [], ['Pulling fs layer', 'Downloading', 'Verifying Checksum', 'Download complete'])).toBe(true);
      expect(layers.get(layer.digest)?.at(-1)).toBe('Download complete');
    }
  } finally {
    await client.close();
  }
});

test('a push says "Preparing" for every layer, top first, under its short diffID, before any goes up; "Waiting" without a slot', async () => {
  const local = new MemoryContentStore();
  const image = await makeImage(local, [3000, 5000, 7000]);
  const diffIds = (JSON.parse((await readBlob(local, image.config)).toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
  const client = new RegistryClient({ credentials: {}, maxConcurrentUploads: 1 });
  try {
    const events: PushProgress[] = [];
    await client.push(`${registry.host}/progress/push:v1`, { store: local, manifest: image.manifest, onProgress: (e) => events.push(e) });
    const layerEvents = events.filter((e) => e.kind === 'layer');
    const ids = diffIds.map((d) => shortId(d)).reverse();
    expect(layerEvents.slice(0, 3).map((e) => [e.id, e.status])).toEqual(ids.map((id) => [id, 'Preparing']));
    // One slot: the top layer goes first, the two below wait.
    expect(layerEvents.slice(3, 5).map((e) => [e.id, e.status])).toEqual(ids.slice(1).map((id) => [id, 'Waiting']));
    const layers = byLayer(events);
    image.layers.forEach((layer, i) => {
      const statuses = layers.get(layer.digest) ?? [];
      expect(inOrder(statuses, ['Preparing', 'Pushing', 'Pushed'])).toBe(true);
      expect(statuses.at(-1)).toBe('Pushed');
      expect(new Set(layerEvents.filter((e) => e.digest === layer.digest).map((e) => e.id))).toEqual(new Set([shortId(diffIds[i] as string)]));
    });
    // The config goes up unseen among the layers: its events are the config's.
    expect(events.filter((e) => e.digest === image.config.digest).every((e) => e.kind === 'config')).toBe(true);

    // Pushed again, each layer is there already.
    const again: PushProgress[] = [];
    await client.push(`${registry.host}/progress/push:v2`, { store: local, manifest: image.manifest, onProgress: (e) => again.push(e) });
    for (const statuses of byLayer(again).values()) expect(statuses.filter((s) => s !== 'Waiting')).toEqual(['Preparing', 'Layer already exists']);
  } finally {
    await client.close();
  }
});

test('a foreign layer is "Preparing" then "Skipped foreign layer", and is not sent', async () => {
  const local = new MemoryContentStore();
  const image = await makeImage(local, [3000]);
  const foreignBytes = Buffer.from('foreign layer bytes');
  const foreign: Descriptor = { mediaType: MediaTypes.ociLayerNondistributableGzip, digest: digestOf(foreignBytes), size: foreignBytes.length, urls: ['https://example.invalid/layer'] } as Descriptor;
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: image.config, layers: [foreign, ...image.layers] }));
  const manifest: Descriptor = { mediaType: MediaTypes.ociManifest, digest: digestOf(manifestBytes), size: manifestBytes.length };
  await local.write(Readable.from([manifestBytes]), { digest: manifest.digest, size: manifest.size });
  const client = new RegistryClient({ credentials: {} });
  try {
    const events: PushProgress[] = [];
    await client.push(`${registry.host}/progress/foreign:v1`, { store: local, manifest, onProgress: (e) => events.push(e) }).catch(() => undefined);
    expect(byLayer(events).get(foreign.digest)).toEqual(['Preparing', 'Skipped foreign layer']);
  } finally {
    await client.close();
  }
});

test("progressText is docker's JSONProgress.String(): the bar past 110 columns, the counts in go-units' sizes", () => {
  expect(progressText(undefined, undefined)).toBe('');
  expect(progressText(0, 0)).toBe('');
  expect(progressText(22934, 2219949)).toBe(`[>${' '.repeat(50)}]  22.93kB/2.22MB`);
  expect(progressText(1048576, 2219949)).toBe(`[=======================>${' '.repeat(27)}]  1.049MB/2.22MB`);
  expect(progressText(2219949, 2219949)).toBe(`[${'='.repeat(50)}>]   2.22MB/2.22MB`);
  expect(progressText(527, 527, 80)).toBe('    527B/527B');
  expect(progressText(3000, 2000, 80)).toBe('     3kB');
  expect(progressText(1500, 0)).toBe('   1.5kB');
});

async function readBlob(store: MemoryContentStore, descriptor: Descriptor): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of await store.read(descriptor.digest)) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
