/**
 * `ctr login` / `ctr logout` on `$DOCKER_CONFIG/config.json` (as docker keeps it), and
 * `ctr push` / `ctr pull` of a private image with what login stored — in the file, or
 * through a credential helper. The registry is ctr's own on 127.0.0.1, demanding Basic auth.
 */
import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { ctrOn, importBusybox, type CtrOn, type CtrResult } from './local-ctr';

const PASSWORD = 'cli-wonderland';

let work: string;
let registry: RegistryServer;
let host: string;
let on: CtrOn;

function ctr(env: NodeJS.ProcessEnv, args: string[], input?: string): Promise<CtrResult> {
  return on.runWith({ env, ...(input !== undefined ? { input } : {}) }, ...args);
}

/** An environment whose docker config directory is new and empty (and no TTY: stdin is a pipe). */
async function freshEnv(extraPath?: string): Promise<NodeJS.ProcessEnv> {
  const dir = await mkdtemp(join(work, 'docker-config-'));
  return { ...process.env, DOCKER_CONFIG: dir, PATH: `${extraPath ? `${extraPath}:` : ''}${process.env.PATH ?? ''}` };
}

const configFile = (env: NodeJS.ProcessEnv): string => join(env.DOCKER_CONFIG as string, 'config.json');
const readConfig = async (env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> => JSON.parse(await readFile(configFile(env), 'utf8')) as Record<string, unknown>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-cli-login-'));
  on = ctrOn(join(work, 'root'), join(work, 'run'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry'), auth: { type: 'basic', users: { alice: PASSWORD } } });
  await registry.listen();
  host = registry.host;
  await importBusybox(on);
});

afterAll(async () => {
  await registry?.close();
  await rm(work, { recursive: true, force: true });
});

test('login with --password-stdin stores the credentials as docker does, mode 0600, other keys kept', async () => {
  const env = await freshEnv();
  await writeFile(configFile(env), JSON.stringify({ psFormat: 'table {{.Names}}', auths: { 'other.example:5000': { auth: 'eDp5' } } }));
  const login = await ctr(env, ['login', host, '-u', 'alice', '--password-stdin'], `${PASSWORD}\n`);
  expect(login.stdout).toBe('Login Succeeded\n');
  expect(login.stderr).toContain(`WARNING! Your credentials are stored unencrypted in '${configFile(env)}'.`);
  expect(login.code).toBe(0);
  expect(await readConfig(env)).toEqual({
    psFormat: 'table {{.Names}}',
    auths: { 'other.example:5000': { auth: 'eDp5' }, [host]: { auth: Buffer.from(`alice:${PASSWORD}`).toString('base64') } },
  });
  expect((await stat(configFile(env))).mode & 0o777).toBe(0o600);
});

test("a wrong password fails with docker's message and exit 1, storing nothing", async () => {
  const env = await freshEnv();
  const login = await ctr(env, ['login', `http://${host}`, '-u', 'alice', '--password-stdin'], 'wrong');
  expect(login).toEqual({ code: 1, stdout: '', stderr: `Error response from daemon: login attempt to http://${host}/v2/ failed with status: 401 Unauthorized\n` });
  expect(await readdir(env.DOCKER_CONFIG as string)).toEqual([]);
});

test('-p works and warns that it is insecure', async () => {
  const env = await freshEnv();
  const login = await ctr(env, ['login', '-u', 'alice', '-p', PASSWORD, host]);
  expect(login.stderr.split('\n')[0]).toBe('WARNING! Using --password via the CLI is insecure. Use --password-stdin.');
  expect(login.stdout).toBe('Login Succeeded\n');
});

test("bad flag combinations and a login without a terminal fail with docker's words", async () => {
  const env = await freshEnv();
  expect(await ctr(env, ['login', host, '-u', 'a', '-p', 'b', '--password-stdin'], 'x')).toEqual({
    code: 1,
    stdout: '',
    stderr: 'conflicting options: cannot specify both --password and --password-stdin\n',
  });
  expect(await ctr(env, ['login', host, '--password-stdin'], 'x')).toEqual({ code: 1, stdout: '', stderr: 'the --password-stdin option requires --username to be set\n' });
  expect(await ctr(env, ['login', host])).toEqual({ code: 1, stdout: '', stderr: 'Error: Cannot perform an interactive login from a non TTY device\n' });
  expect(await readdir(env.DOCKER_CONFIG as string)).toEqual([]);
});

test('after login, push and pull of a private image work; after logout they are refused', async () => {
  const env = await freshEnv();
  const name = `${host}/cli/private:v1`;
  expect((await ctr(env, ['tag', 'busybox', name])).code).toBe(0);
  const refused = await ctr(env, ['push', name]);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain('unauthorized');
  expect((await ctr(env, ['login', host, '-u', 'alice', '--password-stdin'], PASSWORD)).code).toBe(0);
  expect(await ctr(env, ['push', name])).toMatchObject({ code: 0, stdout: expect.stringMatching(/v1: digest: sha256:[a-f0-9]{64}/) });
  expect((await ctr(env, ['rmi', name])).code).toBe(0);
  expect(await ctr(env, ['pull', name])).toMatchObject({ code: 0, stdout: expect.stringContaining(`Status: Downloaded newer image for ${name}`) });
  expect(await ctr(env, ['logout', host])).toEqual({ code: 0, stdout: `Removing login credentials for ${host}\n`, stderr: '' });
  expect(await readConfig(env)).toEqual({ auths: {} });
  expect((await stat(configFile(env))).mode & 0o777).toBe(0o600);
  expect(await ctr(env, ['logout', host])).toEqual({ code: 0, stdout: `Removing login credentials for ${host}\n`, stderr: '' });
  expect((await ctr(env, ['rmi', name])).code).toBe(0);
  const anonymous = await ctr(env, ['pull', name]);
  expect(anonymous.code).not.toBe(0);
  expect(anonymous.stderr).toContain('unauthorized');
});

test('login again with no password uses the stored credentials', async () => {
  const env = await freshEnv();
  expect((await ctr(env, ['login', host, '-u', 'alice', '--password-stdin'], PASSWORD)).code).toBe(0);
  expect(await ctr(env, ['login', host])).toEqual({ code: 0, stdout: 'Authenticating with existing credentials...\nLogin Succeeded\n', stderr: '' });
});

test('with a credsStore, login and logout go through the credential helper; push and pull use it', async () => {
  const helperDir = await mkdtemp(join(work, 'helper-'));
  const store = join(helperDir, 'store');
  await mkdir(store);
  await writeFile(
    join(helperDir, 'docker-credential-ctrcli'),
    [
      '#!/bin/sh',
      'input=$(cat)',
      'case "$1" in',
      `  store) echo "$input" > ${store}/secret ;;`,
      `  get) [ -f ${store}/secret ] || { echo "credentials not found in native keychain"; exit 1; }; cat ${store}/secret ;;`,
      `  erase) rm -f ${store}/secret ;;`,
      'esac',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const env = await freshEnv(helperDir);
  await writeFile(configFile(env), JSON.stringify({ credsStore: 'ctrcli' }));
  const login = await ctr(env, ['login', host, '-u', 'alice', '--password-stdin'], PASSWORD);
  expect(login).toEqual({ code: 0, stdout: 'Login Succeeded\n', stderr: '' });
  expect(await readConfig(env)).toEqual({ credsStore: 'ctrcli', auths: { [host]: {} } });
  expect(JSON.parse(await readFile(join(store, 'secret'), 'utf8'))).toEqual({ ServerURL: host, Username: 'alice', Secret: PASSWORD });
  const name = `${host}/cli/helper:v1`;
  await ctr(env, ['tag', 'busybox', name]);
  expect((await ctr(env, ['push', name])).code).toBe(0);
  await ctr(env, ['rmi', name]);
  expect((await ctr(env, ['pull', name])).code).toBe(0);
  await ctr(env, ['rmi', name]);
  expect(await ctr(env, ['logout', host])).toMatchObject({ code: 0, stdout: `Removing login credentials for ${host}\n` });
  expect(await readdir(store)).toEqual([]);
});
