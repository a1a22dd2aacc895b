/**
 * Registry mirrors for docker.io, end to end: `busybox` (docker.io/library/busybox:latest)
 * is pulled from a mirror (ctr's RegistryServer) when the mirror has it, and from the
 * upstream when the mirror lacks it, is down or dies mid-layer — as dockerd's
 * registry-mirrors do. The upstream standing in for Docker Hub is the Debian
 * `docker-registry` on 127.0.0.1 (through `dockerHubEndpoint`), and a guard refuses any
 * connection outside 127.0.0.0/8, so nothing here can reach the real Docker Hub.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OciLayout, parseManifestOrIndex, type Descriptor } from '@ctr/image';
import { openStore, type Store } from '@ctr/store';
import { RegistryClient, type RegistryClientOptions } from '@ctr/registry';
import { DOCKER_HUB_API } from '../src/endpoint';
import { FaultProxy } from './support/fault-proxy';
import { readAll } from './support/images';
import { loopbackOnly, type LoopbackGuard } from './support/loopback-only';
import { freePort, layoutManifest, makeBusyboxLayout, startDockerRegistry, type DockerRegistry } from './support/processes';
import { startRegistry, type RunningRegistry } from './support/servers';

let work: string;
let busybox: Descriptor;
let busyboxLayer: () => Descriptor;
let upstream: DockerRegistry;
let mirror: RunningRegistry;
let emptyMirror: RunningRegistry;
let guard: LoopbackGuard;
const proxies: FaultProxy[] = [];
let store: Store;
let client: RegistryClient | undefined;

beforeAll(async () => {
  guard = loopbackOnly();
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-mirrors-'));
  const layoutDir = await makeBusyboxLayout(work);
  const layout = await OciLayout.open(layoutDir);
  busybox = await layoutManifest(layoutDir);
  const manifest = parseManifestOrIndex(await readAll(await layout.read(busybox.digest)), busybox.mediaType);
  if (manifest.kind !== 'manifest') throw new Error('the busybox layout holds an index, not an image manifest');
  busyboxLayer = () => manifest.manifest.layers[0]!;
  upstream = await startDockerRegistry();
  mirror = await startRegistry();
  emptyMirror = await startRegistry();
  const pusher = new RegistryClient({ credentials: {} });
  await pusher.push(`${upstream.host}/library/busybox:latest`, { store: layout, manifest: busybox });
  await pusher.push(`${mirror.host}/library/busybox:latest`, { store: layout, manifest: busybox });
  await pusher.close();
});

afterAll(async () => {
  await upstream?.stop();
  await mirror?.stop();
  await emptyMirror?.stop();
  await fs.rm(work, { recursive: true, force: true });
  guard.restore();
});

beforeEach(async () => {
  store = await openStore({ root: await fs.mkdtemp(path.join(work, 'store-')) });
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  for (const proxy of proxies.splice(0)) await proxy.close();
  expect(guard.refused).toEqual([]);
});

/** A request-recording front for a registry on 127.0.0.1. */
async function front(url: string): Promise<FaultProxy> {
  const proxy = new FaultProxy(url);
  await proxy.listen();
  proxies.push(proxy);
  return proxy;
}

function clientWith(options: RegistryClientOptions): RegistryClient {
  client = new RegistryClient({ credentials: {}, ...options });
  return client;
}

test('busybox comes from the docker.io mirror, and the upstream is never asked', async () => {
  const [viaMirror, viaUpstream] = [await front(mirror.url), await front(upstream.url)];
  const pulled = await clientWith({ mirrors: [`http://${viaMirror.host}`], dockerHubEndpoint: `http://${viaUpstream.host}` }).pull('busybox', { store: store.content });

  expect(pulled.reference).toMatchObject({ domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
  expect(pulled.manifest.digest).toBe(busybox.digest);
  expect(viaMirror.seen).toContainEqual({ method: 'GET', url: '/v2/library/busybox/manifests/latest' });
  for (const blob of [pulled.config, ...pulled.layers]) {
    expect(viaMirror.seen).toContainEqual({ method: 'GET', url: `/v2/library/busybox/blobs/${blob.digest}` });
    await expect(store.content.info(blob.digest)).resolves.toEqual({ digest: blob.digest, size: blob.size });
  }
  expect(viaUpstream.seen).toEqual([]);
});

test('a mirror without the image: the pull falls back to the upstream', async () => {
  const [viaMirror, viaUpstream] = [await front(emptyMirror.url), await front(upstream.url)];
  const pulled = await clientWith({ mirrors: [`http://${viaMirror.host}`], dockerHubEndpoint: `http://${viaUpstream.host}` }).pull('busybox:latest', { store: store.content });

  expect(pulled.manifest.digest).toBe(busybox.digest);
  expect(viaMirror.seen).toEqual([{ method: 'GET', url: '/v2/library/busybox/manifests/latest' }]);
  expect(viaUpstream.seen).toContainEqual({ method: 'GET', url: '/v2/library/busybox/manifests/latest' });
  await expect(store.content.info(busybox.digest)).resolves.toEqual({ digest: busybox.digest, size: busybox.size });
});

test('a mirror that is down: the pull falls back to the upstream', async () => {
  const viaUpstream = await front(upstream.url);
  const closedPort = await freePort();
  const pulled = await clientWith({ mirrors: [`http://127.0.0.1:${closedPort}`], dockerHubEndpoint: `http://${viaUpstream.host}` }).pull('busybox', { store: store.content });

  expect(pulled.manifest.digest).toBe(busybox.digest);
  expect(viaUpstream.seen).toContainEqual({ method: 'GET', url: '/v2/library/busybox/manifests/latest' });
});

test('mirrors are tried in order: the first that has the image serves it', async () => {
  const [first, second, viaUpstream] = [await front(emptyMirror.url), await front(mirror.url), await front(upstream.url)];
  const pulled = await clientWith({ mirrors: [`http://${first.host}`, `http://${second.host}`], dockerHubEndpoint: `http://${viaUpstream.host}` }).pull('busybox', { store: store.content });

  expect(pulled.manifest.digest).toBe(busybox.digest);
  expect(first.seen).toHaveLength(1);
  expect(second.seen).toContainEqual({ method: 'GET', url: `/v2/library/busybox/blobs/${pulled.layers[0]!.digest}` });
  expect(viaUpstream.seen).toEqual([]);
});

test('a mirror cut off mid-layer: the upstream resumes the layer from the bytes the mirror sent', async () => {
  const [viaMirror, viaUpstream] = [await front(mirror.url), await front(upstream.url)];
  const layer = busyboxLayer();
  viaMirror.dropOnce = { digest: layer.digest, bytes: Math.floor(layer.size / 2) };

  const pulled = await clientWith({ mirrors: [`http://${viaMirror.host}`], dockerHubEndpoint: `http://${viaUpstream.host}` }).pull('busybox', { store: store.content });

  expect(pulled.manifest.digest).toBe(busybox.digest);
  expect(viaMirror.seen).toContainEqual({ method: 'GET', url: `/v2/library/busybox/blobs/${layer.digest}` });
  const resumed = viaUpstream.seen.find((r) => r.url === `/v2/library/busybox/blobs/${layer.digest}`);
  expect(resumed?.range).toMatch(/^bytes=[1-9]\d*-$/);
  await expect(store.content.info(layer.digest)).resolves.toEqual({ digest: layer.digest, size: layer.size });
  expect(await store.content.ingests()).toEqual([]);
});

test('a mirror sending a layer whose bytes are not its digest: the pull takes the layer from the upstream', async () => {
  const [viaMirror, viaUpstream] = [await front(mirror.url), await front(upstream.url)];
  const layer = busyboxLayer();
  viaMirror.corrupt = layer.digest;

  const pulled = await clientWith({ mirrors: [`http://${viaMirror.host}`], dockerHubEndpoint: `http://${viaUpstream.host}` }).pull('busybox', { store: store.content });

  expect(pulled.manifest.digest).toBe(busybox.digest);
  expect(viaMirror.seen).toContainEqual({ method: 'GET', url: `/v2/library/busybox/blobs/${layer.digest}` });
  // The mirror's bytes are not resumed from: the upstream sends the whole layer.
  expect(viaUpstream.seen).toContainEqual({ method: 'GET', url: `/v2/library/busybox/blobs/${layer.digest}` });
  await expect(store.content.info(layer.digest)).resolves.toEqual({ digest: layer.digest, size: layer.size });
  expect(await store.content.ingests()).toEqual([]);
});

test("a mirror cut off mid-layer after wrong bytes: the upstream's resumed layer fails its digest, and one whole download from the upstream completes the pull", async () => {
  const [viaMirror, viaUpstream] = [await front(mirror.url), await front(upstream.url)];
  const layer = busyboxLayer();
  viaMirror.corrupt = layer.digest;
  viaMirror.dropOnce = { digest: layer.digest, bytes: Math.floor(layer.size / 2) };

  const pulled = await clientWith({ mirrors: [`http://${viaMirror.host}`], dockerHubEndpoint: `http://${viaUpstream.host}` }).pull('busybox', { store: store.content });

  expect(pulled.manifest.digest).toBe(busybox.digest);
  const fromUpstream = viaUpstream.seen.filter((r) => r.url === `/v2/library/busybox/blobs/${layer.digest}`);
  expect(fromUpstream.map((r) => r.range)).toEqual([expect.stringMatching(/^bytes=[1-9]\d*-$/), undefined]);
  await expect(store.content.info(layer.digest)).resolves.toEqual({ digest: layer.digest, size: layer.size });
  expect(await store.content.ingests()).toEqual([]);
});

test('an image neither the mirror nor the upstream has is NotFound, as the upstream says', async () => {
  const [viaMirror, viaUpstream] = [await front(emptyMirror.url), await front(upstream.url)];
  const pull = clientWith({ mirrors: [`http://${viaMirror.host}`], dockerHubEndpoint: `http://${viaUpstream.host}` }).pull('nosuchimage', { store: store.content });

  await expect(pull).rejects.toMatchObject({ code: 'NotFound', message: expect.stringContaining('docker.io/library/nosuchimage') });
  expect(viaUpstream.seen).toEqual([{ method: 'GET', url: '/v2/library/nosuchimage/manifests/latest' }]);
  expect(await fs.readdir(store.paths.blobs)).toEqual([]);
});

test('pushes to docker.io never go to a mirror', async () => {
  const [viaMirror, viaUpstream] = [await front(mirror.url), await front(upstream.url)];
  const layout = await OciLayout.open(path.join(work, 'busybox-layout'));
  await clientWith({ mirrors: [`http://${viaMirror.host}`], dockerHubEndpoint: `http://${viaUpstream.host}` }).push('mine/busybox:v1', { store: layout, manifest: busybox });

  expect(viaMirror.seen).toEqual([]);
  expect(viaUpstream.seen).toContainEqual({ method: 'PUT', url: '/v2/mine/busybox/manifests/v1' });
});

test('an invalid Docker Hub endpoint is InvalidArgument', async () => {
  await expect(clientWith({ dockerHubEndpoint: 'ftp://127.0.0.1' }).pull('busybox', { store: store.content })).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test('the guard holds: a pull of busybox with no Docker Hub override is refused before any lookup', async () => {
  const pull = clientWith({ mirrors: [`http://127.0.0.1:${await freePort()}`] }).pull('busybox', { store: store.content });

  await expect(pull).rejects.toMatchObject({ code: 'Unavailable' });
  expect(guard.refused).toEqual([new URL(DOCKER_HUB_API).hostname]);
  guard.refused.length = 0;
});
