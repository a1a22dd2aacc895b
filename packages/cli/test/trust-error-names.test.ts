import { join } from 'node:path';
import type { RegistryServer } from '@ctr/registry';
import { startTrustServers, type TrustServers } from '../../registry/test/support/notary';
import { localCtr, type LocalCtr } from './local-ctr';

/**
 * `ctr trust` failures name the repository as the user typed it, in the words docker's trust
 * commands wrap notary's failure with.
 */
describe('ctr trust errors', () => {
  let ctr: LocalCtr;
  let servers: TrustServers;
  let registry: RegistryServer;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    ctr = await localCtr('trust-error-names');
    servers = await startTrustServers('ctr-cli-trust-error-names-');
    registry = servers.registry;
    env = servers.trusting(process.env, { DOCKER_CONFIG: join(servers.work, 'config'), DOCKER_CONTENT_TRUST: process.env.DOCKER_CONTENT_TRUST });
  }, 60_000);
  afterAll(async () => {
    await ctr?.cleanup();
    await servers?.close();
  });

  const trust = (...args: string[]): ReturnType<LocalCtr['run']> => ctr.runWith({ env }, 'trust', ...args);

  test('revoke of a tag without trust data wraps notary\'s words under the reference as typed', async () => {
    const repo = `${registry.host}/trust/none`;
    expect(await trust('revoke', `${repo}:v1`)).toMatchObject({
      code: 1,
      stderr: `could not remove signature for ${repo}:v1: ${servers.notary.host} does not have trust data for ${repo}\n`,
    });
  });

  test('signer remove from a repository without trust data says it could not retrieve its signers', async () => {
    const repo = `${registry.host}/trust/none`;
    expect(await trust('signer', 'remove', 'alice', repo)).toMatchObject({
      code: 1,
      stdout: `Removing signer "alice" from ${repo}...\n`,
      stderr: `error retrieving signers for ${repo}: ${servers.notary.host} does not have trust data for ${repo}\n\nerror removing signer from: ${repo}\n`,
    });
  });
});
