/**
 * The round trips a Docker user makes with a private registry, against ctr's registry server
 * on 127.0.0.1 behind a proxy that records what goes up. The registry holds `multi:1`, an
 * index of three platforms (this host's, and two others); a pull keeps one of them.
 *
 * - A pulled multi-platform image pushes the manifest of the platform it holds (dockerd's
 *   fallback, `ManifestPushedInsteadOfIndex`); with every platform here it pushes the index.
 * - Blobs that images here hold under another repository of the same registry are mounted
 *   from there (`?mount=&from=`), not uploaded: a re-tag, a commit, a build FROM a pulled image.
 * - What is pushed pulls back into a fresh root, with the same digest, and runs.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PushedImage } from '@ctr/engine';
import {
  createBusyboxRootfs,
  formatPlatform,
  hostPlatform,
  importRootfs,
  MediaTypes,
  MemoryContentStore,
  parsePlatform,
  type Descriptor,
  type Platform,
} from '@ctr/image';
import { RegistryClient, RegistryServer, type PushProgress } from '@ctr/registry';
import { testEngine, type TestEngine } from './fixture';

/** A registry's front door that records each request and the body bytes each blob upload carried. */
class RecordingProxy {
  readonly requests: Array<{ method: string; url: string }> = [];
  /** Body bytes sent to upload sessions (PATCH, and PUT with the blob), by the digest the PUT named. */
  readonly uploaded = new Map<string, number>();
  private readonly server: Server;
  host = '';

  constructor(private readonly upstream: string) {
    this.server = createServer((req, res) => {
      void this.forward(req, res).catch(() => res.destroy());
    });
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    this.requests.push({ method, url });
    let bytes = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done): void {
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    const headers = { ...req.headers, host: new URL(this.upstream).host };
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      const out = request(`${this.upstream}${url}`, { method, headers }, resolve).on('error', reject);
      pipeline(req, counted, out).catch(reject);
    });
    const digest = new URL(url, 'http://x').searchParams.get('digest');
    if (url.includes('/blobs/uploads/') && bytes > 0) this.uploaded.set(digest ?? 'chunk', (this.uploaded.get(digest ?? 'chunk') ?? 0) + bytes);
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    await pipeline(answer, res);
  }

  /** Forget what was recorded so far. */
  reset(): void {
    this.requests.length = 0;
    this.uploaded.clear();
  }

  get uploadedBytes(): number {
    return [...this.uploaded.values()].reduce((sum, n) => sum + n, 0);
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const HOST = hostPlatform();
const OTHER = parsePlatform(HOST.architecture === 'arm64' ? 'linux/amd64' : 'linux/arm64');
const THIRD = parsePlatform('linux/s390x');

let t: TestEngine;
let work: string;
let upstream: RegistryServer;
let proxy: RecordingProxy;
let client: RegistryClient;
/** What the registry's `multi:1` is: its index and each platform's manifest. */
let multi: { index: Descriptor; host: Descriptor; other: Descriptor; third: Descriptor };
let host: string;

/**
 * `multi:1` into the registry, from outside any engine: this host's platform a busybox that
 * runs, the others a file naming their platform.
 */
async function seedMulti(): Promise<typeof multi> {
  const store = new MemoryContentStore();
  const busybox = join(work, 'busybox');
  await createBusyboxRootfs(busybox);
  const image = async (platform: Platform): Promise<Descriptor> => {
    if (platform === HOST) return (await importRootfs(store, { dir: busybox }, { platform, config: { Cmd: ['sh'] } })).manifest;
    const dir = await mkdtemp(join(work, 'rootfs-'));
    await writeFile(join(dir, 'platform'), formatPlatform(platform));
    return (await importRootfs(store, { dir }, { platform })).manifest;
  };
  const [own, other, third] = [await image(HOST), await image(OTHER), await image(THIRD)];
  const bytes = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [
      { ...own, platform: HOST },
      { ...other, platform: OTHER },
      { ...third, platform: THIRD },
    ],
  }));
  const written = await store.write(Readable.from([bytes]));
  const index: Descriptor = { mediaType: MediaTypes.ociIndex, digest: written.digest, size: written.size };
  await client.push(`${host}/multi:1`, { store, manifest: index });
  return { index, host: own, other, third };
}

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-engine-push-round-trips-'));
  upstream = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  proxy = new RecordingProxy(await upstream.listen());
  await proxy.listen();
  host = proxy.host;
  client = new RegistryClient({ credentials: {} });
  multi = await seedMulti();
  await t.engine.pull(`${host}/multi:1`);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await proxy?.close();
  await upstream?.close();
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Push `ref` from `engine`, with what the registry was sent and the layers' last statuses. */
async function push(ref: string, engine = t.engine): Promise<{ pushed: PushedImage; layers: Map<string, string> }> {
  proxy.reset();
  const layers = new Map<string, string>();
  const onProgress = (event: PushProgress): void => {
    if (event.kind === 'layer' && event.status !== 'Pushing') layers.set(event.digest, event.status);
  };
  return { pushed: await engine.push(ref, { onProgress }), layers };
}

/** The blob digests that went up as bytes (not mounted, not already there). */
function uploadedDigests(): string[] {
  return [...proxy.uploaded.keys()].sort();
}

describe('a pulled multi-platform image, tagged into another repository and pushed', () => {
  let result: Awaited<ReturnType<typeof push>>;
  beforeAll(async () => {
    await t.engine.tag(`${host}/multi:1`, `${host}/other:1`);
    result = await push(`${host}/other:1`);
  });

  test('sends the manifest of the platform the pull kept, saying the index was not pushed', async () => {
    expect(result.pushed).toMatchObject({
      digest: multi.host.digest,
      size: multi.host.size,
      pushedInsteadOfIndex: { originalIndex: { digest: multi.index.digest }, selectedManifest: { digest: multi.host.digest } },
    });
    expect((await client.resolve(`${host}/other:1`)).digest).toBe(multi.host.digest);
  });

  test('mounts every layer from the repository it was pulled from, uploading no bytes', () => {
    expect([...result.layers.values()]).toEqual(['Mounted from multi']);
    expect(proxy.requests.filter((r) => r.method === 'POST').every((r) => r.url.includes('from=multi'))).toBe(true);
    expect(proxy.uploadedBytes).toBe(0);
  });

  test('pulls back into a fresh root with the same digest, and runs', async () => {
    const fresh = await testEngine();
    try {
      const pulled = await fresh.engine.pull(`${host}/other:1`);
      expect(pulled.manifest.digest).toBe(multi.host.digest);
      const run = await fresh.engine.run({ image: `${host}/other:1`, cmd: ['true'], network: 'none', pull: 'never', autoRemove: true });
      expect(run.exitCode).toBe(0);
    } finally {
      await fresh.cleanup();
    }
  });
});

test('the same image pushed again to the same repository: every layer already exists, the digest unchanged', async () => {
  await t.engine.tag(`${host}/multi:1`, `${host}/again:1`);
  const first = await push(`${host}/again:1`);
  const second = await push(`${host}/again:1`);
  expect(second.pushed.digest).toBe(first.pushed.digest);
  expect([...second.layers.values()]).toEqual(['Layer already exists']);
  expect(proxy.uploadedBytes).toBe(0);
});

test('an image whose every platform is here pushes its index, each platform with it', async () => {
  const every = await testEngine();
  try {
    for (const platform of [OTHER, THIRD, HOST]) await every.engine.pull(`${host}/multi:1`, { platform });
    await every.engine.tag(`${host}/multi:1`, `${host}/every:1`);
    const { pushed } = await push(`${host}/every:1`, every.engine);
    expect(pushed).toEqual({ digest: multi.index.digest, size: multi.index.size });
    for (const child of [multi.host, multi.other, multi.third]) expect((await client.resolve(`${host}/every@${child.digest}`)).digest).toBe(child.digest);
  } finally {
    await every.cleanup();
  }
});

test('several platforms here, none of them this host\'s, and not all of the index: Conflict in dockerd\'s words, nothing pushed', async () => {
  const other = await testEngine();
  try {
    await other.engine.pull(`${host}/multi:1`, { platform: OTHER });
    await other.engine.pull(`${host}/multi:1`, { platform: THIRD });
    await other.engine.tag(`${host}/multi:1`, `${host}/ambiguous:1`);
    await expect(other.engine.push(`${host}/ambiguous:1`)).rejects.toMatchObject({
      code: 'Conflict',
      message: 'multiple matching manifests found but no specific platform requested',
    });
    await expect(client.resolve(`${host}/ambiguous:1`)).rejects.toMatchObject({ code: 'NotFound' });
  } finally {
    await other.cleanup();
  }
});

test('an image pushed, saved and loaded into another root pushes with the same digest, its layers mounted from where it was pushed', async () => {
  await t.engine.tag(`${host}/multi:1`, `${host}/saved:1`);
  await push(`${host}/saved:1`);
  const loader = await testEngine();
  try {
    await loader.engine.load(await t.engine.save([`${host}/saved:1`]));
    await loader.engine.tag(`${host}/saved:1`, `${host}/loaded:1`);
    const { pushed, layers } = await push(`${host}/loaded:1`, loader.engine);
    expect(pushed.digest).toBe(multi.host.digest);
    expect([...layers.values()]).toEqual(['Mounted from saved']);
  } finally {
    await loader.cleanup();
  }
});

test('a committed image pushes its own layer and config; the base layer is mounted', async () => {
  const { id } = await t.engine.run({ image: `${host}/multi:1`, cmd: ['sh', '-c', 'echo committed > /committed'], network: 'none', pull: 'never' });
  await t.engine.commit(id, { reference: `${host}/committed:1` });
  const image = await t.engine.inspectImage(`${host}/committed:1`);
  const { pushed, layers } = await push(`${host}/committed:1`);
  // dockerd's order: the top layer is said first.
  const [own, base] = [...layers.keys()];
  expect([layers.get(base!), layers.get(own!)]).toEqual([expect.stringMatching(/^Mounted from /), 'Pushed']);
  expect(uploadedDigests()).toEqual([image.Id, own].sort());
  expect((await client.resolve(`${host}/committed:1`)).digest).toBe(pushed.digest);
});

test('an image built FROM a pulled image mounts the base layers from their repository: only its own layer and config go up', async () => {
  const context = join(work, 'context');
  await mkdir(context, { recursive: true });
  await writeFile(join(context, 'Dockerfile'), `FROM ${host}/multi:1\nCOPY built /built\n`);
  await writeFile(join(context, 'built'), 'built on a pulled image\n');
  await t.engine.build({ context, tags: [`${host}/built:1`] });
  const image = await t.engine.inspectImage(`${host}/built:1`);
  const { layers } = await push(`${host}/built:1`);
  // dockerd's order: the top layer is said first.
  const [own, base] = [...layers.keys()];
  expect([layers.get(base!), layers.get(own!)]).toEqual([expect.stringMatching(/^Mounted from /), 'Pushed']);
  expect(uploadedDigests()).toEqual([image.Id, own].sort());
});

test('an image pulled by digest, tagged, pushes by tag with that digest', async () => {
  const pulled = await testEngine();
  try {
    await pulled.engine.pull(`${host}/multi@${multi.host.digest}`);
    await pulled.engine.tag(`${host}/multi@${multi.host.digest}`, `${host}/bydigest:1`);
    const { pushed, layers } = await push(`${host}/bydigest:1`, pulled.engine);
    expect(pushed).toEqual({ digest: multi.host.digest, size: multi.host.size });
    expect([...layers.values()]).toEqual(['Mounted from multi']);
  } finally {
    await pulled.cleanup();
  }
});
