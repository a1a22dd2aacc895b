/**
 * The client's tag list (`GET /v2/<name>/tags/list?n=`) against both registries ctr talks
 * to in its tests, ctr's own server and the Debian `docker-registry`: pages are followed
 * through their `Link` headers until every tag is in (in the registry's order: ctr's sorts,
 * distribution 2.8's does not). Push progress says which blob is the image config (docker
 * shows a push's layers only).
 */
import { MemoryContentStore } from '@ctr/image';
import { RegistryClient, type PushProgress } from '@ctr/registry';
import { makeImage } from './support/images';
import { startDockerRegistry } from './support/processes';
import { startRegistry } from './support/servers';

const TAGS = ['v1', 'v2', 'v3', 'v4', 'v5'];

let client: RegistryClient;
const stops: (() => Promise<void>)[] = [];

beforeEach(() => {
  client = new RegistryClient({ credentials: {} });
});

afterEach(async () => {
  await client.close();
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** A registry of each kind, on 127.0.0.1, stopped after the test. */
const registries: [string, () => Promise<string>][] = [
  [
    "ctr's registry server",
    async () => {
      const registry = await startRegistry();
      stops.push(registry.stop);
      return registry.host;
    },
  ],
  [
    'the Debian docker-registry',
    async () => {
      const registry = await startDockerRegistry();
      stops.push(registry.stop);
      return registry.host;
    },
  ],
];

/** One image pushed to `repository` under every tag of TAGS, in reverse order. */
async function pushTags(repository: string): Promise<void> {
  const local = new MemoryContentStore();
  const image = await makeImage(local, [100]);
  for (const tag of [...TAGS].reverse()) await client.push(`${repository}:${tag}`, { store: local, manifest: image.manifest });
}

describe.each(registries)('against %s', (_name, start) => {
  test('listTags follows the Link header from page to page and gives every tag once', async () => {
    const host = await start();
    await pushTags(`${host}/paged/app`);
    expect((await client.listTags(`${host}/paged/app`, { pageSize: 2 })).sort()).toEqual(TAGS);
  });

  test('listTags with the default page size gives the same tags as pages of two do', async () => {
    const host = await start();
    await pushTags(`${host}/whole/app`);
    expect(await client.listTags(`${host}/whole/app`)).toEqual(await client.listTags(`${host}/whole/app`, { pageSize: 2 }));
  });

  test('listTags of a repository the registry does not have is NotFound', async () => {
    const host = await start();
    await expect(client.listTags(`${host}/never/pushed`)).rejects.toMatchObject({ code: 'NotFound' });
  });
});

test('listTags refuses a page size that is not a positive integer, asking the registry nothing', async () => {
  for (const pageSize of [0, -1, 1.5]) {
    await expect(client.listTags('127.0.0.1:1/any/app', { pageSize })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('page size') });
  }
});

test('push progress marks the image config as config and every layer as layer', async () => {
  const registry = await startRegistry();
  stops.push(registry.stop);
  const local = new MemoryContentStore();
  const image = await makeImage(local, [100, 200]);
  const events: PushProgress[] = [];
  await client.push(`${registry.host}/kinds/app:v1`, { store: local, manifest: image.manifest, onProgress: (event) => events.push(event) });
  const kinds = new Map(events.map((event) => [event.digest, event.kind]));
  expect(Object.fromEntries(kinds)).toEqual({
    [image.config.digest]: 'config',
    [image.layers[0]!.digest]: 'layer',
    [image.layers[1]!.digest]: 'layer',
  });
});
