import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { cleanEnv, ctr, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

const USERS = { alice: 'remote-wonderland' };

let t: TestDaemon;
let work: string;
let registry: RegistryServer;

/** ctr against the test daemon, with a docker config directory holding `auths` (or nothing). */
async function withAuths(auths: Record<string, { auth: string }>, args: string[]): Promise<Result> {
  const dir = await mkdtemp(join(work, 'docker-config-'));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths }));
  return ctr(['-H', `unix://${t.socket}`, ...args], { env: cleanEnv({ CTR_CONFIG: join(work, 'ctr-config'), DOCKER_CONFIG: dir }) });
}

const alice = (): Record<string, { auth: string }> => ({ [registry.host]: { auth: Buffer.from(`alice:${USERS.alice}`).toString('base64') } });

beforeAll(async () => {
  t = await startTestDaemon();
  work = await mkdtemp(join(tmpdir(), 'ctr-remote-registry-'));
  await mkdir(join(work, 'registry'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry'), auth: { type: 'basic', users: USERS } });
  await registry.listen();
  await t.daemon.engine.tag('busybox', `${registry.host}/remote-app:latest`);
});

afterAll(async () => {
  await registry?.close();
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

test("push sends the client's config.json credentials (X-Registry-Auth) and shows the layers' progress", async () => {
  const pushed = await withAuths(alice(), ['push', `${registry.host}/remote-app`]);
  expect(pushed.stderr).toBe('');
  expect(pushed.code).toBe(0);
  expect(pushed.stdout).toContain(`The push refers to repository [${registry.host}/remote-app]\n`);
  expect(pushed.stdout).toMatch(/\n[0-9a-f]{12}: Pushed\n/);
  expect(pushed.stdout).toMatch(/\nlatest: digest: sha256:[0-9a-f]{64} size: \d+\n$/);
});

test('pull brings the image back into the daemon with docker\'s progress lines', async () => {
  await withAuths(alice(), ['push', `${registry.host}/remote-app`]);
  await t.daemon.engine.removeImage(`${registry.host}/remote-app:latest`);
  const pulled = await withAuths(alice(), ['pull', `${registry.host}/remote-app`]);
  expect(pulled.code).toBe(0);
  // The image is still in the daemon's store in full (it is busybox's): as dockerd then, not a word per layer.
  expect(pulled.stdout).not.toMatch(/^[0-9a-f]{12}: /m);
  expect(pulled.stdout).toMatch(/\nDigest: sha256:[0-9a-f]{64}\n/);
  expect((await t.daemon.engine.inspectImage(`${registry.host}/remote-app`)).Id).toBe((await t.daemon.engine.inspectImage('busybox')).Id);
});

test("pull of a tag the registry lacks is the daemon's error, with no progress line before it", async () => {
  const pulled = await withAuths(alice(), ['pull', `${registry.host}/remote-app:missing`]);
  expect(pulled.code).toBe(1);
  expect(pulled.stdout).toBe('');
  expect(pulled.stderr).toMatch(/^Error response from daemon: .*missing/);
});

test("build sends every credential the client config holds (X-Registry-Config) for its FROM pull", async () => {
  await withAuths(alice(), ['push', `${registry.host}/remote-app`]);
  await t.daemon.engine.removeImage(`${registry.host}/remote-app:latest`);
  const context = await mkdtemp(join(work, 'context-'));
  await writeFile(join(context, 'Dockerfile'), `FROM ${registry.host}/remote-app\nLABEL built=remotely\n`);
  const refused = await withAuths({}, ['build', '-t', 'remote-from-private', context]);
  expect(refused.code).not.toBe(0);
  const built = await withAuths(alice(), ['build', '-t', 'remote-from-private', context]);
  expect(built.stderr).toBe('');
  expect(built.code).toBe(0);
  expect((await t.daemon.engine.inspectImage('remote-from-private')).Config.Labels).toMatchObject({ built: 'remotely' });
});

test('without credentials in the client config the registry turns the push away', async () => {
  const refused = await withAuths({}, ['push', `${registry.host}/remote-app`]);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/no basic auth credentials|unauthorized|authentication required|401/i);
});

test('run against the daemon pulls a missing image as docker run does: "Unable to find image", then the pull on stderr', async () => {
  await withAuths(alice(), ['push', `${registry.host}/remote-app`]);
  await t.daemon.engine.removeImage(`${registry.host}/remote-app:latest`);
  const ran = await withAuths(alice(), ['run', '--rm', `${registry.host}/remote-app`, 'echo', 'remote run']);
  expect(ran.code).toBe(0);
  expect(ran.stdout).toBe('remote run\n');
  expect(ran.stderr.startsWith(`Unable to find image '${registry.host}/remote-app:latest' locally\nlatest: Pulling from remote-app\n`)).toBe(true);
  expect(ran.stderr.endsWith(`\nStatus: Downloaded newer image for ${registry.host}/remote-app:latest\n`)).toBe(true);
});
