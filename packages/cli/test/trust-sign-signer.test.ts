import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { decodePem, type RegistryServer } from '@ctr/registry';
import { startTrustServers, type TrustServers } from '../../registry/test/support/notary';
import { call } from '../../registry/test/support/trust-server-helpers';
import { localCtr, type LocalCtr } from './local-ctr';

/**
 * `ctr trust sign` of a repository without trust data, as docker-cli's sign.go does it: the
 * repository is made with a signer named for the user logged in to its registry
 * (initNotaryRepoWithSigners), and the tag is signed into that signer's role and
 * targets/releases. A Notary and a registry on 127.0.0.1.
 */
describe('ctr trust sign of a repository not yet signed', () => {
  let ctr: LocalCtr;
  let servers: TrustServers;
  let registry: RegistryServer;
  beforeAll(async () => {
    ctr = await localCtr('trust-sign-signer');
    servers = await startTrustServers('ctr-cli-trust-sign-signer-');
    ({ registry } = servers);
  }, 60_000);
  afterAll(async () => {
    await ctr?.cleanup();
    await servers?.close();
  });

  /** A docker config logged in to the test registry as `username` (none: logged in nowhere), trust server and passphrases set. */
  async function configFor(username?: string): Promise<NodeJS.ProcessEnv> {
    const env = servers.trusting(process.env, { DOCKER_CONTENT_TRUST: process.env.DOCKER_CONTENT_TRUST });
    const dir = env.DOCKER_CONFIG as string;
    await fs.mkdir(dir, { recursive: true });
    const auths = username === undefined ? {} : { [registry.host]: { auth: Buffer.from(`${username}:secret`).toString('base64') } };
    await fs.writeFile(join(dir, 'config.json'), JSON.stringify({ auths }));
    return env;
  }

  async function tagged(repo: string): Promise<void> {
    expect((await ctr.run('tag', 'busybox', `${repo}:v1`)).code).toBe(0);
  }

  interface Inspected {
    SignedTags: { SignedTag: string; Signers: string[] }[];
    Signers: { Name: string; Keys: { ID: string }[] }[];
  }
  async function inspect(env: NodeJS.ProcessEnv, image: string): Promise<Inspected | undefined> {
    return (JSON.parse((await ctr.runWith({ env }, 'trust', 'inspect', image)).stdout) as Inspected[])[0];
  }

  /** The private keys in a docker config's trust store: key ID → its PEM headers. */
  async function privateKeys(env: NodeJS.ProcessEnv): Promise<Map<string, Record<string, string>>> {
    const dir = join(env.DOCKER_CONFIG as string, 'trust', 'private');
    const out = new Map<string, Record<string, string>>();
    for (const file of await fs.readdir(dir)) out.set(file.replace(/\.key$/, ''), decodePem(await fs.readFile(join(dir, file), 'utf8'))?.headers ?? {});
    return out;
  }

  test('a logged-in user becomes the signer: "Created signer", then the tag is pushed and signed into targets/<user> and targets/releases', async () => {
    const repo = `${registry.host}/signer/first`;
    const env = await configFor('alice');
    await tagged(repo);
    const signed = await ctr.runWith({ env }, 'trust', 'sign', `${repo}:v1`);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toMatch(new RegExp(`^Created signer: alice\\nFinished initializing signed repository for ${repo}:v1\\nThe push refers to repository \\[${repo}\\]\\n(?:[0-9a-f]{12}: .*\\n)+v1: digest: sha256:[0-9a-f]{64} size: \\d+\\nSigning and pushing trust metadata\\nSuccessfully signed ${repo}:v1\\n$`));
    expect(signed.stderr).toBe(`Signing and pushing trust data for local image ${repo}:v1, may overwrite remote trust data\n`);

    const inspected = await inspect(env, `${repo}:v1`);
    expect(inspected?.SignedTags.map((row) => [row.SignedTag, row.Signers])).toEqual([['v1', ['alice']]]);
    const aliceKey = inspected?.Signers.find((s) => s.Name === 'alice')?.Keys[0]?.ID as string;
    expect(inspected?.Signers.map((s) => s.Name)).toEqual(['alice']);
    // As docker's getOrGenerateNotaryKey makes it: a key for the role "alice", of no repository.
    expect((await privateKeys(env)).get(aliceKey)).toEqual({ role: 'alice' });
  });

  test('the delegations are published with the repository: targets/alice and targets/releases both hold the signer key', async () => {
    const repo = `${registry.host}/signer/delegations`;
    const env = await configFor('alice');
    await tagged(repo);
    expect((await ctr.runWith({ env }, 'trust', 'sign', `${repo}:v1`)).code).toBe(0);
    const reply = await call(`${servers.notary.url}/v2/${repo}/_trust/tuf/targets.json`, { ca: servers.ca });
    const targets = JSON.parse(reply.body.toString('utf8')) as { signed: { delegations: { roles: { name: string; keyids: string[]; paths: string[] }[] } } };
    const roles = targets.signed.delegations.roles;
    expect(roles.map((r) => r.name).sort()).toEqual(['targets/alice', 'targets/releases']);
    expect(roles[0]?.keyids).toHaveLength(1);
    expect(roles[1]?.keyids).toEqual(roles[0]?.keyids);
    expect(roles.map((r) => r.paths)).toEqual([[''], ['']]);
  });

  test("the user's signer key already in the store is the one a new repository delegates to", async () => {
    const env = await configFor('bob');
    const generated = await ctr.runWith({ env }, 'trust', 'key', 'generate', 'bob', '--dir', servers.work);
    expect(generated.code).toBe(0);
    const [bobKey] = [...(await privateKeys(env))].find(([, headers]) => headers.role === 'bob') ?? [];
    const repo = `${registry.host}/signer/existing-key`;
    await tagged(repo);
    expect((await ctr.runWith({ env }, 'trust', 'sign', `${repo}:v1`)).code).toBe(0);
    expect((await inspect(env, `${repo}:v1`))?.Signers).toEqual([{ Name: 'bob', Keys: [{ ID: bobKey }] }]);
  });

  test('a user named releases is the signer docker names: "Created signer: releases", not the Repo Admin it signs as', async () => {
    const repo = `${registry.host}/signer/releases`;
    const env = await configFor('releases');
    await tagged(repo);
    const signed = await ctr.runWith({ env }, 'trust', 'sign', `${repo}:v1`);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toMatch(new RegExp(`^Created signer: releases\\nFinished initializing signed repository for ${repo}:v1\\n`));
  });

  test('not logged in, the repository is refused as docker refuses it, and nothing is pushed or published', async () => {
    const repo = `${registry.host}/signer/anonymous`;
    const env = await configFor();
    await tagged(repo);
    const refused = await ctr.runWith({ env }, 'trust', 'sign', `${repo}:v1`);
    expect(refused).toMatchObject({ code: 1, stdout: '', stderr: 'could not add signer to repo: targets: tuf: invalid role targets. invalid delegation role name\n' });
    expect((await call(`${servers.notary.url}/v2/${repo}/_trust/tuf/root.json`, { ca: servers.ca })).status).toBe(404);
    expect((await call(`${registry.url}/v2/${repo.slice(registry.host.length + 1)}/manifests/v1`)).status).toBe(404);
  });

  test('a username notary cannot name a role with is refused in notary\'s words', async () => {
    const repo = `${registry.host}/signer/email`;
    const env = await configFor('carol@example.com');
    await tagged(repo);
    const refused = await ctr.runWith({ env }, 'trust', 'sign', `${repo}:v1`);
    expect(refused).toMatchObject({ code: 1, stderr: 'could not add signer to repo: carol@example.com: tuf: invalid role targets/carol@example.com. invalid delegation role name\n' });
  });

  test('a username that path.Join would turn into another role is refused, and nothing is pushed or published', async () => {
    const repo = `${registry.host}/signer/dotdot`;
    const env = await configFor('x/../alice');
    await tagged(repo);
    const refused = await ctr.runWith({ env }, 'trust', 'sign', `${repo}:v1`);
    expect(refused).toMatchObject({ code: 1, stdout: '', stderr: 'could not add signer to repo: x/../alice: tuf: invalid role targets/x/../alice. invalid delegation role name\n' });
    expect((await call(`${servers.notary.url}/v2/${repo}/_trust/tuf/root.json`, { ca: servers.ca })).status).toBe(404);
    expect((await call(`${registry.url}/v2/${repo.slice(registry.host.length + 1)}/manifests/v1`)).status).toBe(404);
  });

  test('an image that is not here is refused before the repository is made', async () => {
    const repo = `${registry.host}/signer/absent`;
    const env = await configFor('alice');
    const refused = await ctr.runWith({ env }, 'trust', 'sign', `${repo}:v1`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`Error response from daemon: No such image: ${repo}:v1\n`);
    expect((await call(`${servers.notary.url}/v2/${repo}/_trust/tuf/root.json`, { ca: servers.ca })).status).toBe(404);
  });
});
