/**
 * RegistryClient.fetchSmallBlob: a small blob (an image config) read whole from a registry on
 * 127.0.0.1, its bytes verified against its digest and bounded as a document is.
 */
import { MAX_DOCUMENT_BYTES, MemoryContentStore, shortId } from '@ctr/image';
import { RegistryClient } from '@ctr/registry';
import { FaultProxy } from './support/fault-proxy';
import { makeImage, type TestImage } from './support/images';
import { startRegistry, type RunningRegistry } from './support/servers';

let registry: RunningRegistry;
let proxy: FaultProxy;
let image: TestImage;
let client: RegistryClient;

beforeAll(async () => {
  registry = await startRegistry();
  const local = new MemoryContentStore();
  // A "layer" just past the bound stands for a blob too large to read whole.
  image = await makeImage(local, [MAX_DOCUMENT_BYTES + 1024]);
  const pusher = new RegistryClient({ credentials: {} });
  await pusher.push(`${registry.host}/small/app:v1`, { store: local, manifest: image.manifest });
  await pusher.close();
});
afterAll(async () => registry?.stop());

beforeEach(async () => {
  proxy = new FaultProxy(registry.url);
  await proxy.listen();
  client = new RegistryClient({ credentials: {} });
});
afterEach(async () => {
  await client.close();
  await proxy.close();
});

test('a config blob is read whole, the bytes the registry holds', async () => {
  expect(await client.fetchSmallBlob(`${proxy.host}/small/app:v1`, image.config.digest)).toEqual(image.blobs.get(image.config.digest));
});

test('a blob whose bytes are not its digest is a DigestMismatch naming the digest', async () => {
  proxy.corrupt = image.config.digest;
  await expect(client.fetchSmallBlob(`${proxy.host}/small/app:v1`, image.config.digest)).rejects.toMatchObject({
    code: 'DigestMismatch',
    message: `blob verification failed for digest ${image.config.digest}`,
  });
});

test('a blob larger than a document may be is refused as ResourceExhausted, naming it', async () => {
  const layer = image.layers[0]!;
  await expect(client.fetchSmallBlob(`${proxy.host}/small/app:v1`, layer.digest)).rejects.toMatchObject({
    code: 'ResourceExhausted',
    message: `blob ${shortId(layer.digest)} of ${proxy.host}/small/app is larger than ${MAX_DOCUMENT_BYTES} bytes; refusing to read it`,
  });
});
