/**
 * `ctr -H unix://… login`: as `docker login` with a daemon, the DAEMON checks the credentials
 * (`POST /auth`) and the client stores them in its own `$DOCKER_CONFIG/config.json`.
 *
 * How the tests know the check happened on the daemon side: ctrd runs in this jest process
 * while ctr runs as a separate process, so the only way the test daemon's `engine.login`
 * can be called is through its API. A jest spy on it records each call and still runs the
 * real check against the real registry (ctr's RegistryServer with Basic auth on 127.0.0.1).
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { cleanEnv, ctr, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

const PASSWORD = 'daemon-wonderland';

let t: TestDaemon;
let work: string;
let registry: RegistryServer;
let daemonLogin: jest.SpiedFunction<TestDaemon['daemon']['engine']['login']>;
let realLogin: TestDaemon['daemon']['engine']['login'];

/** `ctr -H <host> login …` with a new, empty docker config directory (returned as `dir`). */
async function login(host: string, args: string[], input?: string): Promise<Result & { dir: string }> {
  const dir = await mkdtemp(join(work, 'docker-config-'));
  const env = cleanEnv({ CTR_CONFIG: join(work, 'ctr-config'), DOCKER_CONFIG: dir });
  const result = await ctr(['-H', host, 'login', ...args], { env, ...(input !== undefined ? { input } : {}) });
  return { ...result, dir };
}

beforeAll(async () => {
  t = await startTestDaemon();
  work = await mkdtemp(join(tmpdir(), 'ctr-login-daemon-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry'), auth: { type: 'basic', users: { alice: PASSWORD } } });
  await registry.listen();
  realLogin = t.daemon.engine.login.bind(t.daemon.engine);
  daemonLogin = jest.spyOn(t.daemon.engine, 'login');
});

afterEach(() => daemonLogin.mockClear());

afterAll(async () => {
  daemonLogin?.mockRestore();
  await registry?.close();
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

test('the right password is checked by the daemon, then stored by the client', async () => {
  const result = await login(`unix://${t.socket}`, [registry.host, '-u', 'alice', '--password-stdin'], `${PASSWORD}\n`);
  expect(result.stdout).toBe('Login Succeeded\n');
  expect(result.code).toBe(0);
  expect(daemonLogin).toHaveBeenCalledTimes(1);
  expect(daemonLogin.mock.calls[0]![0]).toEqual({ username: 'alice', password: PASSWORD, serveraddress: registry.host });
  const config = JSON.parse(await readFile(join(result.dir, 'config.json'), 'utf8')) as unknown;
  expect(config).toEqual({ auths: { [registry.host]: { auth: Buffer.from(`alice:${PASSWORD}`).toString('base64') } } });
});

test("a wrong password fails with the daemon's message after docker's prefix, exit 1, nothing stored", async () => {
  const result = await login(`unix://${t.socket}`, [registry.host, '-u', 'alice', '--password-stdin'], 'wrong\n');
  expect(result).toMatchObject({
    code: 1,
    stdout: '',
    stderr: `Error response from daemon: login attempt to http://${registry.host}/v2/ failed with status: 401 Unauthorized\n`,
  });
  expect(daemonLogin).toHaveBeenCalledTimes(1);
  expect(await readdir(result.dir)).toEqual([]);
});

test('an IdentityToken the daemon returns is stored instead of the password', async () => {
  // ctrd's registries never issue identity tokens (dockerd's do, for OAuth registries):
  // the real check runs, and its answer is the one dockerd gives in that case.
  daemonLogin.mockImplementationOnce(async (auth, options) => ({ ...(await realLogin(auth, options)), IdentityToken: 'refresh-me' }));
  const result = await login(`unix://${t.socket}`, [registry.host, '-u', 'alice', '--password-stdin'], PASSWORD);
  expect(result.code).toBe(0);
  const config = JSON.parse(await readFile(join(result.dir, 'config.json'), 'utf8')) as unknown;
  expect(config).toEqual({ auths: { [registry.host]: { auth: Buffer.from('alice:').toString('base64'), identitytoken: 'refresh-me' } } });
});

test('a daemon that cannot be reached at all leaves the check to the client, as docker does', async () => {
  const result = await login(`unix://${join(work, 'nobody.sock')}`, [registry.host, '-u', 'alice', '--password-stdin'], PASSWORD);
  expect(result.stdout).toBe('Login Succeeded\n');
  expect(result.code).toBe(0);
  expect(daemonLogin).not.toHaveBeenCalled();
});
