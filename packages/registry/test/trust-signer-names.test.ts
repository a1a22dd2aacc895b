/**
 * A signer's name becomes exactly one delegation role, `targets/<name>`, and every later use (the
 * delegation, the key file's `role:` header, what is printed) is that role: a name that would
 * normalise into another role (`x/../alice`), or carry a line into a key file's headers, is
 * refused before anything is written to the trust directory or the Notary. And docker.io's
 * trust server is verified whatever the insecure-registries list says, as docker keeps the
 * official index secure. A Notary on 127.0.0.1.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generateKey, encodePem, trustServerVerified, type RegistryServer } from '@ctr/registry';
import { CtrError } from '@ctr/errors';
import { startTrustServers, type TrustServers } from './support/notary';
import { call } from './support/trust-server-helpers';

let servers: TrustServers;
let notary: RegistryServer;

beforeAll(async () => {
  servers = await startTrustServers('ctr-trust-signer-names-');
  notary = servers.notary;
});

afterEach(() => servers.closeClients());

afterAll(async () => {
  await servers?.close();
});

async function failure(promise: Promise<unknown>): Promise<CtrError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CtrError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

const exists = (file: string): Promise<boolean> =>
  fs.access(file).then(
    () => true,
    () => false,
  );

async function published(gun: string): Promise<number> {
  return (await call(`${notary.url}/v2/${gun}/_trust/tuf/root.json`, { ca: servers.ca })).status;
}

/** A name, and the role path.Join would have quietly made of it. */
const HOSTILE: [string, string][] = [
  ['with a slash that normalises away', 'alice/.'],
  ['with a .. segment', 'x/../alice'],
  ['with a line break that would add a gun: header', 'z/a\ngun: evil/..'],
];

describe.each(HOSTILE)('a signer name %s', (_what, name) => {
  test('is refused when it would initialize a repository, with nothing written to the trust directory or the Notary', async () => {
    const gun = `127.0.0.1:5000/names/init-${HOSTILE.findIndex(([, n]) => n === name)}`;
    const config = servers.newConfig();
    const error = await failure(servers.client(gun, config).initializeWithSigner(name));
    expect(error.code).toBe('InvalidArgument');
    expect(error.message).toMatch(/^could not add signer to repo: .*: tuf: invalid role "?targets\/.*\. invalid delegation role name$/);
    expect(error.message).not.toContain('\n');
    expect(await exists(config)).toBe(false);
    expect(await published(gun)).toBe(404);
  });

  test('is refused as a signer added to a repository, with nothing written to the trust directory or the Notary', async () => {
    const gun = `127.0.0.1:5000/names/add-${HOSTILE.findIndex(([, n]) => n === name)}`;
    const config = servers.newConfig();
    const error = await failure(servers.client(gun, config).addSigner(name, [generateKey().public]));
    expect(error.code).toBe('InvalidArgument');
    expect(await exists(config)).toBe(false);
    expect(await published(gun)).toBe(404);
  });
});

test('the line break of a refused name is shown escaped, so it cannot forge a line of the error', async () => {
  const error = await failure(servers.client('127.0.0.1:5000/names/shown', servers.newConfig()).initializeWithSigner('z/a\ngun: evil/..'));
  expect(error.message).toBe('could not add signer to repo: "z/a\\ngun: evil/..": tuf: invalid role "targets/z/a\\ngun: evil/..". invalid delegation role name');
});

test.each(['Alice', 'andré'])('a name notary has no delegation for (%s: only lowercase ASCII letters, digits, - and _) is refused in docker\'s words, nothing published', async (name) => {
  const gun = `127.0.0.1:5000/names/case-${name.length}`;
  const error = await failure(servers.client(gun, servers.newConfig()).initializeWithSigner(name));
  expect(error).toEqual(new CtrError('InvalidArgument', `could not add signer to repo: ${name}: tuf: invalid role targets/${name}. invalid delegation role name`));
  expect(await published(gun)).toBe(404);
});

test("a plain name is the signer: its role is targets/<name>, its key file's role header the name, and nothing else", async () => {
  const gun = '127.0.0.1:5000/names/plain';
  const config = servers.newConfig();
  expect(await servers.client(gun, config).initializeWithSigner('alice')).toBe('targets/alice');
  const delegations = (await servers.client(gun, servers.newConfig()).roles()).delegations.map((role) => role.name).sort();
  expect(delegations).toEqual(['targets/alice', 'targets/releases']);
  const dir = path.join(config, 'trust', 'private');
  const headers = await Promise.all((await fs.readdir(dir)).map(async (file) => (await fs.readFile(path.join(dir, file), 'utf8')).split('\n\n')[0]));
  expect(headers).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: alice');
});

test('a PEM header value with a line break is refused rather than written as a header of its own', () => {
  expect(() => encodePem('ENCRYPTED PRIVATE KEY', Buffer.from('key'), { role: 'alice\ngun: evil' })).toThrow(
    new CtrError('InvalidArgument', 'pem: cannot encode the role header: its value "alice\\ngun: evil" contains a line break'),
  );
});

describe("whether the trust server's certificate is verified", () => {
  test("docker.io's (notary.docker.io) is, even with docker.io listed as an insecure registry", () => {
    expect(trustServerVerified('docker.io', ['docker.io'])).toBe(true);
  });

  test('a loopback registry listed insecure is not, as before', () => {
    expect(trustServerVerified('127.0.0.1:5000', ['127.0.0.1:5000'])).toBe(false);
  });

  test('a registry listed insecure is not', () => {
    expect(trustServerVerified('registry.example:5000', ['registry.example:5000'])).toBe(false);
  });
});
