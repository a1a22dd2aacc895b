/**
 * `pullAllTags` and `pushAllTags` (docker's `pull -a` / `push -a`) against real registries on
 * 127.0.0.1: ctr's own server and the Debian `docker-registry`. An all-tags pull lists the
 * repository's tags (`GET /v2/<name>/tags/list`) and pulls each; an all-tags push sends every
 * tag of the repository the store has, and nothing else.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine } from '@ctr/engine';
import type { RegistryClient, RegistryServer } from '@ctr/registry';
import { startBothRegistries, type BothRegistries } from '../../registry/test/support/both-registries';
import type { DockerRegistry } from '../../registry/test/support/processes';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let engine: Engine;
let servers: BothRegistries | undefined;
let work: string;
let ctrRegistry: RegistryServer;
let distribution: DockerRegistry;
let registryClient: RegistryClient;

beforeAll(async () => {
  t = await testEngine();
  engine = t.engine;
  servers = await startBothRegistries('ctr-engine-all-tags-');
  ({ work, ctrRegistry, distribution, registryClient } = servers);
});

afterAll(async () => {
  await servers?.close();
  await t?.cleanup();
});

/** A one-file image of its own (its ID differs from every other's), named `name`. */
async function smallImage(name: string): Promise<string> {
  const dir = await mkdtemp(join(work, 'rootfs-'));
  await writeFile(join(dir, 'which'), name);
  return (await engine.importImage({ dir }, { name })).record.id;
}

/** Every tag name the store holds for `repository` (familiar, as `docker images` shows them). */
async function localTags(repository: string): Promise<string[]> {
  return (await engine.images({ filters: { reference: [repository] } })).flatMap((image) => image.RepoTags).sort();
}

const registries: [string, () => string][] = [
  ["ctr's registry server", () => ctrRegistry.host],
  ['the Debian docker-registry', () => distribution.host],
];

describe.each(registries)('against %s', (_name, host) => {
  test('pushAllTags pushes every local tag of the repository, in name order, and no other repository', async () => {
    const repo = `${host()}/push-all/app`;
    const ids = { v1: await smallImage(`${repo}:v1`), v2: await smallImage(`${repo}:v2`) };
    await engine.tag(`${repo}:v1`, `${repo}:latest`);
    await smallImage(`${host()}/push-all/other:v1`);
    const seen: string[] = [];
    const pushed = await engine.pushAllTags(repo, { onPushed: (result) => seen.push(result.tag) });
    expect(pushed.map((p) => p.tag)).toEqual(['latest', 'v1', 'v2']);
    expect(seen).toEqual(['latest', 'v1', 'v2']);
    expect((await registryClient.listTags(repo)).sort()).toEqual(['latest', 'v1', 'v2']);
    for (const { tag, digest } of pushed) expect((await registryClient.resolve(`${repo}:${tag}`)).digest).toBe(digest);
    await expect(registryClient.listTags(`${host()}/push-all/other`)).rejects.toMatchObject({ code: 'NotFound' });
    expect((await engine.inspectImage(`${repo}:v2`)).Id).toBe(ids.v2);
  });

  test('pullAllTags pulls every tag the registry lists, each named here, telling each tag as it starts and ends', async () => {
    const repo = `${host()}/pull-all/app`;
    const ids = { a: await smallImage(`${repo}:a`), b: await smallImage(`${repo}:b`), c: await smallImage(`${repo}:c`) };
    await engine.pushAllTags(repo);
    for (const tag of ['a', 'b', 'c']) await engine.removeImage(`${repo}:${tag}`);
    const events: string[] = [];
    const result = await engine.pullAllTags(repo, { onTag: (event) => events.push(`${event.tag} ${event.status}`) });
    expect([...result.tags].sort()).toEqual(['a', 'b', 'c']);
    expect(result.updated).toBe(true);
    expect(events).toEqual(result.tags.flatMap((tag) => [`${tag} Pulling`, `${tag} Pulled`]));
    expect(await localTags(repo)).toEqual(['a', 'b', 'c'].map((tag) => `${repo}:${tag}`));
    for (const [tag, id] of Object.entries(ids)) expect((await engine.inspectImage(`${repo}:${tag}`)).Id).toBe(id);
  });

  test('pullAllTags of tags that already name what the registry has says nothing was updated', async () => {
    const repo = `${host()}/pull-again/app`;
    await smallImage(`${repo}:one`);
    await engine.pushAllTags(repo);
    expect(await engine.pullAllTags(repo)).toEqual({ tags: ['one'], updated: false });
  });

  test('pullAllTags of a repository the registry does not have fails NotFound and names nothing', async () => {
    const before = await engine.images();
    await expect(engine.pullAllTags(`${host()}/pull-all/absent`)).rejects.toMatchObject({ code: 'NotFound' });
    expect(await engine.images()).toEqual(before);
  });
});

test("pullAllTags of a name with a tag or a digest is docker's error, and pulls nothing", async () => {
  const before = await engine.images();
  for (const ref of [`${ctrRegistry.host}/x/app:v1`, `${ctrRegistry.host}/x/app@sha256:${'a'.repeat(64)}`]) {
    await expect(engine.pullAllTags(ref)).rejects.toMatchObject({ code: 'InvalidArgument', message: "tag can't be used with --all-tags/-a" });
  }
  expect(await engine.images()).toEqual(before);
});

test("pushAllTags of a name with a tag is docker's error", async () => {
  await expect(engine.pushAllTags('busybox:latest')).rejects.toMatchObject({ code: 'InvalidArgument', message: "tag can't be used with --all-tags/-a" });
});

test('pushAllTags of a repository with no tag here is NotFound in dockerd\'s words, pushing nothing', async () => {
  const repo = `${ctrRegistry.host}/none-here/app`;
  await expect(engine.pushAllTags(repo)).rejects.toMatchObject({ code: 'NotFound', message: `An image does not exist locally with the tag: ${repo}` });
  await expect(registryClient.listTags(repo)).rejects.toMatchObject({ code: 'NotFound' });
});

test("push progress gives the layers as 'layer' and the image config as 'config'", async () => {
  const repo = `${ctrRegistry.host}/kinds/app:v1`;
  await engine.tag('busybox', repo);
  const kinds = new Map<string, string>();
  await engine.push(repo, { onProgress: (event) => kinds.set(event.id, event.kind) });
  const config = (await engine.inspectImage(repo)).Id.replace('sha256:', '').slice(0, 12);
  expect(kinds.get(config)).toBe('config');
  expect([...kinds.values()].filter((kind) => kind === 'layer')).toHaveLength(1);
});
