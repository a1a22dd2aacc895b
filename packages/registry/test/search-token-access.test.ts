/**
 * `/v1/search` on a registry in token auth mode names only what the asker may see: a token
 * granted the catalog (`registry:catalog:search`, what dockerd asks for) sees every repository,
 * any other token only those it may pull; no token at all is challenged for the catalog scope
 * with a 401, as distribution challenges for its catalog.
 */
import { issueRegistryToken, RegistryClient, type AccessGrant } from '@ctr/registry';
import { pushRepositories } from './support/search-index';
import { startRegistry, type RunningRegistry } from './support/servers';
import { startTokenService, type TokenService } from './support/token-service';

const SECRET = 'ctr-search-secret';
const SERVICE = 'ctr-search-registry';
const USERS: Record<string, string> = { alice: 'wonderland' };

let tokens: TokenService;
let registry: RunningRegistry;

beforeAll(async () => {
  tokens = await startTokenService({ secret: SECRET, service: SERVICE, users: USERS });
  registry = await startRegistry({ auth: { type: 'token', realm: tokens.url, service: SERVICE, secret: SECRET } });
  await pushRepositories(registry.host, ['team/app', 'team/secret'], { username: 'alice', password: USERS.alice });
});

afterAll(async () => {
  await registry?.stop();
  await tokens?.stop();
});

function searchWith(access: AccessGrant[] | undefined): Promise<Response> {
  const headers: Record<string, string> = access === undefined ? {} : { Authorization: `Bearer ${issueRegistryToken({ secret: SECRET, service: SERVICE, access })}` };
  return fetch(`http://${registry.host}/v1/search?q=team`, { headers });
}

async function names(response: Response): Promise<{ names: string[]; count: number }> {
  const body = (await response.json()) as { num_results: number; results: { name: string }[] };
  return { names: body.results.map((r) => r.name), count: body.num_results };
}

test('without credentials: 401 with a Bearer challenge for the catalog scope', async () => {
  const response = await searchWith(undefined);
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toBe(`Bearer realm="${tokens.url}",service="${SERVICE}",scope="registry:catalog:search"`);
  expect(((await response.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('UNAUTHORIZED');
});

test('a token that may pull one repository finds only that one, and counts only it', async () => {
  const response = await searchWith([{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
  expect(response.status).toBe(200);
  expect(await names(response)).toEqual({ names: ['team/app'], count: 1 });
});

test('a token granted nothing finds nothing', async () => {
  expect(await names(await searchWith([]))).toEqual({ names: [], count: 0 });
});

test('a push-only grant, or a grant on the catalog of another kind, does not show a repository', async () => {
  const response = await searchWith([
    { type: 'repository', name: 'team/secret', actions: ['push'] },
    { type: 'repository', name: 'catalog', actions: ['search'] } as unknown as AccessGrant,
  ]);
  expect(await names(response)).toEqual({ names: [], count: 0 });
});

test('a token granted the catalog finds every repository', async () => {
  const response = await searchWith([{ type: 'registry', name: 'catalog', actions: ['search'] }]);
  expect(await names(response)).toEqual({ names: ['team/app', 'team/secret'], count: 2 });
});

test('a client follows the challenge to the token service for registry:catalog:search', async () => {
  const client = new RegistryClient();
  try {
    const found = await client.search(`${registry.host}/team`, { credentials: { username: 'alice', password: USERS.alice } });
    expect(found.results.map((r) => r.name)).toEqual(['team/app', 'team/secret']);
    expect(tokens.requests.at(-1)?.scopes).toEqual(['registry:catalog:search']);
  } finally {
    await client.close();
  }
});
