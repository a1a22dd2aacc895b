import type { RegistryServer } from '@ctr/registry';
import { startTrustServers, type TrustServers } from '../../registry/test/support/notary';
import { localCtr, type LocalCtr } from './local-ctr';

/**
 * Docker Content Trust with ctr's in-process engine: with DOCKER_CONTENT_TRUST set, push signs
 * the tag on the Notary server (DOCKER_CONTENT_TRUST_SERVER: a 127.0.0.1 HTTPS server of the
 * test's), and pull, run and create resolve tags through verified trust data, refusing what is
 * not signed — unless told `--disable-content-trust`, as docker is.
 */
describe('content trust', () => {
  let ctr: LocalCtr;
  let servers: TrustServers;
  let registry: RegistryServer;
  let notary: RegistryServer;
  beforeAll(async () => {
    ctr = await localCtr('trust');
    servers = await startTrustServers('ctr-cli-trust-');
    ({ registry, notary } = servers);
  }, 60_000);
  afterAll(async () => {
    await ctr?.cleanup();
    await servers?.close();
  });

  /** Trust on, a docker config of its own, passphrases in the environment, the test's Notary. */
  const trusting = (): NodeJS.ProcessEnv => servers.trusting();

  /** busybox pushed as `repo:tag`, signed or not; resolves to the digest pushed. */
  async function pushed(repo: string, tag: string, env: NodeJS.ProcessEnv | undefined): Promise<string> {
    expect((await ctr.run('tag', 'busybox', `${repo}:${tag}`)).code).toBe(0);
    const push = env ? await ctr.runWith({ env }, 'push', `${repo}:${tag}`) : await ctr.run('push', `${repo}:${tag}`);
    expect(push).toMatchObject({ code: 0 });
    return /: digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1] as string;
  }

  test('push with trust on pushes, then signs the tag, initializing the repository as docker does', async () => {
    const repo = `${registry.host}/cli/push`;
    expect((await ctr.run('tag', 'busybox', `${repo}:v1`)).code).toBe(0);
    const push = await ctr.runWith({ env: trusting() }, 'push', `${repo}:v1`);
    expect(push).toMatchObject({ code: 0, stderr: '' });
    expect(push.stdout).toMatch(new RegExp(`v1: digest: sha256:[0-9a-f]{64} size: \\d+\\nSigning and pushing trust metadata\\nFinished initializing "${repo}"\\nSuccessfully signed ${repo}:v1\\n$`));
  });

  test('run with trust on makes the container from the digest the tag is signed as, pulled and tagged', async () => {
    const repo = `${registry.host}/cli/run`;
    const digest = await pushed(repo, 'v1', trusting());
    const run = await ctr.runWith({ env: trusting() }, 'run', '--rm', '--network', 'none', `${repo}:v1`, 'echo', 'verified');
    expect(run).toMatchObject({ code: 0, stdout: 'verified\n', stderr: '' });
    const create = await ctr.runWith({ env: trusting() }, 'create', '--network', 'none', `${repo}:v1`);
    expect(create.code).toBe(0);
    const image = await ctr.run('inspect', '--format', '{{.Config.Image}}', create.stdout.trim());
    await ctr.run('rm', create.stdout.trim());
    expect(image.stdout).toBe(`${repo}@${digest}\n`);
  });

  test('create with trust on of a tag nobody signed is refused in docker\'s words before anything is made, status 125', async () => {
    const repo = `${registry.host}/cli/unsigned`;
    await pushed(repo, 'v1', undefined);
    const create = await ctr.runWith({ env: trusting() }, 'create', '--network', 'none', `${repo}:v1`);
    expect(create.code).toBe(125);
    expect(create.stderr).toContain(`Error: remote trust data does not exist for ${repo}: ${notary.host} does not have trust data for ${repo}`);
    expect((await ctr.run('ps', '-aq')).stdout).toBe('');
  });

  test('pull with trust on says which signed digest it pulls, then tags it, as docker does', async () => {
    const repo = `${registry.host}/cli/pull`;
    const digest = await pushed(repo, 'latest', trusting());
    expect((await ctr.run('rmi', `${repo}:latest`)).code).toBe(0);
    const pull = await ctr.runWith({ env: trusting() }, 'pull', repo);
    expect(pull).toMatchObject({ code: 0, stderr: `Tagging ${repo}@${digest} as ${repo}:latest\n` });
    const lines = pull.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual(['Using default tag: latest', `Pull (1 of 1): ${repo}:latest@${digest}`, `${digest.slice(7)}: Pulling from cli/pull`.replace(digest.slice(7), digest)]);
    expect(lines.slice(-2)).toEqual([`${repo}:latest`, '']);
  });

  test('a tag the repository has not signed is "No valid trust data for <tag>"', async () => {
    const repo = `${registry.host}/cli/othertag`;
    await pushed(repo, 'v1', trusting());
    const pull = await ctr.runWith({ env: trusting() }, 'pull', `${repo}:v9`);
    expect({ code: pull.code, stderr: pull.stderr }).toEqual({ code: 1, stderr: 'No valid trust data for v9\n' });
  });

  test('a trust server that does not answer is docker\'s "error contacting notary server", status 1', async () => {
    const pull = await ctr.runWith({ env: { ...trusting(), DOCKER_CONTENT_TRUST_SERVER: 'https://127.0.0.1:9' } }, 'pull', '127.0.0.1:9/nothing-listens-here');
    expect(pull.code).toBe(1);
    expect(pull.stderr).toMatch(/^Error: error contacting notary server: /);
  });

  test('a trust server that is not https is refused as docker refuses it', async () => {
    const pull = await ctr.runWith({ env: { ...trusting(), DOCKER_CONTENT_TRUST_SERVER: 'http://127.0.0.1:9' } }, 'pull', '127.0.0.1:9/x');
    expect({ code: pull.code, stderr: pull.stderr }).toEqual({ code: 1, stderr: 'valid https URL required for trust server, got http://127.0.0.1:9\n' });
  });

  test('an image named by its ID runs with DOCKER_CONTENT_TRUST set: its content is named already, as docker asks no Notary for a digest', async () => {
    const id = (await ctr.run('image', 'inspect', '--format', '{{.Id}}', 'busybox')).stdout.trim();
    const run = await ctr.runWith({ env: trusting() }, 'run', '--rm', '--pull', 'never', '--network', 'none', id, 'echo', 'by id');
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 0, stdout: 'by id\n' });
  });

  test('--disable-content-trust runs the image unverified with DOCKER_CONTENT_TRUST set', async () => {
    const run = await ctr.runWith({ env: trusting() }, 'run', '--rm', '--disable-content-trust', '--pull', 'never', '--network', 'none', 'busybox', 'echo', 'unverified');
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 0, stdout: 'unverified\n' });
  });

  test('DOCKER_CONTENT_TRUST=0 leaves trust off, as docker reads a false boolean', async () => {
    const run = await ctr.runWith({ env: { ...trusting(), DOCKER_CONTENT_TRUST: 'false' } }, 'create', '--pull', 'never', '--network', 'none', 'busybox');
    expect(run.code).toBe(0);
  });
});
