/**
 * The TrustClient against ctr's Notary server over HTTPS on 127.0.0.1 (a throwaway
 * certificate, unchecked as docker leaves a loopback registry's trust server unchecked):
 * signing initializes a repository the way docker's push does, tags resolve through the
 * verified chain, the root is pinned on first use where notary's client caches it, and every
 * refusal is docker's (no trust data, unknown tag, wrong passphrase, expired, tampered).
 */
import { createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Agent, request } from 'undici';
import {
  TrustKeyStore,
  decodePem,
  dockerPassphraseRetriever,
  dockerTrustDirectory,
  generateKey,
  trustServer,
  type RegistryServer,
} from '@ctr/registry';
import { PASSPHRASES as PASS, startTrustServers, type TrustServers } from './support/notary';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const OTHER = `sha256:${'cd'.repeat(32)}`;

let servers: TrustServers;
let server: RegistryServer;

beforeAll(async () => {
  servers = await startTrustServers('ctr-trust-client-');
  server = servers.notary;
});

afterEach(() => servers.closeClients());

afterAll(async () => {
  await servers?.close();
});

const newConfig = (): string => servers.newConfig();
const client: TrustServers['client'] = (gun, config, options) => servers.client(gun, config, options);

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a failure');
}

test("the trust server is docker's: DOCKER_CONTENT_TRUST_SERVER (https only), notary.docker.io for Docker Hub, else the registry over https", () => {
  expect(trustServer('127.0.0.1:5000', { DOCKER_CONTENT_TRUST_SERVER: 'https://127.0.0.1:4443' })).toBe('https://127.0.0.1:4443');
  expect(trustServer('docker.io', {})).toBe('https://notary.docker.io');
  expect(trustServer('registry.example:5000', {})).toBe('https://registry.example:5000');
  expect(() => trustServer('127.0.0.1:5000', { DOCKER_CONTENT_TRUST_SERVER: 'http://127.0.0.1:4443' })).toThrow('valid https URL required for trust server, got http://127.0.0.1:4443');
});

test('signing a tag of a repository without trust data initializes it, and the tag then resolves to the digest and size signed', async () => {
  const gun = '127.0.0.1:5000/app/init';
  const config = newConfig();
  let initialized = 0;
  await client(gun, config).sign({ name: 'v1', digest: DIGEST, size: 527 }, () => initialized++);
  expect(initialized).toBe(1);
  expect(await client(gun, newConfig()).target('v1')).toEqual({ name: 'v1', digest: DIGEST, size: 527, role: 'targets' });
});

test("the keys are docker's files: trust/private/<id>.key, encrypted PKCS#8 with role and gun headers, mode 0600, opened by their passphrase", async () => {
  const gun = '127.0.0.1:5000/app/keys';
  const config = newConfig();
  await client(gun, config).sign({ name: 'v1', digest: DIGEST, size: 1 });
  const dir = path.join(config, 'trust', 'private');
  const files = await fs.readdir(dir);
  expect(files).toHaveLength(2);
  const headers = [];
  for (const file of files) {
    expect(file).toMatch(/^[0-9a-f]{64}\.key$/);
    expect((await fs.stat(path.join(dir, file))).mode & 0o777).toBe(0o600);
    const block = decodePem(await fs.readFile(path.join(dir, file), 'utf8'));
    expect(block?.type).toBe('ENCRYPTED PRIVATE KEY');
    headers.push(block?.headers);
    const passphrase = block?.headers.role === 'root' ? PASS.DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE : PASS.DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE;
    const pem = `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${block?.body.toString('base64')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
    expect(createPrivateKey({ key: pem, passphrase }).asymmetricKeyType).toBe('ec');
    // notary derives with PBKDF2-HMAC-SHA1 only: no PRF (hmacWithSHA256's OID) may be named.
    expect(block?.body.includes(Buffer.from('2a864886f70d0209', 'hex'))).toBe(false);
  }
  expect(headers).toEqual(expect.arrayContaining([{ role: 'root' }, { role: 'targets', gun }]));
});

test("the root is pinned on first use where notary's client caches it, and a second repository reuses the root key", async () => {
  const config = newConfig();
  await client('127.0.0.1:5000/app/pin-a', config).sign({ name: 'v1', digest: DIGEST, size: 1 });
  await client('127.0.0.1:5000/app/pin-b', config).sign({ name: 'v1', digest: DIGEST, size: 1 });
  const metadata = path.join(config, 'trust', 'tuf', '127.0.0.1:5000', 'app', 'pin-a', 'metadata');
  expect((await fs.readdir(metadata)).sort()).toEqual(['root.json', 'targets.json']);
  await client('127.0.0.1:5000/app/pin-a', config).target('v1');
  expect((await fs.readdir(metadata)).sort()).toEqual(['root.json', 'snapshot.json', 'targets.json', 'timestamp.json']);
  const keys = new TrustKeyStore(dockerTrustDirectory({ DOCKER_CONFIG: config }), dockerPassphraseRetriever(PASS));
  expect(await keys.idsFor('root')).toHaveLength(1);
  expect(await keys.idsFor('targets')).toHaveLength(2);
});

test('signing again updates the tag in place; other tags stay', async () => {
  const gun = '127.0.0.1:5000/app/update';
  const config = newConfig();
  await client(gun, config).sign({ name: 'v1', digest: DIGEST, size: 1 });
  await client(gun, config).sign({ name: 'v2', digest: DIGEST, size: 2 });
  await client(gun, config).sign({ name: 'v1', digest: OTHER, size: 3 });
  const reader = client(gun, newConfig());
  expect((await reader.releasedTargets()).map((t) => [t.name, t.digest, t.size]).sort()).toEqual([
    ['v1', OTHER, 3],
    ['v2', DIGEST, 2],
  ]);
});

test('a repository without trust data is "remote trust data does not exist", in docker\'s words', async () => {
  const error = await failure(client('127.0.0.1:5000/app/unsigned', newConfig()).target('latest'));
  expect(error.message).toBe(`Error: remote trust data does not exist for 127.0.0.1:5000/app/unsigned: ${server.host} does not have trust data for 127.0.0.1:5000/app/unsigned`);
  expect(error.code).toBe('NotFound');
});

test('a tag that was never signed is "No valid trust data for <tag>"', async () => {
  const gun = '127.0.0.1:5000/app/notag';
  await client(gun, newConfig()).sign({ name: 'v1', digest: DIGEST, size: 1 });
  expect((await failure(client(gun, newConfig()).target('v2'))).message).toBe('No valid trust data for v2');
});

test('a wrong repository passphrase is asked again, then "password invalid, operation has failed."', async () => {
  const gun = '127.0.0.1:5000/app/passphrase';
  const config = newConfig();
  await client(gun, config).sign({ name: 'v1', digest: DIGEST, size: 1 });
  const error = await failure(client(gun, config, { env: { DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'wrong-passphrase' } }).sign({ name: 'v2', digest: DIGEST, size: 1 }));
  expect(error.message).toBe('password invalid, operation has failed.');
  // Prompted instead: notary's wording, a retry after the wrong one.
  const said: string[] = [];
  const answers = ['wrong-passphrase', PASS.DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE];
  const prompting = dockerPassphraseRetriever({}, { ask: async (question) => (said.push(question), answers.shift() ?? ''), say: (line) => void said.push(line) });
  await client(gun, config, { passphrases: prompting }).sign({ name: 'v2', digest: DIGEST, size: 1 });
  expect(said).toEqual([expect.stringMatching(/^Enter passphrase for repository key with ID [0-9a-f]{7}: $/), 'Passphrase incorrect. Please retry.', expect.stringMatching(/^Enter passphrase for repository key with ID/)]);
});

test('metadata past its expiry is refused: "remote repository … out-of-date"', async () => {
  const gun = '127.0.0.1:5000/app/expired';
  await client(gun, newConfig()).sign({ name: 'v1', digest: DIGEST, size: 1 });
  // The server's timestamp lives 14 days.
  const later = client(gun, newConfig(), { now: () => new Date(Date.now() + 15 * 24 * 3600_000) });
  expect((await failure(later.target('v1'))).message).toMatch(new RegExp(`^Error: remote repository ${gun} out-of-date: timestamp expired at `));
});

test('tampered metadata on the server is refused as docker warns of it, and nothing is resolved', async () => {
  const gun = '127.0.0.1:5000/app/tampered';
  await client(gun, newConfig()).sign({ name: 'v1', digest: DIGEST, size: 1 });
  await servers.tamperTargets(gun, DIGEST, OTHER);
  const error = await failure(client(gun, newConfig()).target('v1'));
  expect(error.message).toMatch(new RegExp(`^Warning: potential malicious behavior - trust data mismatch for remote repository ${gun}: sha256 checksum for targets did not match`));
});

test('a pinned root is kept: a repository whose root the server replaced is refused', async () => {
  const gun = '127.0.0.1:5000/app/replaced';
  const reader = newConfig();
  await client(gun, newConfig()).sign({ name: 'v1', digest: DIGEST, size: 1 });
  await client(gun, reader).target('v1');
  // Someone else deletes the trust data and starts over with keys of their own.
  const response = await fetchInsecure(`${server.url}/v2/${gun}/_trust/tuf/`, 'DELETE');
  expect(response).toBe(200);
  await client(gun, newConfig()).sign({ name: 'v1', digest: OTHER, size: 1 });
  const error = await failure(client(gun, reader).target('v1'));
  expect(error.message).toMatch(/^Warning: potential malicious behavior - trust data (mismatch|has insufficient signatures) for remote repository/);
});

test('a signer added as a delegation signs into targets/releases, which resolution prefers', async () => {
  const gun = '127.0.0.1:5000/app/signer';
  const admin = newConfig();
  const alice = newConfig();
  const aliceKey = generateKey();
  await new TrustKeyStore(dockerTrustDirectory({ DOCKER_CONFIG: alice }), dockerPassphraseRetriever(PASS)).add(aliceKey.privateKey, 'alice');
  expect(await client(gun, admin).addSigner('alice', [aliceKey.public])).toBe(true);
  await client(gun, alice).sign({ name: 'v1', digest: OTHER, size: 9 });
  const reader = client(gun, newConfig());
  expect(await reader.target('v1')).toEqual({ name: 'v1', digest: OTHER, size: 9, role: 'targets/releases' });
  expect((await reader.roles()).delegations.map((d) => d.name).sort()).toEqual(['targets/alice', 'targets/releases']);
  expect((await reader.signedTargets('v1')).map((t) => t.role).sort()).toEqual(['targets/alice', 'targets/releases']);
  expect(await client(gun, admin).removeSigner('alice')).toBe(true);
  expect((await client(gun, newConfig()).roles()).delegations.map((d) => d.name)).toEqual(['targets/releases']);
});

test('revoking a tag removes its signature; the other tags stay signed', async () => {
  const gun = '127.0.0.1:5000/app/revoke';
  const config = newConfig();
  await client(gun, config).sign({ name: 'v1', digest: DIGEST, size: 1 });
  await client(gun, config).sign({ name: 'v2', digest: DIGEST, size: 1 });
  await client(gun, config).revoke('v1');
  const reader = client(gun, newConfig());
  expect((await failure(reader.target('v1'))).message).toBe('No valid trust data for v1');
  expect((await reader.releasedTargets()).map((t) => t.name)).toEqual(['v2']);
});

/** A request to the test server, its self-signed certificate unchecked. */
async function fetchInsecure(url: string, method: string): Promise<number> {
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    const response = await request(url, { method, dispatcher: agent });
    await response.body.text();
    return response.statusCode;
  } finally {
    await agent.close();
  }
}
