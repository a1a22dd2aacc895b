/**
 * `docker search` (docker CLI 28.2) against ctrd: `GET /images/search` asks the index of the
 * registry the term names, filters as dockerd does, and answers moby's SearchResult array.
 * Every term names a 127.0.0.1 registry (ctr's registry server, a stub index holding
 * Docker Hub-like results, the Debian `docker-registry`): a bare term would go to Docker Hub.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteEngine } from '@ctr/api';
import { startDockerRegistry, type DockerRegistry } from '../../registry/test/support/processes';
import { HUB_LIKE_RESULTS, pushRepositories, startStubIndex, type StubIndex } from '../../registry/test/support/search-index';
import { startRegistry, type RunningRegistry } from '../../registry/test/support/servers';
import { docker, json, request, useTestDaemon } from './fixture';

const USERS = { alice: 'api-search-s3cret' };

const t = useTestDaemon();
let work: string;
let registry: RunningRegistry;
let basic: RunningRegistry;
let index: StubIndex;
let v2Only: DockerRegistry;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-search-'));
  registry = await startRegistry();
  await pushRepositories(registry.host, ['library/busybox', 'team/busy-tools', 'alpine']);
  basic = await startRegistry({ auth: { type: 'basic', users: USERS } });
  await pushRepositories(basic.host, ['private/busybox'], { username: 'alice', password: USERS.alice });
  index = await startStubIndex(HUB_LIKE_RESULTS);
  v2Only = await startDockerRegistry();
});

afterAll(async () => {
  await registry?.stop();
  await basic?.stop();
  await index?.stop();
  await v2Only?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A docker CLI environment with its own, initially empty, config directory. */
async function freshCli(): Promise<NodeJS.ProcessEnv> {
  return { ...t.env, DOCKER_CONFIG: await mkdtemp(join(work, 'docker-config-')) };
}

test("docker search REGISTRY/TERM lists the ctr registry's matching repositories in docker 28's table", async () => {
  const found = await docker(await freshCli(), ['search', `${registry.host}/busy`]);
  expect(found.stderr).toBe('');
  expect(found.code).toBe(0);
  expect(found.stdout.split('\n')).toEqual([
    'NAME              DESCRIPTION   STARS     OFFICIAL',
    'library/busybox                 0         ',
    'team/busy-tools                 0         ',
    '',
  ]);
});

test('the API answers the results as an array of moby SearchResults', async () => {
  const response = await request(t.socket, 'GET', `/v1.47/images/search?term=${encodeURIComponent(`${registry.host}/alp`)}`);
  expect(response.status).toBe(200);
  expect(json(response)).toEqual([{ name: 'alpine', description: '', star_count: 0, is_official: false, is_automated: false }]);
});

test("the table marks official images [OK] and cuts descriptions to 45 columns; --no-trunc shows them whole on one line", async () => {
  const env = await freshCli();
  const cut = await docker(env, ['search', `${index.host}/busy`]);
  expect(cut.stdout).toContain('busybox                 Busybox base image.                             3300      [OK]');
  expect(cut.stdout).toContain('Full-chain, Internet enabled, busybox made f…');
  const whole = await docker(env, ['search', '--no-trunc', `${index.host}/busy`]);
  expect(whole.stdout).toContain('Full-chain, Internet enabled, busybox made from scratch. Comes in git and cURL flavors.');
  expect(whole.stdout).toContain('Busybox with CURL and nothing else');
});

test('--format reads .Name .Description .StarCount .IsOfficial, and {{json .}} gives them as strings', async () => {
  const env = await freshCli();
  const found = await docker(env, ['search', '--format', '{{.Name}}|{{.StarCount}}|{{.IsOfficial}}|{{.Description}}', `${index.host}/busy`]);
  expect(found.stdout.split('\n')).toEqual([
    'busybox|3300|[OK]|Busybox base image.',
    'radial/busyboxplus|56||Full-chain, Internet enabled, busybox made f…',
    'yauritux/busybox-curl|24||Busybox with CURL and nothing else',
    'odise/busybox-python|2||',
    '',
  ]);
  const asJson = await docker(env, ['search', '--format', '{{json .}}', '--limit', '1', `${index.host}/busy`]);
  expect(asJson.stdout).toBe('{"Description":"Busybox base image.","IsOfficial":"true","Name":"busybox","StarCount":"3300"}\n');
});

test('--filter is-official and stars are applied by the daemon; --limit goes to the index', async () => {
  const env = await freshCli();
  const official = await docker(env, ['search', '--format', '{{.Name}}', '--filter', 'is-official=true', `${index.host}/busy`]);
  expect(official.stdout).toBe('busybox\n');
  const starred = await docker(env, ['search', '--format', '{{.Name}}', '-f', 'stars=50', `${index.host}/busy`]);
  expect(starred.stdout).toBe('busybox\nradial/busyboxplus\n');
  const limited = await docker(env, ['search', '--format', '{{.Name}}', '--limit', '2', `${index.host}/busy`]);
  expect(limited.stdout).toBe('busybox\nradial/busyboxplus\n');
  expect(index.requests.at(-1)?.query.get('n')).toBe('2');
});

test("an unknown filter and a limit out of range are dockerd's errors", async () => {
  const env = await freshCli();
  const filter = await docker(env, ['search', '--filter', 'color=red', `${index.host}/busy`]);
  expect(filter.stderr).toBe("Error response from daemon: invalid filter 'color'\n");
  expect(filter.code).toBe(1);
  const limit = await docker(env, ['search', '--limit', '101', `${index.host}/busy`]);
  expect(limit.stderr).toBe('Error response from daemon: limit 101 is outside the range of [1, 100]\n');
  expect(limit.code).toBe(1);
});

test('a negative or unreadable limit is refused by the API', async () => {
  const term = encodeURIComponent(`${index.host}/busy`);
  for (const limit of ['-1', 'many']) {
    const response = await request(t.socket, 'GET', `/v1.47/images/search?term=${term}&limit=${limit}`);
    expect(response.status).toBe(400);
    expect(json(response)).toEqual({ message: `invalid limit specified: ${limit}` });
  }
});

test("a v2-only registry (the Debian docker-registry) is dockerd's `Unexpected status code 404`", async () => {
  const found = await docker(await freshCli(), ['search', `${v2Only.host}/busy`]);
  expect(found.stderr).toMatch(/^Error response from daemon: Unexpected status code 404 \(.*has no search index/);
  expect(found.code).toBe(1);
});

test("docker login's stored credentials go with the search (X-Registry-Auth) to a registry demanding them", async () => {
  const env = await freshCli();
  // Not a 401 from the daemon, which would make the docker CLI prompt for a Docker Hub login.
  const refused = await docker(env, ['search', `${basic.host}/busy`]);
  expect(refused.stderr).toMatch(/^Error response from daemon: Unexpected status code 401/);
  expect(refused.code).toBe(1);
  await docker(env, ['login', basic.host, '-u', 'alice', '--password-stdin'], { input: `${USERS.alice}\n` });
  const found = await docker(env, ['search', '--format', '{{.Name}}', `${basic.host}/busy`]);
  expect(found.stdout).toBe('private/busybox\n');
});

test("RemoteEngine.searchImages sends the term's registry credentials and the filters", async () => {
  const remote = new RemoteEngine({ host: `unix://${t.socket}`, registryAuth: async (host) => (host === basic.host ? { username: 'alice', password: USERS.alice } : undefined) });
  try {
    expect((await remote.searchImages(`${basic.host}/busy`)).map((r) => r.name)).toEqual(['private/busybox']);
    expect((await remote.searchImages(`${index.host}/busy`, { filters: { stars: ['50'] }, limit: 3 })).map((r) => r.name)).toEqual(['busybox', 'radial/busyboxplus']);
  } finally {
    remote.close();
  }
});
