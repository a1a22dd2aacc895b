/**
 * What `ctr login` and `ctr logout` print, in docker 28's words and layout: logout says it
 * removes the credentials whether or not there were any; a login that stores a password in
 * the config file sets its warning apart with a blank line before and after, below the
 * warning about `--password`. The registry is ctr's own on 127.0.0.1, demanding Basic auth.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { ctrOn, type CtrOn } from './local-ctr';

const PASSWORD = 'wording-pass';

let work: string;
let registry: RegistryServer;
let on: CtrOn;

/** An environment with a docker config directory of its own, new and empty. */
async function freshEnv(): Promise<NodeJS.ProcessEnv> {
  return { ...process.env, DOCKER_CONFIG: await mkdtemp(join(work, 'docker-config-')) };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-cli-login-wording-'));
  on = ctrOn(join(work, 'root'), join(work, 'run'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry'), auth: { type: 'basic', users: { alice: PASSWORD } } });
  await registry.listen();
});

afterAll(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('logout without a login says it removes the credentials, as docker 28 does', async () => {
  const env = await freshEnv();
  expect(await on.runWith({ env }, 'logout', registry.host)).toEqual({ code: 0, stdout: `Removing login credentials for ${registry.host}\n`, stderr: '' });
});

test('login -p warns about --password, then, after a blank line, that the password is stored unencrypted, then a blank line', async () => {
  const env = await freshEnv();
  const login = await on.runWith({ env }, 'login', '-u', 'alice', '-p', PASSWORD, registry.host);
  expect(login).toEqual({
    code: 0,
    stdout: 'Login Succeeded\n',
    stderr: [
      'WARNING! Using --password via the CLI is insecure. Use --password-stdin.',
      '',
      `WARNING! Your credentials are stored unencrypted in '${join(env.DOCKER_CONFIG as string, 'config.json')}'.`,
      'Configure a credential helper to remove this warning. See',
      'https://docs.docker.com/go/credential-store/',
      '',
      '',
    ].join('\n'),
  });
});
