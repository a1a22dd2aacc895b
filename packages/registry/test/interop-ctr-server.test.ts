/**
 * ctr's registry server, backed by the real @ctr/store content store, with skopeo as the
 * client ctr did not write, and ctr's own client round-tripping through it.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OciLayout, type Digest } from '@ctr/image';
import { openStore, type Store } from '@ctr/store';
import { RegistryClient, RegistryServer } from '@ctr/registry';
import { readAll } from './support/images';
import { layoutManifest, makeBusyboxLayout, run, skopeoCopy } from './support/processes';

let work: string;
let layoutDir: string;
let serverStore: Store;
let server: RegistryServer;
let host: string;
let client: RegistryClient;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-own-'));
  layoutDir = await makeBusyboxLayout(work);
  serverStore = await openStore({ root: path.join(work, 'server-store') });
  server = new RegistryServer({ store: serverStore.content, root: path.join(work, 'server-meta') });
  await server.listen();
  host = server.host;
  client = new RegistryClient({ credentials: {} });
});
afterAll(async () => {
  await client?.close();
  await server?.close();
  await fs.rm(work, { recursive: true, force: true });
});

test('skopeo pushes to ctr server and copies the image back with identical digests', async () => {
  const manifest = await layoutManifest(layoutDir);
  await skopeoCopy(`oci:${layoutDir}:latest`, `docker://${host}/skopeo/busybox:latest`);
  const back = path.join(work, 'back');
  await skopeoCopy(`docker://${host}/skopeo/busybox:latest`, `oci:${back}:latest`);
  expect((await layoutManifest(back)).digest).toBe(manifest.digest);
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${host}/skopeo/busybox:latest`]);
  expect(stdout.trim()).toBe(manifest.digest);
});

test('an image skopeo pushed to ctr server is pulled by ctr with identical bytes', async () => {
  await skopeoCopy(`oci:${layoutDir}:latest`, `docker://${host}/skopeo/pulled:latest`);
  const store = await openStore({ root: await fs.mkdtemp(path.join(work, 'pull-')) });
  const pulled = await client.pull(`${host}/skopeo/pulled:latest`, { store: store.content });
  const layout = await OciLayout.open(layoutDir);
  for (const d of [pulled.manifest, pulled.config, ...pulled.layers]) {
    expect((await readAll(await store.content.read(d.digest))).equals(await readAll(await layout.read(d.digest)))).toBe(true);
  }
});

test('ctr pushes to ctr server and skopeo copies it back with identical digests', async () => {
  const layout = await OciLayout.open(layoutDir);
  const manifest = await layoutManifest(layoutDir);
  await client.push(`${host}/ctr/busybox:v1`, { store: layout, manifest });
  const back = path.join(work, 'ctr-back');
  await skopeoCopy(`docker://${host}/ctr/busybox:v1`, `oci:${back}:v1`);
  expect((await layoutManifest(back, 'v1')).digest).toBe(manifest.digest);
});

test('blobs pushed to two repositories are stored once in the shared content store', async () => {
  const layout = await OciLayout.open(layoutDir);
  const manifest = await layoutManifest(layoutDir);
  await client.push(`${host}/shared/one:v1`, { store: layout, manifest });
  await client.push(`${host}/shared/two:v1`, { store: layout, manifest });
  const digests: Digest[] = [];
  for await (const info of serverStore.content.walk()) digests.push(info.digest);
  expect(new Set(digests).size).toBe(digests.length);
  expect(digests).toContain(manifest.digest);
});
