import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { RegistryServer } from '@ctr/registry';
import { startTrustServers, type TrustServers } from '../../registry/test/support/notary';
import { localCtr, type LocalCtr } from './local-ctr';

/**
 * `ctr trust`: docker's trust commands against a Notary on 127.0.0.1 — a signer's key
 * generated, added to a repository, signing into targets/releases; inspect (JSON and
 * --pretty) and revoke as docker prints them.
 */
describe('ctr trust', () => {
  let ctr: LocalCtr;
  let servers: TrustServers;
  let work: string;
  let registry: RegistryServer;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    ctr = await localCtr('trust-commands');
    servers = await startTrustServers('ctr-cli-trust-commands-');
    ({ work, registry } = servers);
    // one docker config for the file (a key loaded by one test signs in the next); the trust commands need no DOCKER_CONTENT_TRUST
    env = servers.trusting(process.env, { DOCKER_CONFIG: join(work, 'config'), DOCKER_CONTENT_TRUST: process.env.DOCKER_CONTENT_TRUST });
  }, 60_000);
  afterAll(async () => {
    await ctr?.cleanup();
    await servers?.close();
  });

  const trust = (...args: string[]): ReturnType<LocalCtr['run']> => ctr.runWith({ env }, 'trust', ...args);

  test('key generate writes NAME.pub and loads the private key; signer add initializes the repository; sign goes into the signer\'s roles', async () => {
    const repo = `${registry.host}/trust/signed`;
    const generated = await trust('key', 'generate', 'alice', '--dir', work);
    expect(generated).toMatchObject({ code: 0, stdout: `Generating key for alice...\nSuccessfully generated and loaded private key. Corresponding public key available: ${join(work, 'alice.pub')}\n` });
    expect(await fs.readFile(join(work, 'alice.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\nrole: alice\n\n/);
    const added = await trust('signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo);
    expect(added).toMatchObject({
      code: 0,
      stdout: `Adding signer "alice" to ${repo}...\nInitializing signed repository for ${repo}...\nSuccessfully initialized "${repo}"\nSuccessfully added signer: alice to ${repo}\n\n`,
    });
    expect((await ctr.run('tag', 'busybox', `${repo}:v1`)).code).toBe(0);
    const signed = await trust('sign', `${repo}:v1`);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toContain(`Successfully signed ${repo}:v1\n`);

    const inspected = JSON.parse((await trust('inspect', `${repo}:v1`)).stdout) as { SignedTags: { SignedTag: string; Signers: string[] }[]; Signers: { Name: string }[] }[];
    expect(inspected[0]?.SignedTags.map((row) => [row.SignedTag, row.Signers])).toEqual([['v1', ['alice']]]);
    expect(inspected[0]?.Signers.map((s) => s.Name)).toEqual(['alice']);
    const pretty = await trust('inspect', '--pretty', `${repo}:v1`);
    expect(pretty.stdout).toMatch(new RegExp(`^\\nSignatures for ${repo}:v1\\n\\nSIGNED TAG +DIGEST +SIGNERS\\nv1 +[0-9a-f]{64} +alice\\n\\nList of signers and their keys for ${repo}:v1\\n\\nSIGNER +KEYS\\nalice +[0-9a-f]{12}\\n\\nAdministrative keys for ${repo}:v1\\n\\n  Repository Key:\\t[0-9a-f]{64}\\n  Root Key:\\t[0-9a-f]{64}\\n$`));
  });

  test('revoke removes a tag\'s signature; inspect of a repository without trust data fails as docker\'s does', async () => {
    const repo = `${registry.host}/trust/signed`;
    expect(await trust('revoke', `${repo}:v1`)).toMatchObject({ code: 0, stdout: `Successfully deleted signature for ${repo}:v1\n` });
    expect((await trust('inspect', '--pretty', `${repo}:v1`)).stdout).toContain(`\nNo signatures for ${repo}:v1\n\n`);
    const missing = await trust('inspect', `${registry.host}/trust/none`);
    expect(missing).toMatchObject({ code: 1, stdout: '[]\n', stderr: `no signatures or cannot access ${registry.host}/trust/none\n` });
  });

  test('sign refuses a reference without a tag, as docker does', async () => {
    expect(await trust('sign', `${registry.host}/trust/signed`)).toMatchObject({ code: 1, stderr: `no tag specified for ${registry.host}/trust/signed\n` });
  });

  test('signer remove of the signer of the last release asks first; answered no, nothing is removed', async () => {
    const repo = `${registry.host}/trust/signed`;
    expect((await trust('sign', `${repo}:v1`)).code).toBe(0);
    const asked = await ctr.runWith({ env, input: 'n\n' }, 'trust', 'signer', 'remove', 'alice', repo);
    expect(asked).toMatchObject({
      code: 0,
      stdout: `Removing signer "alice" from ${repo}...\nThe signer "alice" signed the last released version of ${repo}. Removing this signer will make ${repo} unpullable. Are you sure you want to continue? [y/N] \nAborting action.\n`,
    });
    const inspected = JSON.parse((await trust('inspect', `${repo}:v1`)).stdout) as { Signers: { Name: string }[] }[];
    expect(inspected[0]?.Signers.map((s) => s.Name)).toEqual(['alice']);
  });

  test('signer remove --force removes the signer without asking', async () => {
    const repo = `${registry.host}/trust/signed`;
    expect(await trust('signer', 'remove', '--force', 'alice', repo)).toMatchObject({ code: 0, stdout: `Removing signer "alice" from ${repo}...\nSuccessfully removed alice from ${repo}\n\n` });
    const inspected = JSON.parse((await trust('inspect', `${repo}:v1`)).stdout) as { Signers: { Name: string }[] }[];
    expect(inspected[0]?.Signers).toEqual([]);
  });

  test('an unknown command of a nested group is refused as a group\'s is', async () => {
    const unknown = await trust('key', 'bogus');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^ctr: unknown command: ctr trust key bogus\n\nUsage: {2}ctr trust key COMMAND\n\n/);
  });
});
