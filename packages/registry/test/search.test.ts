/**
 * `docker search`'s registry side: the client asks the index of the registry a term names
 * (`GET /v1/search?q=&n=`, as dockerd's search session does) and ctr's registry server
 * answers it over its repositories. A registry that speaks only v2 (the Debian
 * `docker-registry`) has no index: dockerd's `Unexpected status code 404`.
 * Every term here names a 127.0.0.1 registry: a bare term would go to Docker Hub.
 */
import { isCtrError } from '@ctr/errors';
import { RegistryClient, searchTarget } from '@ctr/registry';
import { startDockerRegistry } from './support/processes';
import { HUB_LIKE_RESULTS, pushRepositories, startStubIndex } from './support/search-index';
import { startRegistry } from './support/servers';

const USERS = { alice: 'search-wonderland' };

let client: RegistryClient;
const stops: (() => Promise<void>)[] = [];

beforeEach(() => {
  client = new RegistryClient({ credentials: {} });
});

afterEach(async () => {
  await client.close();
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function registryWith(names: string[]): Promise<string> {
  const registry = await startRegistry();
  stops.push(registry.stop);
  await pushRepositories(registry.host, names);
  return registry.host;
}

/** The error a promise rejects with (a test fails if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; hint?: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isCtrError(error)) throw new Error(`expected a CtrError, got ${String(error)}`);
  return error;
}

describe('searchTarget (which index a term asks)', () => {
  test('a first component with a port, a dot or localhost names the registry; the rest is the query', () => {
    expect(searchTarget('127.0.0.1:5000/busy')).toEqual({ registry: '127.0.0.1:5000', query: 'busy' });
    expect(searchTarget('registry.example/team/app')).toEqual({ registry: 'registry.example', query: 'team/app' });
    expect(searchTarget('localhost/busy')).toEqual({ registry: 'localhost', query: 'busy' });
  });

  test("a bare term or a plain namespace is Docker Hub's, whose official images are asked without library/", () => {
    expect(searchTarget('busy')).toEqual({ registry: 'docker.io', query: 'busy' });
    expect(searchTarget('team/busy')).toEqual({ registry: 'docker.io', query: 'team/busy' });
    expect(searchTarget('index.docker.io/library/busybox')).toEqual({ registry: 'docker.io', query: 'busybox' });
  });

  test("a URL is refused in dockerd's words", () => {
    expect(() => searchTarget('http://127.0.0.1:5000/busy')).toThrow('invalid repository name: repository name (http://127.0.0.1:5000/busy) should not have a scheme');
  });
});

describe("against ctr's registry server", () => {
  test('finds the repositories whose name contains the query, in name order, with no stars, descriptions or official flag', async () => {
    const host = await registryWith(['team/busy-tools', 'library/busybox', 'alpine']);
    const found = await client.search(`${host}/busy`);
    expect(found).toEqual({
      num_results: 2,
      query: 'busy',
      results: [
        { name: 'library/busybox', description: '', star_count: 0, is_official: false, is_automated: false },
        { name: 'team/busy-tools', description: '', star_count: 0, is_official: false, is_automated: false },
      ],
    });
  });

  test('matches the query without regard to case', async () => {
    const host = await registryWith(['library/busybox']);
    expect((await client.search(`${host}/BusyBox`)).results.map((r) => r.name)).toEqual(['library/busybox']);
  });

  test('answers at most `limit` results while num_results counts every match', async () => {
    const host = await registryWith(['app/one', 'app/two', 'app/three']);
    const found = await client.search(`${host}/app`, { limit: 2 });
    expect(found.num_results).toBe(3);
    expect(found.results.map((r) => r.name)).toEqual(['app/one', 'app/three']);
  });

  test('finds nothing when no repository matches', async () => {
    const host = await registryWith(['alpine']);
    expect((await client.search(`${host}/busy`)).results).toEqual([]);
  });

  test('a registry demanding Basic auth searches with the credentials it accepts, and without them is Denied: `Unexpected status code 401`, with a hint to log in', async () => {
    const registry = await startRegistry({ auth: { type: 'basic', users: USERS } });
    stops.push(registry.stop);
    await pushRepositories(registry.host, ['private/busybox'], { username: 'alice', password: USERS.alice });
    const found = await client.search(`${registry.host}/busy`, { credentials: { username: 'alice', password: USERS.alice } });
    expect(found.results.map((r) => r.name)).toEqual(['private/busybox']);
    const refused = await failure(client.search(`${registry.host}/busy`));
    expect(refused.code).toBe('Denied');
    expect(refused.message).toBe('Unexpected status code 401');
    expect(refused.hint).toContain(`log in to ${registry.host}`);
  });
});

describe('the request to the index', () => {
  test('asks /v1/search with the query and the limit (25 when none is given)', async () => {
    const index = await startStubIndex(HUB_LIKE_RESULTS);
    stops.push(index.stop);
    await client.search(`${index.host}/busy`);
    await client.search(`${index.host}/busy`, { limit: 3 });
    expect(index.requests.map((r) => [r.query.get('q'), r.query.get('n')])).toEqual([
      ['busy', '25'],
      ['busy', '3'],
    ]);
  });

  test("gives the index's fields as it sent them (the client filters nothing)", async () => {
    const index = await startStubIndex(HUB_LIKE_RESULTS);
    stops.push(index.stop);
    expect((await client.search(`${index.host}/busy`)).results).toEqual(HUB_LIKE_RESULTS);
  });

  test.each([101, -1, 1.5])("refuses limit %p in dockerd's words before asking anything", async (limit) => {
    const index = await startStubIndex(HUB_LIKE_RESULTS);
    stops.push(index.stop);
    const error = await failure(client.search(`${index.host}/busy`, { limit }));
    expect(error.code).toBe('InvalidArgument');
    expect(error.message).toBe(`limit ${limit} is outside the range of [1, 100]`);
    expect(index.requests).toEqual([]);
  });
});

describe('registries without an index', () => {
  test("the Debian docker-registry (v2 only) is dockerd's `Unexpected status code 404`, with what it means", async () => {
    const registry = await startDockerRegistry();
    stops.push(registry.stop);
    const error = await failure(client.search(`${registry.host}/busy`));
    expect(error.message).toBe('Unexpected status code 404');
    expect(error.hint).toContain('has no search index (GET /v1/search)');
  });

  test('a registry nobody listens on is Unavailable, naming it', async () => {
    const registry = await startRegistry();
    const host = registry.host;
    await registry.stop();
    const error = await failure(client.search(`${host}/busy`));
    expect(error.code).toBe('Unavailable');
    expect(error.message).toContain(`cannot reach registry ${host}: connection refused`);
  });
});
