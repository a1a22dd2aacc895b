/**
 * `Engine.searchImages` (`docker search`, `GET /images/search`): dockerd's registry
 * Service.Search. The index filters nothing; the engine checks the filters before asking and
 * applies `is-official`, `stars` and `is-automated` to what the index answered. The index
 * here is a stub on 127.0.0.1 holding Docker Hub-like results, or ctr's registry server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, type AuthConfig } from '@ctr/engine';
import { HUB_LIKE_RESULTS, pushRepositories, startStubIndex, type StubIndex } from '../../registry/test/support/search-index';
import { startRegistry } from '../../registry/test/support/servers';

let root: string;
let engine: Engine;
let index: StubIndex;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctr-engine-search-'));
  // The engine's own credentials come from an empty Docker config: only per-call ones exist.
  engine = new Engine({ root: join(root, 'root'), runRoot: join(root, 'run'), registry: { dockerConfig: { configDir: join(root, 'docker-config') } } });
  index = await startStubIndex(HUB_LIKE_RESULTS);
});

afterAll(async () => {
  await index?.stop();
  await rm(root, { recursive: true, force: true });
});

const names = (results: { name: string }[]): string[] => results.map((r) => r.name);

test('without filters, every result the index gave, in its order', async () => {
  expect(names(await engine.searchImages(`${index.host}/busy`))).toEqual(names(HUB_LIKE_RESULTS));
});

test('is-automated is false in every result, whatever the index said (Docker Hub dropped automated builds)', async () => {
  const results = await engine.searchImages(`${index.host}/busy`);
  expect(results.map((r) => r.is_automated)).toEqual([false, false, false, false]);
  expect(results[0]).toEqual({ ...HUB_LIKE_RESULTS[0], is_automated: false });
});

test('is-official=true keeps the official images, is-official=false the others', async () => {
  expect(names(await engine.searchImages(`${index.host}/busy`, { filters: { 'is-official': ['true'] } }))).toEqual(['busybox']);
  expect(names(await engine.searchImages(`${index.host}/busy`, { filters: { 'is-official': ['false'] } }))).toEqual([
    'radial/busyboxplus',
    'yauritux/busybox-curl',
    'odise/busybox-python',
  ]);
});

test('stars=N keeps results with at least N stars; of several values the largest counts', async () => {
  expect(names(await engine.searchImages(`${index.host}/busy`, { filters: { stars: ['24'] } }))).toEqual(['busybox', 'radial/busyboxplus', 'yauritux/busybox-curl']);
  expect(names(await engine.searchImages(`${index.host}/busy`, { filters: { stars: ['3', '100'] } }))).toEqual(['busybox']);
});

test('is-automated=true finds nothing, without asking the index', async () => {
  const asked = index.requests.length;
  expect(await engine.searchImages(`${index.host}/busy`, { filters: { 'is-automated': ['true'] } })).toEqual([]);
  expect(index.requests.length).toBe(asked);
});

test.each([
  [{ color: ['red'] }, "invalid filter 'color'"],
  [{ stars: ['many'] }, `invalid filter 'stars=many': strconv.Atoi: parsing "many": invalid syntax`],
  [{ 'is-official': ['maybe'] }, "invalid filter 'is-official=[maybe]'"],
])("filters %p are refused in dockerd's words before the index is asked", async (filters, message) => {
  const asked = index.requests.length;
  await expect(engine.searchImages(`${index.host}/busy`, { filters })).rejects.toMatchObject({ code: 'InvalidArgument', message });
  expect(index.requests.length).toBe(asked);
});

test('limit is passed to the index as n; out of [1, 100] it is refused', async () => {
  expect(names(await engine.searchImages(`${index.host}/busy`, { limit: 1 }))).toEqual(['busybox']);
  expect(index.requests.at(-1)?.query.get('n')).toBe('1');
  await expect(engine.searchImages(`${index.host}/busy`, { limit: 101 })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'limit 101 is outside the range of [1, 100]' });
});

test("a ctr registry demanding Basic auth is searched with the call's credentials (X-Registry-Auth)", async () => {
  const users = { alice: 'engine-search-s3cret' };
  const registry = await startRegistry({ auth: { type: 'basic', users } });
  try {
    await pushRepositories(registry.host, ['private/busybox'], { username: 'alice', password: users.alice });
    const auth: AuthConfig = { username: 'alice', password: users.alice };
    expect(names(await engine.searchImages(`${registry.host}/busy`, { auth }))).toEqual(['private/busybox']);
    await expect(engine.searchImages(`${registry.host}/busy`)).rejects.toMatchObject({ code: 'Denied', message: 'Unexpected status code 401' });
  } finally {
    await registry.stop();
  }
});
