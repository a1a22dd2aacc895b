/**
 * RegistryClient.fetchSmallBlob through a docker.io registry mirror: like the rest of a pull,
 * it reads from the mirror first and goes on to the upstream when the mirror fails it — wrong
 * bytes included, as dockerd's continueOnError does for mirror endpoints. Mirror and upstream
 * are both ctr registries on 127.0.0.1 (the upstream through `dockerHubEndpoint`), and a guard
 * refuses any connection outside 127.0.0.0/8.
 */
import { MemoryContentStore } from '@ctr/image';
import { RegistryClient } from '@ctr/registry';
import { FaultProxy } from './support/fault-proxy';
import { makeImage, type TestImage } from './support/images';
import { loopbackOnly, type LoopbackGuard } from './support/loopback-only';
import { freePort } from './support/processes';
import { startRegistry, type RunningRegistry } from './support/servers';

let guard: LoopbackGuard;
let mirror: RunningRegistry;
let emptyMirror: RunningRegistry;
let upstream: RunningRegistry;
let image: TestImage;
let configUrl: string;
const proxies: FaultProxy[] = [];
let client: RegistryClient | undefined;

beforeAll(async () => {
  guard = loopbackOnly();
  [mirror, emptyMirror, upstream] = [await startRegistry(), await startRegistry(), await startRegistry()];
  const local = new MemoryContentStore();
  image = await makeImage(local);
  configUrl = `/v2/library/app/blobs/${image.config.digest}`;
  const pusher = new RegistryClient({ credentials: {} });
  for (const registry of [mirror, upstream]) await pusher.push(`${registry.host}/library/app:v1`, { store: local, manifest: image.manifest });
  await pusher.close();
});

afterAll(async () => {
  await mirror?.stop();
  await emptyMirror?.stop();
  await upstream?.stop();
  guard.restore();
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  for (const proxy of proxies.splice(0)) await proxy.close();
  expect(guard.refused).toEqual([]);
});

/** A request-recording front for a registry on 127.0.0.1. */
async function front(registry: RunningRegistry): Promise<FaultProxy> {
  const proxy = new FaultProxy(registry.url);
  await proxy.listen();
  proxies.push(proxy);
  return proxy;
}

/** The config of docker.io/library/app, read through `mirror` first, then `hub`. */
function fetchConfig(mirrorOrigin: string, hub: FaultProxy): Promise<Buffer> {
  client = new RegistryClient({ credentials: {}, mirrors: [mirrorOrigin], dockerHubEndpoint: `http://${hub.host}` });
  return client.fetchSmallBlob('app:v1', image.config.digest);
}

test('a blob the mirror has is read from the mirror, and the upstream is never asked', async () => {
  const [viaMirror, viaUpstream] = [await front(mirror), await front(upstream)];

  expect(await fetchConfig(`http://${viaMirror.host}`, viaUpstream)).toEqual(image.blobs.get(image.config.digest));
  expect(viaMirror.seen).toContainEqual({ method: 'GET', url: configUrl });
  expect(viaUpstream.seen).toEqual([]);
});

test('a mirror sending bytes that are not the digest: the blob is read again from the upstream', async () => {
  const [viaMirror, viaUpstream] = [await front(mirror), await front(upstream)];
  viaMirror.corrupt = image.config.digest;

  expect(await fetchConfig(`http://${viaMirror.host}`, viaUpstream)).toEqual(image.blobs.get(image.config.digest));
  expect(viaMirror.seen).toContainEqual({ method: 'GET', url: configUrl });
  expect(viaUpstream.seen).toContainEqual({ method: 'GET', url: configUrl });
});

test('a mirror without the blob: it is read from the upstream', async () => {
  const [viaMirror, viaUpstream] = [await front(emptyMirror), await front(upstream)];

  expect(await fetchConfig(`http://${viaMirror.host}`, viaUpstream)).toEqual(image.blobs.get(image.config.digest));
  expect(viaMirror.seen).toEqual([{ method: 'GET', url: configUrl }]);
  expect(viaUpstream.seen).toContainEqual({ method: 'GET', url: configUrl });
});

test('a mirror that is down: the blob is read from the upstream', async () => {
  const viaUpstream = await front(upstream);

  expect(await fetchConfig(`http://127.0.0.1:${await freePort()}`, viaUpstream)).toEqual(image.blobs.get(image.config.digest));
  expect(viaUpstream.seen).toContainEqual({ method: 'GET', url: configUrl });
});

test('wrong bytes from the upstream too are a DigestMismatch: the upstream has the last word', async () => {
  const [viaMirror, viaUpstream] = [await front(mirror), await front(upstream)];
  viaMirror.corrupt = image.config.digest;
  viaUpstream.corrupt = image.config.digest;

  await expect(fetchConfig(`http://${viaMirror.host}`, viaUpstream)).rejects.toMatchObject({
    code: 'DigestMismatch',
    message: `blob verification failed for digest ${image.config.digest}`,
  });
});
