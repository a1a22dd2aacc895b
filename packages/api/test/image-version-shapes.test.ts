/**
 * `GET /images/json`, `GET /images/{name}/json` and `GET /system/df`'s images as a client of each
 * API version knows them, as moby's routes shape them: `VirtualSize` only before 1.44, `<none>` placeholders for
 * an image without a name only before 1.43 (`[]` after), `Descriptor` only from 1.48; and an
 * image's `GraphDriver.Data` naming its layers' directories here, as overlay2 names its own.
 */
import { stat } from 'node:fs/promises';
import { ApiClient } from '@ctr/api';
import { docker, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();

type Listed = Record<string, unknown> & { Id: string; Size: number; RepoTags: unknown; RepoDigests: unknown };

async function listed(version: string): Promise<Listed[]> {
  return json(await request(t.socket, 'GET', `/v${version}/images/json`)) as Listed[];
}

async function inspected(version: string, name: string): Promise<Record<string, unknown>> {
  return json(await request(t.socket, 'GET', `/v${version}/images/${name}/json`)) as Record<string, unknown>;
}

/** An image without a name, of two layers: busybox's and the (empty) diff of a container made from it. */
let unnamed: string;
beforeAll(async () => {
  const { id } = await t.daemon.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['true'] });
  unnamed = (json(await request(t.socket, 'POST', `/v1.47/commit?container=${id}`, '')) as { Id: string }).Id;
});

describe('GET /images/json', () => {
  test('from API 1.44 there is no VirtualSize', async () => {
    for (const image of await listed('1.47')) expect(image).not.toHaveProperty('VirtualSize');
  });

  test('before API 1.44 VirtualSize is the image’s Size', async () => {
    const images = await listed('1.43');
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image.VirtualSize).toBe(image.Size);
  });

  test('from API 1.43 an image without a name has empty RepoTags and RepoDigests', async () => {
    const image = (await listed('1.43')).find((i) => i.Id === unnamed);
    expect(image).toMatchObject({ RepoTags: [], RepoDigests: [] });
  });

  test('before API 1.43 it is <none>:<none> and <none>@<none>', async () => {
    const image = (await listed('1.42')).find((i) => i.Id === unnamed);
    expect(image).toMatchObject({ RepoTags: ['<none>:<none>'], RepoDigests: ['<none>@<none>'] });
    const named = (await listed('1.42')).find((i) => i.Id !== unnamed);
    expect(named?.RepoTags).toEqual(['busybox:latest']);
  });
});

test("ctr's client reads a list without VirtualSize as Go's zero, as docker's client decodes it", async () => {
  const client = new ApiClient({ host: `unix://${t.socket}` });
  try {
    for (const image of await client.listImages()) expect(image.VirtualSize).toBe(0);
  } finally {
    client.close();
  }
});

describe('GET /images/{name}/json', () => {
  test('from API 1.44 there is no VirtualSize, and before 1.48 no Descriptor', async () => {
    const image = await inspected('1.47', 'busybox');
    expect(image).not.toHaveProperty('VirtualSize');
    expect(image).not.toHaveProperty('Descriptor');
  });

  test('before API 1.44 VirtualSize is the Size, in its place after it', async () => {
    const image = await inspected('1.43', 'busybox');
    expect(image.VirtualSize).toBe(image.Size);
    const keys = Object.keys(image);
    expect(keys.indexOf('VirtualSize')).toBe(keys.indexOf('Size') + 1);
  });

  test('an image without a name has RepoTags and RepoDigests [], never null', async () => {
    expect(await inspected('1.47', unnamed)).toMatchObject({ RepoTags: [], RepoDigests: [] });
  });

  test("GraphDriver.Data names a one-layer image's layer directory as its UpperDir", async () => {
    const { GraphDriver } = (await inspected('1.47', 'busybox')) as { GraphDriver: { Name: string; Data: Record<string, string> } };
    expect(GraphDriver.Name).toBe('overlay2');
    expect(Object.keys(GraphDriver.Data)).toEqual(['UpperDir']);
    expect((await stat(GraphDriver.Data.UpperDir as string)).isDirectory()).toBe(true);
  });

  test('before a container unpacks its top layer, an image has no GraphDriver.Data, as dockerd’s containerd store gives none', async () => {
    const { GraphDriver } = (await inspected('1.47', unnamed)) as { GraphDriver: { Data: unknown } };
    expect(GraphDriver.Data).toBeNull();
  });

  test('over more layers, the ones under the top are its LowerDir, nearest first', async () => {
    // A container made from the image unpacks its layers here.
    await t.daemon.engine.create({ image: unnamed, pull: 'never', network: 'none', cmd: ['true'] });
    const busybox = ((await inspected('1.47', 'busybox')) as { GraphDriver: { Data: { UpperDir: string } } }).GraphDriver.Data;
    const { GraphDriver } = (await inspected('1.47', unnamed)) as { GraphDriver: { Data: Record<string, string> } };
    expect(Object.keys(GraphDriver.Data)).toEqual(['LowerDir', 'UpperDir']);
    expect(GraphDriver.Data.LowerDir).toBe(busybox.UpperDir);
    expect(GraphDriver.Data.UpperDir).not.toBe(busybox.UpperDir);
    expect((await stat(GraphDriver.Data.UpperDir as string)).isDirectory()).toBe(true);
  });
});

describe('GET /system/df', () => {
  async function usageImages(version: string): Promise<Listed[]> {
    return (json(await request(t.socket, 'GET', `/v${version}/system/df`)) as { Images: Listed[] }).Images;
  }

  test('from API 1.44 its images have no VirtualSize', async () => {
    const images = await usageImages('1.47');
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image).not.toHaveProperty('VirtualSize');
  });

  test('before API 1.44 VirtualSize is the image’s Size', async () => {
    const images = await usageImages('1.43');
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image.VirtualSize).toBe(image.Size);
  });

  test('an image without a name keeps empty RepoTags before API 1.43: the list’s <none> names are not the df’s', async () => {
    expect((await usageImages('1.42')).find((i) => i.Id === unnamed)).toMatchObject({ RepoTags: [], RepoDigests: [] });
  });
});

test('docker image ls and inspect read these shapes', async () => {
  const listedRun = await docker(t.env, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}} {{.Size}}']);
  expect(listedRun.stderr).toBe('');
  expect(listedRun.stdout).toMatch(/^busybox:latest \S+B$/m);
  const upper = await docker(t.env, ['image', 'inspect', '--format', '{{.GraphDriver.Data.UpperDir}}', 'busybox']);
  expect(upper.stdout.trim()).toMatch(/^\//);
});
