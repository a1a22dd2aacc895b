/**
 * `ctr compose publish` and `ctr compose -f oci://…`, as docker compose's command line has
 * them, against ctr's registry server on 127.0.0.1 (plain HTTP, a loopback registry).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { createManifest, digestOf, MediaTypes, MemoryContentStore, parseIndex, parseManifest, serializeManifest, type Descriptor } from '@ctr/image';
import { RegistryClient, RegistryServer } from '@ctr/registry';
import { ctrOn, type CtrOn, type CtrResult } from './local-ctr';

let work: string;
let ctr: CtrOn;
let registry: RegistryServer;
let client: RegistryClient;
/** No docker config, cache or COMPOSE_* setting of the machine's. */
let env: NodeJS.ProcessEnv;
let apps = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-cli-compose-publish-'));
  ctr = ctrOn(join(work, 'root'), join(work, 'run'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
  env = { ...process.env, NO_COLOR: '', COMPOSE_PROJECT_NAME: '', COMPOSE_FILE: '', COMPOSE_PROFILES: '', DOCKER_CONFIG: join(work, 'docker'), XDG_CACHE_HOME: join(work, 'cache') };
  client = new RegistryClient({ dockerConfig: { env } });
});

afterAll(async () => {
  await client?.close();
  await registry?.close();
  await rm(work, { recursive: true, force: true });
});

/** A directory holding `files`, where `ctr compose` runs. */
async function app(files: Record<string, string>): Promise<string> {
  const dir = join(work, `app${(apps += 1)}`);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

const compose = (cwd: string, args: string[], input = ''): Promise<CtrResult> => ctr.runWith({ env, cwd, input }, 'compose', ...args);
const repo = (name: string): string => `${registry.host}/cli/${name}`;

/** An image of one layer pushed to `reference` (a plain image, no compose artifact): its manifest, and its layer's bytes. */
async function pushImage(reference: string): Promise<{ manifest: Descriptor; layer: Buffer }> {
  const store = new MemoryContentStore();
  const layer = Buffer.from(`the layer of ${reference}`);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] } }));
  for (const blob of [layer, config]) await store.write(Readable.from([blob]));
  const { bytes, descriptor } = serializeManifest(
    createManifest({
      config: { mediaType: MediaTypes.ociConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MediaTypes.ociLayer, digest: digestOf(layer), size: layer.length }],
    }),
  );
  await store.write(Readable.from([bytes]));
  await client.push(reference, { store, manifest: descriptor });
  return { manifest: descriptor, layer };
}

const SHOP = { 'compose.yaml': 'name: shop\nservices:\n  web:\n    image: busybox\n    command: ["sleep", "1d"]\n    ports: ["8080:80"]\n    environment: [MODE=prod]\n' };

test('publish pushes the project, and -f oci:// config prints what the files did', async () => {
  const dir = await app(SHOP);
  const published = await compose(dir, ['--progress', 'plain', 'publish', repo('shop:1')]);
  expect(published).toMatchObject({ code: 0, stderr: ` ${repo('shop:1')}  publishing\n ${repo('shop:1')}  published\n` });
  const original = await compose(dir, ['config']);
  const loaded = await compose(work, ['-f', `oci://${repo('shop:1')}`, 'config']);
  expect(loaded).toMatchObject({ code: 0, stdout: original.stdout });
});

test('--oci-version 1.0 pushes the OCI 1.0 shape; another version is refused', async () => {
  const dir = await app(SHOP);
  expect((await compose(dir, ['publish', '--oci-version', '1.0', repo('shop:1.0')])).code).toBe(0);
  const fetched = await client.fetchManifest(repo('shop:1.0'));
  expect(parseManifest(fetched.bytes, fetched.descriptor.mediaType).config.mediaType).toBe('application/vnd.docker.compose.config.empty.v1+json');
  expect(await compose(dir, ['publish', '--oci-version', '2.0', repo('shop:2.0')])).toMatchObject({ code: 1, stderr: expect.stringContaining('unsupported OCI version: 2.0') });
});

test('include: oci://… brings the artifact\'s services into the project', async () => {
  await compose(await app({ 'compose.yaml': 'services:\n  db:\n    image: busybox\n' }), ['publish', repo('db:1')]);
  const dir = await app({ 'compose.yaml': `include:\n  - oci://${repo('db:1')}\nservices:\n  web:\n    image: busybox\n` });
  expect(await compose(dir, ['config', '--services'])).toMatchObject({ code: 0, stdout: 'db\nweb\n' });
});

test('--with-env publishes the env files, which the loaded project reads', async () => {
  const dir = await app({ 'compose.yaml': 'services:\n  web:\n    image: busybox\n    env_file: web.env\n', 'web.env': 'GREETING=hello\n' });
  expect((await compose(dir, ['publish', '--with-env', repo('env:1')])).code).toBe(0);
  const loaded = await compose(work, ['-f', `oci://${repo('env:1')}`, 'config']);
  expect(loaded.stdout).toContain('GREETING: hello');
});

test('a question answered no ends publish with 130 and pushes nothing', async () => {
  const dir = await app({ 'compose.yaml': 'services:\n  web:\n    image: busybox\n    volumes: ["/srv/data:/user-data"]\n' });
  const declined = await compose(dir, ['publish', repo('bind:1')], 'n\n');
  expect(declined.code).toBe(130);
  expect(declined.stdout).toContain('web/srv/data:/user-data:rw\nAre you ok to publish these bind mount declarations? [y/N] ');
  await expect(client.fetchManifest(repo('bind:1'))).rejects.toMatchObject({ code: 'NotFound' });
});

test('-y answers every question yes', async () => {
  const dir = await app({ 'compose.yaml': 'services:\n  web:\n    image: busybox\n    volumes: ["/srv/data:/user-data"]\n    environment:\n      DB_PASSWORD: hunter22\n' });
  expect(await compose(dir, ['publish', '-y', repo('bind:yes')])).toMatchObject({ code: 0, stdout: '' });
});

test('services with only a build section are refused', async () => {
  const dir = await app({ 'compose.yaml': 'services:\n  web:\n    build: .\n' });
  const refused = await compose(dir, ['publish', repo('build:1')]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('your Compose stack cannot be published as it only contains a build section for service(s):\n- "web"');
});

test('a local include is refused', async () => {
  const dir = await app({ 'compose.yaml': 'include: [db.yaml]\nservices:\n  web:\n    image: busybox\n', 'db.yaml': 'services:\n  db:\n    image: busybox\n' });
  expect(await compose(dir, ['publish', repo('include:1')])).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot publish compose file with local includes') });
});

test('a bad reference is refused, to publish and to load', async () => {
  const dir = await app(SHOP);
  expect(await compose(dir, ['publish', repo('Shop:1')])).toMatchObject({ code: 1, stderr: expect.stringContaining('invalid reference format') });
  expect(await compose(work, ['-f', `oci://${repo('Shop:1')}`, 'config'])).toMatchObject({ code: 1, stderr: expect.stringContaining('invalid reference format') });
});

test('a missing tag is compose\'s failed pull', async () => {
  const missing = await compose(work, ['-f', `oci://${repo('shop:missing')}`, 'config']);
  expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining(`failed to pull OCI resource "${repo('shop:missing')}"`) });
});

test('an image that is no compose artifact is refused', async () => {
  await pushImage(repo('image:1'));
  const refused = await compose(work, ['-f', `oci://${repo('image:1')}`, 'config']);
  expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining(`${repo('image:1')} is not a compose project OCI artifact, but `) });
});

const GITHUB_TOKEN = 'ghp_0123456789abcdefghijklmnopqrstuvwxyz';
const LEAKY = { 'compose.yaml': `services:\n  web:\n    image: busybox\n    environment:\n      GITHUB_TOKEN: ${GITHUB_TOKEN}\n` };

test('what compose\'s secret scan finds is asked about in its words; no ends publish with 130 and pushes nothing', async () => {
  const declined = await compose(await app(LEAKY), ['publish', repo('leak:1')], 'n\n');
  expect(declined.code).toBe(130);
  expect(declined.stdout).toBe(
    'you are about to publish sensitive data within your OCI artifact.\n' +
      'please double check that you are not leaking sensitive data\n' +
      'Github authentication\n' +
      `"services.web.environment.GITHUB_TOKEN": ${GITHUB_TOKEN}\n` +
      'Are you ok to publish these sensitive data? [y/N] ',
  );
  await expect(client.fetchManifest(repo('leak:1'))).rejects.toMatchObject({ code: 'NotFound' });
});

test('-y publishes what the secret scan finds', async () => {
  expect(await compose(await app(LEAKY), ['publish', '-y', repo('leak:yes')])).toMatchObject({ code: 0, stdout: '' });
  const loaded = await compose(work, ['-f', `oci://${repo('leak:yes')}`, 'config']);
  expect(loaded.stdout).toContain(`GITHUB_TOKEN: ${GITHUB_TOKEN}`);
});

test('--app copies the services\' images into the repository, under an index whose subject is the artifact', async () => {
  const image = await pushImage(repo('app-image:1'));
  const dir = await app({ 'compose.yaml': `services:\n  web:\n    image: ${repo('app-image:1')}\n` });
  expect(await compose(dir, ['publish', '--app', repo('shop-app:1')])).toMatchObject({ code: 0 });
  const artifact = await client.fetchManifest(repo('shop-app:1'));
  const files = parseManifest(artifact.bytes, artifact.descriptor.mediaType).layers.map((layer) => layer.annotations?.['com.docker.compose.file']);
  expect(files).toEqual(['compose.yaml', 'image-digests.yaml']);
  const referrers = (await (await fetch(`http://${registry.host}/v2/cli/shop-app/referrers/${artifact.descriptor.digest}`)).json()) as { manifests: Descriptor[] };
  expect(referrers.manifests).toHaveLength(1);
  const fetched = await client.fetchManifest(`${repo('shop-app')}@${referrers.manifests[0]?.digest}`);
  const index = parseIndex(fetched.bytes, fetched.descriptor.mediaType);
  expect(index.subject).toMatchObject({ digest: artifact.descriptor.digest, artifactType: 'application/vnd.docker.compose.project' });
  expect(index.manifests).toEqual([{ ...image.manifest, annotations: { 'containerd.io/distribution.source.127.0.0.1': 'cli/app-image' } }]);
  expect(await client.fetchSmallBlob(repo('shop-app'), digestOf(image.layer))).toEqual(image.layer);
});

test('publish --help says --app as compose does', async () => {
  expect((await compose(work, ['publish', '--help'])).stdout).toMatch(/ {6}--app +Published compose application \(includes referenced images\)\n/);
});
