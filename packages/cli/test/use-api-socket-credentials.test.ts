/**
 * `--use-api-socket` through ctrd, as docker's CLI 28 does it beyond the socket: the user's
 * credentials in a config.json of `auths` alone at /run/secrets/docker, with DOCKER_CONFIG
 * pointing there — unless the container's env names its own, or there are none.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, ctr, startTestDaemon, type TestDaemon } from './remote-fixture';

let t: TestDaemon;
let configDir: string;
beforeAll(async () => {
  t = await startTestDaemon();
  configDir = await mkdtemp(join(tmpdir(), 'ctr-api-socket-config-'));
  const auth = (text: string): string => Buffer.from(text).toString('base64');
  await writeFile(join(configDir, 'config.json'), JSON.stringify({ auths: { 'localhost:5000': { auth: auth('user:pass') }, 'https://index.docker.io/v1/': { auth: auth('hub:p<w'), email: 'x@y' } }, psFormat: 'table' }));
});
afterAll(async () => {
  await t?.cleanup();
  if (configDir) await rm(configDir, { recursive: true, force: true });
});
afterEach(() => {
  expect(t.internalErrors).toEqual([]);
});

const env = (config: string = configDir): NodeJS.ProcessEnv => cleanEnv({ DOCKER_HOST: `unix://${t.socket}`, DOCKER_CONFIG: config });
const run = (args: string[], config?: string): ReturnType<typeof ctr> => ctr(['run', '--rm', '--network', 'none', '--pull', 'never', '--use-api-socket', ...args], { env: env(config) });

/** What docker's CLI writes: only `auths`, each `auth` base64 `user:password`, tab-indented as json.MarshalIndent, HTML characters escaped. */
const DOCKER_CLI_CONFIG = [
  '{',
  '\t"auths": {',
  '\t\t"https://index.docker.io/v1/": {',
  `\t\t\t"auth": "${Buffer.from('hub:p<w').toString('base64')}"`,
  '\t\t},',
  '\t\t"localhost:5000": {',
  '\t\t\t"auth": "dXNlcjpwYXNz"',
  '\t\t}',
  '\t}',
  '}',
].join('\n');

test("the container finds the user's credentials at /run/secrets/docker/config.json, as docker's CLI writes them", async () => {
  const result = await run(['busybox', 'cat', '/run/secrets/docker/config.json']);
  expect([result.code, result.stdout]).toEqual([0, DOCKER_CLI_CONFIG]);
});

test('the config file is the owner\'s alone and DOCKER_CONFIG points at its directory', async () => {
  const result = await run(['busybox', 'sh', '-c', 'stat -c %a /run/secrets/docker/config.json; echo "$DOCKER_CONFIG"']);
  expect([result.code, result.stdout]).toEqual([0, '600\n/run/secrets/docker\n']);
});

test('create gives the container the credentials before any start', async () => {
  const created = await ctr(['create', '--network', 'none', '--pull', 'never', '--use-api-socket', 'busybox', 'cat', '/run/secrets/docker/config.json'], { env: env() });
  const id = created.stdout.trim();
  const started = await ctr(['start', '-a', id], { env: env() });
  await ctr(['rm', id], { env: env() });
  expect([created.code, started.code, started.stdout]).toEqual([0, 0, DOCKER_CLI_CONFIG]);
});

test('a DOCKER_CONFIG given with -e is kept and nothing is copied', async () => {
  const result = await run(['-e', 'DOCKER_CONFIG=/mine', 'busybox', 'sh', '-c', 'echo "$DOCKER_CONFIG"; test -e /run/secrets/docker || echo none']);
  expect([result.code, result.stdout]).toEqual([0, '/mine\nnone\n']);
});

test('with no credentials, no DOCKER_CONFIG is added and nothing is copied', async () => {
  const result = await run(['busybox', 'sh', '-c', 'echo "[$DOCKER_CONFIG]"; test -e /run/secrets/docker || echo none'], join(configDir, 'absent'));
  expect([result.code, result.stdout]).toEqual([0, '[]\nnone\n']);
});

test("a credential store that cannot be asked fails the run in docker's words before anything is made", async () => {
  const broken = await mkdtemp(join(tmpdir(), 'ctr-api-socket-broken-'));
  try {
    await writeFile(join(broken, 'config.json'), JSON.stringify({ credsStore: 'nonexistent-ctr-test' }));
    const before = (await t.daemon.engine.ps({ all: true })).length;
    const result = await run(['busybox', 'true'], broken);
    expect([result.code, result.stderr]).toEqual([125, expect.stringContaining('resolving credentials failed: cannot run credential helper docker-credential-nonexistent-ctr-test')]);
    expect((await t.daemon.engine.ps({ all: true })).length).toBe(before);
  } finally {
    await rm(broken, { recursive: true, force: true });
  }
});
