/**
 * Compose projects as OCI artifacts, against ctr's registry server on 127.0.0.1: `publish`
 * (compose's manifest shapes, layers, annotations, refusals and questions) and loading back
 * through `-f oci://…` and `include: oci://…`, as docker compose does.
 */
import { createServer, type Server } from 'node:http';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Engine } from '@ctr/engine';
import {
  createManifest,
  digestOf,
  MediaTypes,
  MemoryContentStore,
  parseManifest,
  serializeIndex,
  serializeManifest,
  type Descriptor,
  type Digest,
  type ImageManifest,
} from '@ctr/image';
import { issueRegistryToken, RegistryClient, RegistryServer, type AccessGrant } from '@ctr/registry';
import { FaultProxy } from '../../registry/test/support/fault-proxy';
import { loadProject, projectConfig } from '../src/load';
import type { ComposeProject } from '../src/model';
import { ComposeAnnotations, ComposeMediaTypes } from '../src/oci';
import { isPublishCanceled, publish, type PublishOptions } from '../src/publish';
import { fixture, removeFixtures } from './load-support';

let registry: RegistryServer;
let client: RegistryClient;
let work: string;
/** The environment every load runs with: no docker config of the machine's, a cache of the test's own. */
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-compose-oci-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
  env = { DOCKER_CONFIG: join(work, 'docker'), XDG_CACHE_HOME: join(work, 'cache') };
  client = new RegistryClient({ dockerConfig: { env } });
});

afterAll(async () => {
  await client?.close();
  await registry?.close();
  await removeFixtures();
  await rm(work, { recursive: true, force: true });
});

/** A project in a fresh directory, loaded as `ctr compose` loads it. */
async function project(files: Record<string, string>): Promise<ComposeProject> {
  return loadProject({ cwd: await fixture(files), env });
}

const yes = (): Promise<boolean> => Promise.resolve(true);

async function published(files: Record<string, string>, tag: string, options: Partial<PublishOptions> = {}): Promise<string> {
  const repository = `${registry.host}/compose/${tag}`;
  await publish(await project(files), repository, { client, confirm: yes, ...options });
  return repository;
}

async function manifestOf(repository: string): Promise<ImageManifest> {
  const fetched = await client.fetchManifest(repository);
  return parseManifest(fetched.bytes, fetched.descriptor.mediaType);
}

const fromOci = (repository: string, extra: Record<string, string> = {}): Promise<ComposeProject> =>
  loadProject({ cwd: work, env: { ...env, ...extra }, files: [`oci://${repository}`] });

const WEB = 'name: shop\nservices:\n  web:\n    image: busybox\n    command: ["sleep", "1d"]\n    ports: ["8080:80"]\n';

describe('publish', () => {
  test('pushes an OCI 1.1 artifact: compose artifactType, the empty config, one layer per compose file', async () => {
    const repository = await published({ 'compose.yaml': WEB, 'compose.override.yaml': 'services:\n  web:\n    labels: [tier=front]\n' }, 'shape:1');
    const manifest = await manifestOf(repository);
    expect(manifest.artifactType).toBe(ComposeMediaTypes.project);
    expect(manifest.config).toMatchObject({ mediaType: MediaTypes.ociEmpty, digest: digestOf(Buffer.from('{}')), size: 2 });
    expect(manifest.layers.map((layer) => [layer.mediaType, layer.annotations?.[ComposeAnnotations.file]])).toEqual([
      [ComposeMediaTypes.file, 'compose.yaml'],
      [ComposeMediaTypes.file, 'compose.override.yaml'],
    ]);
    expect(manifest.layers[0]?.annotations?.[ComposeAnnotations.version]).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.annotations?.['org.opencontainers.image.created']).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  test('--oci-version 1.0 marks the config instead of an artifactType', async () => {
    const repository = await published({ 'compose.yaml': WEB }, 'shape:1.0', { ociVersion: '1.0' });
    const manifest = await manifestOf(repository);
    expect(manifest.artifactType).toBeUndefined();
    expect(manifest.config.mediaType).toBe(ComposeMediaTypes.emptyConfig);
  });

  test('a dry run checks and builds everything but pushes nothing', async () => {
    const repository = `${registry.host}/compose/dry:1`;
    const result = await publish(await project({ 'compose.yaml': WEB }), repository, { client, dryRun: true });
    expect(result.reference).toBe(repository);
    await expect(client.fetchManifest(repository)).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('reports publishing, then published, under the repository name', async () => {
    const events: string[] = [];
    await published({ 'compose.yaml': WEB }, 'events:1', { onProgress: (event) => events.push(`${event.name} ${event.status}`) });
    expect(events).toEqual([`${registry.host}/compose/events:1 publishing`, `${registry.host}/compose/events:1 published`]);
  });

  test('refuses services with only a build section, naming them', async () => {
    const files = { 'compose.yaml': 'services:\n  b:\n    build: .\n  a:\n    build: .\n  ok:\n    image: busybox\n' };
    await expect(published(files, 'refused:build')).rejects.toThrow('your Compose stack cannot be published as it only contains a build section for service(s):\n- "a"\n- "b"');
  });

  test('refuses a project with a local include', async () => {
    const files = { 'compose.yaml': 'include: [other.yaml]\nservices:\n  web:\n    image: busybox\n', 'other.yaml': 'services:\n  db:\n    image: busybox\n' };
    await expect(published(files, 'refused:include')).rejects.toThrow('cannot publish compose file with local includes');
  });

  test('asks before publishing bind mount declarations; no is compose\'s cancel', async () => {
    const questions: string[] = [];
    const files = { 'compose.yaml': 'services:\n  web:\n    image: busybox\n    volumes: ["/srv/data:/user-data:ro"]\n' };
    const refused = published(files, 'asked:bind', { confirm: (question) => Promise.resolve(Boolean(questions.push(question)) && false) });
    expect(isPublishCanceled(await refused.catch((error: unknown) => error))).toBe(true);
    expect(questions).toEqual([
      'you are about to publish bind mounts declaration within your OCI artifact.\n' +
        'only the bind mount declarations will be added to the OCI artifact (not content)\n' +
        "please double check that you are not mounting potential user's sensitive directories or data\n" +
        'web/srv/data:/user-data:ro\n' +
        'Are you ok to publish these bind mount declarations?',
    ]);
  });

  test('without a way to ask, a question is answered no', async () => {
    const files = { 'compose.yaml': 'services:\n  web:\n    image: busybox\n    volumes: ["/srv:/srv"]\n' };
    const refused = publish(await project(files), `${registry.host}/compose/asked:none`, { client });
    expect(isPublishCanceled(await refused.catch((error: unknown) => error))).toBe(true);
  });

  test('asks about env_file and literal sensitive values, not interpolated ones', async () => {
    const questions: string[] = [];
    const files = {
      'compose.yaml': 'services:\n  web:\n    image: busybox\n    env_file: web.env\n    environment:\n      DB_PASSWORD: hunter22\n      API_KEY: ${KEY}\n      MODE: prod\n',
      'web.env': 'A=1\n',
    };
    await published(files, 'asked:env', { confirm: (question) => Promise.resolve(questions.push(question) > 0) });
    expect(questions).toEqual([
      'you are about to publish env-related declarations within your OCI artifact.\n' +
        'env_file paths and literal values for sensitive-looking keys are embedded as-is in the published YAML;\n' +
        'interpolated values like "${VAR}" are kept symbolic and have already been excluded.\n' +
        '  service "web": env_file declared\n' +
        '  service "web": literal value for "DB_PASSWORD"\n' +
        'Use --with-env to silence this prompt and always publish env declarations.\n' +
        'Are you ok to publish these env declarations?',
    ]);
  });

  test('--with-env publishes env declarations without asking, and the env files as layers', async () => {
    const files = { 'compose.yaml': 'services:\n  web:\n    image: busybox\n    env_file: web.env\n    environment:\n      DB_PASSWORD: hunter22\n', 'web.env': 'GREETING=hello\n' };
    const repository = await published(files, 'env:1', { withEnv: true, confirm: undefined });
    const layers = (await manifestOf(repository)).layers;
    expect(layers.map((layer) => layer.mediaType)).toEqual([ComposeMediaTypes.file, ComposeMediaTypes.envFile]);
    expect(layers[1]?.annotations?.[ComposeAnnotations.envFile]).toMatch(/^[0-9a-f]{64}\.env$/);
  });

  test('asks about literal inline config content even with --with-env', async () => {
    const questions: string[] = [];
    const files = { 'compose.yaml': 'services:\n  web:\n    image: busybox\nconfigs:\n  motd:\n    content: welcome home\n  templated:\n    content: ${MOTD}\n' };
    await published(files, 'asked:config', { withEnv: true, confirm: (question) => Promise.resolve(questions.push(question) > 0) });
    expect(questions).toEqual(['you are about to publish literal inline config content within your OCI artifact.\n  config "motd"\nAre you ok to publish these config contents?']);
  });

  test('refuses a repository that is no valid reference', async () => {
    await expect(published({ 'compose.yaml': WEB }, 'Upper:1')).rejects.toThrow(/^invalid reference format/);
  });

  test('--resolve-image-digests adds a compose file pinning each image to its digest', async () => {
    const image = `${registry.host}/compose/pinned:1`;
    const pushed = await pushImage(image);
    const repository = await published({ 'compose.yaml': `services:\n  web:\n    image: ${image}\n` }, 'digests:1', { resolveImageDigests: true });
    const manifest = await manifestOf(repository);
    expect(manifest.layers.map((layer) => layer.annotations?.[ComposeAnnotations.file])).toEqual(['compose.yaml', 'image-digests.yaml']);
    expect((await fromOci(repository)).services.web?.image).toBe(`${image}@${pushed}`);
  });
});

describe('publish, with an engine', () => {
  test('pushes the built images of services profiles leave out too, as compose publishes with every profile on', async () => {
    const engine = new Engine({ root: join(work, 'engine'), runRoot: join(work, 'engine-run') });
    const image = `${registry.host}/compose/tools:1`;
    const rootfs = await mkdtemp(join(work, 'rootfs-'));
    await writeFile(join(rootfs, 'tool'), 'tool\n');
    const { manifest } = await engine.importImage({ dir: rootfs }, { name: image });
    const files = { 'compose.yaml': `services:\n  web:\n    image: busybox\n  tools:\n    profiles: [debug]\n    build: .\n    image: ${image}\n` };
    await published(files, 'profiles:1', { engine });
    expect((await client.fetchManifest(image)).descriptor.digest).toBe(manifest.digest);
  });
});

describe('publish --app', () => {
  /** The artifact's registry, every request to it seen on the way. */
  let seen: FaultProxy;
  /** Another registry, with the images no mount can reach, seen the same way. */
  let other: RegistryServer;
  let otherSeen: FaultProxy;

  beforeAll(async () => {
    seen = new FaultProxy(registry.url);
    other = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'other-registry') });
    await other.listen();
    otherSeen = new FaultProxy(other.url);
    await seen.listen();
    await otherSeen.listen();
  });

  afterAll(async () => {
    await seen?.close();
    await otherSeen?.close();
    await other?.close();
  });

  /** The requests `proxy` saw while `publish --app` ran, as `METHOD /path?query`. */
  async function requestsOf(proxy: FaultProxy, image: string, repository: string): Promise<string[]> {
    proxy.seen.length = 0;
    await publish(await project({ 'compose.yaml': `services:\n  web:\n    image: ${image}\n` }), repository, { client, confirm: yes, app: true });
    return proxy.seen.map(({ method, url }) => `${method} ${url}`);
  }

  const mounts = (requests: readonly string[], blobs: readonly Digest[]): string[] => requests.filter((r) => r.startsWith('POST ') && blobs.some((blob) => r.includes(encodeURIComponent(blob))));
  const uploads = (requests: readonly string[], blobs: readonly Digest[]): string[] => requests.filter((r) => r.startsWith('PUT ') && r.includes('/blobs/uploads/') && blobs.some((blob) => r.includes(encodeURIComponent(blob))));

  test('fetches each manifest of every platform once and mounts each blob from the image\'s repository, downloading none', async () => {
    const image = await pushPlatforms(`${registry.host}/compose/app-src:1`);
    const requests = await requestsOf(seen, `${seen.host}/compose/app-src:1`, `${seen.host}/compose/app:1`);
    expect(requests.filter((r) => r.startsWith('GET /v2/compose/app-src/manifests/')).sort()).toEqual(image.documents.map((d) => `GET /v2/compose/app-src/manifests/${d.digest}`).sort());
    expect(requests.filter((r) => r.includes('/v2/compose/app-src/blobs/'))).toEqual([]);
    expect(mounts(requests, image.blobs).sort()).toEqual(image.blobs.map((blob) => `POST /v2/compose/app/blobs/uploads/?mount=${encodeURIComponent(blob)}&from=compose%2Fapp-src`).sort());
    expect(uploads(requests, image.blobs)).toEqual([]);
    for (const blob of image.blobs) await expect(client.fetchSmallBlob(`${registry.host}/compose/app`, blob)).resolves.toHaveLength(image.sizes.get(blob) ?? -1);
  });

  test('resolves each image once, for the pinned digests and the copy alike', async () => {
    await pushPlatforms(`${registry.host}/compose/app-src:2`);
    const requests = await requestsOf(seen, `${seen.host}/compose/app-src:2`, `${seen.host}/compose/app:2`);
    expect(requests.filter((r) => r.includes('/v2/compose/app-src/manifests/2'))).toEqual(['HEAD /v2/compose/app-src/manifests/2']);
  });

  test('publishing again finds every blob in the repository: none is mounted or uploaded twice', async () => {
    const image = await pushPlatforms(`${registry.host}/compose/app-src:3`);
    await requestsOf(seen, `${seen.host}/compose/app-src:3`, `${seen.host}/compose/app-again:1`);
    const again = await requestsOf(seen, `${seen.host}/compose/app-src:3`, `${seen.host}/compose/app-again:2`);
    const heads = again.filter((r) => r.startsWith('HEAD /v2/compose/app-again/blobs/') && image.blobs.some((blob) => r.endsWith(blob)));
    expect(heads.sort()).toEqual(image.blobs.map((blob) => `HEAD /v2/compose/app-again/blobs/${blob}`).sort());
    expect(mounts(again, image.blobs)).toEqual([]);
    expect(uploads(again, image.blobs)).toEqual([]);
  });

  test('an image of another registry is pulled through: each manifest and blob fetched once, each blob uploaded once', async () => {
    const image = await pushPlatforms(`${other.host}/compose/foreign:1`);
    seen.seen.length = 0;
    const requests = await requestsOf(otherSeen, `${otherSeen.host}/compose/foreign:1`, `${seen.host}/compose/app-foreign:1`);
    expect(requests.filter((r) => r.startsWith('GET /v2/compose/')).sort()).toEqual(
      [...image.documents.map((d) => `GET /v2/compose/foreign/manifests/${d.digest}`), ...image.blobs.map((blob) => `GET /v2/compose/foreign/blobs/${blob}`)].sort(),
    );
    const pushed = seen.seen.map(({ method, url }) => `${method} ${url}`);
    expect(uploads(pushed, image.blobs)).toHaveLength(image.blobs.length);
    expect(pushed.filter((r) => r.includes('mount='))).toEqual([]);
  });

  describe('to a registry that refuses the mounts', () => {
    let guarded: RegistryServer;
    let tokens: Server;

    beforeAll(async () => {
      // A token for a push carries no pull of other repositories: the registry answers a mount with an upload.
      tokens = createServer((req, res) => {
        const scopes = new URL(req.url ?? '/', 'http://tokens').searchParams.getAll('scope');
        const pushing = scopes.some((scope) => scope.split(':')[2]?.split(',').includes('push'));
        const access: AccessGrant[] = scopes
          .map((scope) => scope.split(':') as [string, string, string])
          .filter(([, , actions]) => !pushing || actions.includes('push'))
          .map(([, name, actions]) => ({ type: 'repository', name, actions: actions.split(',') as ('pull' | 'push')[] }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: issueRegistryToken({ secret: 'refusing', service: 'refusing', access }) }));
      });
      await new Promise<void>((resolve) => tokens.listen(0, '127.0.0.1', resolve));
      const realm = `http://127.0.0.1:${(tokens.address() as AddressInfo).port}/token`;
      guarded = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'guarded-registry'), auth: { type: 'token', realm, service: 'refusing', secret: 'refusing' } });
      await guarded.listen();
    });

    afterAll(async () => {
      await guarded?.close();
      await new Promise((resolve) => tokens?.close(resolve));
    });

    test('the blobs are pulled and uploaded instead, as dockerd falls back', async () => {
      const image = await pushPlatforms(`${guarded.host}/compose/src:1`);
      await publish(await project({ 'compose.yaml': `services:\n  web:\n    image: ${guarded.host}/compose/src:1\n` }), `${guarded.host}/compose/app:1`, { client, confirm: yes, app: true });
      for (const blob of image.blobs) await expect(client.fetchSmallBlob(`${guarded.host}/compose/app`, blob)).resolves.toHaveLength(image.sizes.get(blob) ?? -1);
    });
  });
});

/** An image for two platforms, a config and a layer each, pushed to `ref`: its index and manifests, and its blobs with their sizes. */
async function pushPlatforms(ref: string): Promise<{ documents: Descriptor[]; blobs: Digest[]; sizes: Map<Digest, number> }> {
  const store = new MemoryContentStore();
  const sizes = new Map<Digest, number>();
  const blob = async (bytes: Buffer, mediaType: string): Promise<Descriptor> => {
    await store.write(Readable.from([bytes]));
    sizes.set(digestOf(bytes), bytes.length);
    return { mediaType, digest: digestOf(bytes), size: bytes.length };
  };
  const manifests: Descriptor[] = [];
  for (const architecture of ['amd64', 'arm64']) {
    const layer = await blob(Buffer.from(`the ${architecture} layer of ${ref}`), MediaTypes.ociLayer);
    const config = await blob(Buffer.from(JSON.stringify({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } })), MediaTypes.ociConfig);
    const { bytes, descriptor } = serializeManifest(createManifest({ config, layers: [layer] }));
    await store.write(Readable.from([bytes]));
    manifests.push({ ...descriptor, platform: { architecture, os: 'linux' } });
  }
  const index = serializeIndex({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests });
  await store.write(Readable.from([index.bytes]));
  await client.push(ref, { store, manifest: index.descriptor });
  return { documents: [index.descriptor, ...manifests], blobs: [...sizes.keys()], sizes };
}

/** A minimal image (an empty config, no layers) pushed to `ref`; its manifest digest. */
async function pushImage(ref: string): Promise<string> {
  const store = new MemoryContentStore();
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  await store.write(Readable.from([config]));
  const { bytes, descriptor } = serializeManifest(createManifest({ config: { mediaType: MediaTypes.ociConfig, digest: digestOf(config), size: config.length }, layers: [] }));
  await store.write(Readable.from([bytes]));
  await client.push(ref, { store, manifest: descriptor });
  return descriptor.digest;
}

/** A compose artifact of these layers (content, media type, annotations) pushed as `compose/TAG`: its repository. */
async function pushArtifact(tag: string, layers: { content: string; mediaType: string; annotations: Record<string, string> }[]): Promise<string> {
  const repository = `${registry.host}/compose/${tag}`;
  const store = new MemoryContentStore();
  const blob = async (content: string, mediaType: string): Promise<Descriptor> => {
    const bytes = Buffer.from(content);
    await store.write(Readable.from([bytes]));
    return { mediaType, digest: digestOf(bytes), size: bytes.length };
  };
  const config = await blob('{}', MediaTypes.ociEmpty);
  const descriptors: Descriptor[] = [];
  for (const layer of layers) descriptors.push({ ...(await blob(layer.content, layer.mediaType)), annotations: layer.annotations });
  const { bytes, descriptor } = serializeManifest(createManifest({ config, layers: descriptors, artifactType: ComposeMediaTypes.project }));
  await store.write(Readable.from([bytes]));
  await client.push(repository, { store, manifest: descriptor });
  return repository;
}

/** A cache of the test's own, and where `repository`'s artifact is kept in it. */
async function cacheOf(name: string, repository: string): Promise<{ env: { XDG_CACHE_HOME: string }; root: string; entry: string }> {
  const home = join(work, name);
  const root = join(home, 'docker-compose');
  await mkdir(root, { recursive: true, mode: 0o700 });
  return { env: { XDG_CACHE_HOME: home }, root, entry: join(root, (await client.resolve(repository)).digest.slice('sha256:'.length)) };
}

const PLANTED = 'services:\n  planted:\n    image: busybox\n';

describe('compose\'s OCI cache', () => {
  test('an entry that is a symbolic link is refused, naming it, and not loaded', async () => {
    const repository = await published({ 'compose.yaml': WEB }, 'cache:link');
    const { env: cache, entry } = await cacheOf('cache-link', repository);
    const elsewhere = await mkdtemp(join(work, 'planted-'));
    await writeFile(join(elsewhere, 'compose.yaml'), PLANTED);
    await symlink(elsewhere, entry);
    await expect(fromOci(repository, cache)).rejects.toMatchObject({ code: 'Denied', message: `refusing compose's OCI cache ${entry}: it is a symbolic link` });
  });

  test('an entry others can write into is refused, naming it, and not loaded', async () => {
    const repository = await published({ 'compose.yaml': WEB }, 'cache:writable');
    const { env: cache, entry } = await cacheOf('cache-writable', repository);
    await mkdir(entry);
    await writeFile(join(entry, 'compose.yaml'), PLANTED);
    await chmod(entry, 0o777);
    await expect(fromOci(repository, cache)).rejects.toMatchObject({ code: 'Denied', message: `refusing compose's OCI cache ${entry}: it can be written by its group or others (mode 0777)` });
  });

  test('a cache directory others can write into is refused before anything is pulled into it', async () => {
    const repository = await published({ 'compose.yaml': WEB }, 'cache:root');
    const { env: cache, root } = await cacheOf('cache-root', repository);
    await chmod(root, 0o775);
    await expect(fromOci(repository, cache)).rejects.toMatchObject({ code: 'Denied', message: `refusing compose's OCI cache ${root}: it can be written by its group or others (mode 0775)` });
    expect(await readdir(root)).toEqual([]);
  });
});

describe('an artifact whose files would overwrite each other', () => {
  const compose = { content: WEB, mediaType: ComposeMediaTypes.file, annotations: { [ComposeAnnotations.file]: 'compose.yaml' } };

  test('is refused when an extended file is named compose.yaml, the merged file\'s name', async () => {
    const extended = { content: PLANTED, mediaType: ComposeMediaTypes.file, annotations: { [ComposeAnnotations.file]: 'compose.yaml', [ComposeAnnotations.extends]: 'true' } };
    const repository = await pushArtifact('clash:merged', [compose, extended]);
    await expect(fromOci(repository)).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: `invalid OCI artifact: layer ${digestOf(Buffer.from(PLANTED))} is named compose.yaml, the file its compose files are merged into`,
    });
  });

  test('is refused when two layers have the same name', async () => {
    const extended = { content: PLANTED, mediaType: ComposeMediaTypes.file, annotations: { [ComposeAnnotations.file]: 'shared', [ComposeAnnotations.extends]: 'true' } };
    const envFile = { content: 'A=1\n', mediaType: ComposeMediaTypes.envFile, annotations: { [ComposeAnnotations.envFile]: 'shared' } };
    const repository = await pushArtifact('clash:layers', [compose, extended, envFile]);
    await expect(fromOci(repository)).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: `invalid OCI artifact: layer ${digestOf(Buffer.from('A=1\n'))} is named shared, as another of its layers is`,
    });
  });
});

describe('loading oci:// artifacts', () => {
  test('-f oci://REF loads the published project: its config is the original\'s', async () => {
    const files = { 'compose.yaml': WEB, 'compose.override.yaml': 'services:\n  web:\n    labels: [tier=front]\n    environment: [MODE=prod]\n' };
    const original = await project(files);
    const repository = `${registry.host}/compose/roundtrip:1`;
    await publish(original, repository, { client, confirm: yes });
    expect(projectConfig(await fromOci(repository))).toBe(projectConfig(original));
  });

  test('an OCI 1.0 artifact loads as a 1.1 one does', async () => {
    const repository = await published({ 'compose.yaml': WEB }, 'roundtrip:1.0', { ociVersion: '1.0' });
    expect(Object.keys((await fromOci(repository)).services)).toEqual(['web']);
  });

  test('the artifact is pulled once into the cache, under its manifest digest', async () => {
    const repository = await published({ 'compose.yaml': WEB }, 'cached:1');
    const cache = join(work, 'cache-once');
    await fromOci(repository, { XDG_CACHE_HOME: cache });
    const digest = (await client.resolve(repository)).digest.slice('sha256:'.length);
    expect(await readdir(join(cache, 'docker-compose'))).toEqual([digest]);
    expect(await readdir(join(cache, 'docker-compose', digest))).toEqual(['compose.yaml']);
  });

  test('env files published with --with-env are read back from the artifact', async () => {
    const files = { 'compose.yaml': 'services:\n  web:\n    image: busybox\n    env_file: [web.env]\n', 'web.env': 'GREETING=hello\n' };
    const repository = await published(files, 'env:roundtrip', { withEnv: true });
    expect((await fromOci(repository)).services.web?.environment).toEqual({ GREETING: 'hello' });
  });

  test('a service extending a local file brings that file along', async () => {
    const files = { 'compose.yaml': 'services:\n  web:\n    extends:\n      file: base/common.yaml\n      service: base\n', 'base/common.yaml': 'services:\n  base:\n    image: busybox\n    command: ["true"]\n' };
    const repository = await published(files, 'extends:1');
    const manifest = await manifestOf(repository);
    expect(manifest.layers[1]?.annotations).toMatchObject({ [ComposeAnnotations.extends]: 'true', [ComposeAnnotations.file]: expect.stringMatching(/^[0-9a-f]{64}\.yaml$/) });
    expect((await fromOci(repository)).services.web).toMatchObject({ image: 'busybox', command: ['true'] });
  });

  test('extends: file: oci://REF takes the artifact\'s service, its relative paths under where it was pulled', async () => {
    const repository = await published({ 'compose.yaml': 'services:\n  base:\n    image: busybox\n    build: ./ctx\n' }, 'extended:1');
    const loaded = await project({ 'compose.yaml': `services:\n  web:\n    extends:\n      file: oci://${repository}\n      service: base\n` });
    const digest = (await client.resolve(repository)).digest.slice('sha256:'.length);
    expect(loaded.services.web).toMatchObject({ image: 'busybox', build: { context: join(work, 'cache', 'docker-compose', digest, 'ctx') } });
  });

  test('include: oci://REF adds the artifact\'s services to the project', async () => {
    const repository = await published({ 'compose.yaml': 'services:\n  db:\n    image: busybox\n' }, 'included:1');
    const loaded = await project({ 'compose.yaml': `include:\n  - oci://${repository}\nservices:\n  web:\n    image: busybox\n    depends_on: [db]\n` });
    expect(Object.keys(loaded.services).sort()).toEqual(['db', 'web']);
  });

  test('a reference that is not valid is refused before any request', async () => {
    await expect(fromOci(`${registry.host}/compose/Bad`)).rejects.toThrow(/^invalid reference format/);
  });

  test('a tag the registry does not have is compose\'s failed pull, NotFound', async () => {
    const failed = fromOci(`${registry.host}/compose/absent:nope`);
    await expect(failed).rejects.toThrow(`failed to pull OCI resource "${registry.host}/compose/absent:nope": `);
    await expect(failed).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('an image that is no compose artifact is refused in compose\'s words', async () => {
    const image = `${registry.host}/compose/not-compose:1`;
    await pushImage(image);
    await expect(fromOci(image)).rejects.toThrow(`${image} is not a compose project OCI artifact, but `);
  });

  test('an artifact of another type is refused, naming the type', async () => {
    const ref = `${registry.host}/compose/other-artifact:1`;
    const store = new MemoryContentStore();
    const empty = Buffer.from('{}');
    await store.write(Readable.from([empty]));
    const { bytes, descriptor } = serializeManifest(createManifest({ config: { mediaType: MediaTypes.ociEmpty, digest: digestOf(empty), size: 2 }, layers: [], artifactType: 'application/vnd.example.thing' }));
    await store.write(Readable.from([bytes]));
    await client.push(ref, { store, manifest: descriptor });
    await expect(fromOci(ref)).rejects.toThrow(`${ref} is not a compose project OCI artifact, but application/vnd.example.thing`);
  });

  test('COMPOSE_EXPERIMENTAL_OCI_REMOTE=false turns the loader off, in compose\'s words', async () => {
    const repository = await published({ 'compose.yaml': WEB }, 'gated:1');
    await expect(fromOci(repository, { COMPOSE_EXPERIMENTAL_OCI_REMOTE: 'false' })).rejects.toThrow('OCI remote resource is disabled by "COMPOSE_EXPERIMENTAL_OCI_REMOTE"');
    await expect(fromOci(repository, { COMPOSE_EXPERIMENTAL_OCI_REMOTE: 'maybe' })).rejects.toThrow(
      'COMPOSE_EXPERIMENTAL_OCI_REMOTE environment variable expects boolean value: strconv.ParseBool: parsing "maybe": invalid syntax',
    );
  });

  test('a compose file of several YAML documents merges them in order', async () => {
    const loaded = await project({ 'compose.yaml': 'services:\n  web:\n    image: busybox\n---\nservices:\n  web:\n    image: busybox:1.36\n' });
    expect(loaded.services.web?.image).toBe('busybox:1.36');
  });
});
