/**
 * Trust failures named as docker's trust commands name them: NotaryError with the repository
 * as the user typed it (`trust signer add`), or notary's own words where docker wraps the
 * failure itself (`trust revoke`, `trust signer remove`).
 */
import { trustErrorNaming, trustReason, type RegistryServer } from '@ctr/registry';
import { startTrustServers, type TrustServers } from './support/notary';

let servers: TrustServers;
let server: RegistryServer;

beforeAll(async () => {
  servers = await startTrustServers('ctr-trust-error-names-');
  server = servers.notary;
});

afterEach(() => servers.closeClients());

afterAll(async () => {
  await servers?.close();
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

const gun = '127.0.0.1:5000/app/unnamed';

test('a trust failure named for the repository as typed keeps its kind and notary\'s words', async () => {
  const error = await failure(servers.client(gun, servers.newConfig()).target('latest'));
  const named = trustErrorNaming(error, 'app/unnamed:v1') as Error & { code?: string };
  expect(named.message).toBe(`Error: remote trust data does not exist for app/unnamed:v1: ${server.host} does not have trust data for ${gun}`);
  expect(named.code).toBe('NotFound');
});

test("a trust failure's reason is notary's words without docker's NotaryError prefix", async () => {
  const error = await failure(servers.client(gun, servers.newConfig()).target('latest'));
  expect(trustReason(error)).toBe(`${server.host} does not have trust data for ${gun}`);
});

test('an error that is no trust failure is left as it was', () => {
  const plain = new Error('disk full');
  expect(trustErrorNaming(plain, 'app')).toBe(plain);
  expect(trustReason(plain)).toBe('disk full');
});
