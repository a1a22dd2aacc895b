/**
 * Cross-repository mounts on push, against ctr's registry server behind a recording proxy:
 * each blob's own source repositories are tried in turn (at most three, as dockerd), a
 * refused mount's upload session is cancelled before the next is asked for (the last one
 * carries the upload), and a blob with no source is uploaded as usual.
 */
import { MemoryContentStore, type Digest } from '@ctr/image';
import { RegistryClient, type PushProgress } from '@ctr/registry';
import { FaultProxy, type SeenRequest } from './support/fault-proxy';
import { makeImage, type TestImage } from './support/images';
import { startRegistry, type RunningRegistry } from './support/servers';

let registry: RunningRegistry;
let proxy: FaultProxy;
let client: RegistryClient;
let local: MemoryContentStore;
/** Pushed to `mounts/source`: the repository the blobs can be mounted from. */
let image: TestImage;

beforeAll(async () => {
  registry = await startRegistry();
  proxy = new FaultProxy(registry.url);
  await proxy.listen();
  client = new RegistryClient({ credentials: {} });
  local = new MemoryContentStore();
  image = await makeImage(local, [4000]);
  await client.push(`${proxy.host}/mounts/source:v1`, { store: local, manifest: image.manifest });
});

afterAll(async () => {
  await client?.close();
  await proxy?.close();
  await registry?.stop();
});

/** Push the image to `repository` with these mount sources: the requests made and each layer's last status. */
async function push(repository: string, mountFrom: ReadonlyMap<Digest, readonly string[]>): Promise<{ seen: SeenRequest[]; layer: string | undefined }> {
  proxy.seen.length = 0;
  let layer: string | undefined;
  const onProgress = (event: PushProgress): void => {
    if (event.kind === 'layer') layer = event.status;
  };
  await client.push(`${proxy.host}/${repository}:v1`, { store: local, manifest: image.manifest, mountFrom, onProgress });
  return { seen: [...proxy.seen], layer };
}

const layerDigest = (): Digest => image.layers[0]!.digest;
/** The digests of the blobs whose bytes went up (an upload's closing PUT names its digest). */
const uploaded = (seen: SeenRequest[]): string[] =>
  seen.filter((r) => r.method === 'PUT' && r.url.includes('/blobs/uploads/')).map((r) => new URL(r.url, 'http://x').searchParams.get('digest') ?? '');
const mountsOf = (seen: SeenRequest[], digest: Digest): string[] =>
  seen.filter((r) => r.method === 'POST' && r.url.includes(`mount=${encodeURIComponent(digest)}`)).map((r) => new URL(r.url, 'http://x').searchParams.get('from') ?? '');

test('a blob is mounted from the first of its sources that holds it, and not uploaded', async () => {
  const { seen, layer } = await push('mounts/first', new Map([[layerDigest(), ['mounts/absent', 'mounts/source']]]));
  expect(layer).toBe('Mounted from mounts/source');
  expect(mountsOf(seen, layerDigest())).toEqual(['mounts/absent', 'mounts/source']);
  expect(uploaded(seen)).not.toContain(layerDigest());
});

test('the session a refused mount opened is cancelled before the next source is tried', async () => {
  const { seen } = await push('mounts/cancel', new Map([[layerDigest(), ['mounts/absent', 'mounts/source']]]));
  // The config goes up meanwhile, with no mount and nothing to cancel: only the layer's requests are kept.
  const steps = seen
    .filter((r) => r.method === 'DELETE' || (r.method === 'POST' && r.url.includes('mount=')))
    .map((r) => (r.method === 'DELETE' ? r.url.replace(/[^/]+$/, '<session>') : `mount from ${new URL(r.url, 'http://x').searchParams.get('from')}`));
  expect(steps).toEqual(['mount from mounts/absent', '/v2/mounts/cancel/blobs/uploads/<session>', 'mount from mounts/source']);
});

test('a blob whose sources all refuse is uploaded through the last session they opened, after three tries', async () => {
  const sources = ['mounts/no1', 'mounts/no2', 'mounts/no3', 'mounts/source'];
  const { seen, layer } = await push('mounts/refused', new Map([[layerDigest(), sources]]));
  expect(layer).toBe('Pushed');
  expect(mountsOf(seen, layerDigest())).toEqual(sources.slice(0, 3));
  expect(seen.filter((r) => r.method === 'DELETE')).toHaveLength(2);
  expect(uploaded(seen).filter((digest) => digest === layerDigest())).toHaveLength(1);
});

test('a blob the mount map names no source for is uploaded without a mount request', async () => {
  const { seen, layer } = await push('mounts/none', new Map());
  expect(layer).toBe('Pushed');
  expect(mountsOf(seen, layerDigest())).toEqual([]);
  expect(uploaded(seen).filter((digest) => digest === layerDigest())).toHaveLength(1);
});
