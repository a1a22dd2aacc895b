/**
 * `POST /images/{name}/push` as dockerd answers it, driven by the real docker CLI where it
 * can be: a tag not here ends the stream in dockerd's words; a digest in `tag` is refused;
 * `platform` (API 1.46, docker 28's `push --platform`) sends only the image's manifest for
 * it. And `DELETE /images/{name}`'s `platforms` (API 1.50, which docker 28 sends only to a
 * daemon of that version): a platform the image is not for is dockerd's NotFound.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatPlatform, hostPlatform, MemoryContentStore } from '@ctr/image';
import { RegistryClient, RegistryServer } from '@ctr/registry';
import { docker, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();
const HOST = formatPlatform(hostPlatform());
const S390X = encodeURIComponent(JSON.stringify({ os: 'linux', architecture: 's390x' }));

let work: string;
let registry: RegistryServer;
let registryClient: RegistryClient;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-push-platform-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
  registryClient = new RegistryClient({ credentials: {} });
});

afterAll(async () => {
  await registryClient?.close();
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** The JSON lines of a streamed answer. */
const messages = (body: Buffer): Record<string, unknown>[] => body.toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

const mismatch = (ref: string): string => `image with reference ${ref} was found but does not match the specified platform: wanted linux/s390x, actual: ${HOST}`;

test('docker push of a tag ctrd does not have says so in dockerd\'s words, after naming the repository', async () => {
  const repo = `${registry.host}/api/absent`;
  const pushed = await docker(t.env, ['push', `${repo}:v1`]);
  expect(pushed).toMatchObject({ code: 1, stdout: `The push refers to repository [${repo}]\n` });
  expect(pushed.stderr).toContain(`An image does not exist locally with the tag: ${repo}`);
});

test('a push whose tag is a digest ends the stream with docker\'s refusal', async () => {
  const answer = await request(t.socket, 'POST', `/v1.47/images/busybox/push?tag=sha256:${'a'.repeat(64)}`, undefined, { 'X-Registry-Auth': 'e30=' });
  expect(messages(answer.body).at(-1)).toMatchObject({ error: 'cannot push a digest reference' });
});

test('docker push --platform pushes the image\'s manifest for that platform under the tag', async () => {
  const name = `${registry.host}/api/platform:v1`;
  await t.daemon.engine.tag('busybox', name);
  const pushed = await docker(t.env, ['push', '--platform', HOST, name]);
  expect(pushed.code).toBe(0);
  expect((await registryClient.resolve(name)).digest).toBe((await t.daemon.engine.inspectImage(name)).Descriptor.digest);
});

test('docker push --platform of a platform the image is not for is dockerd\'s error, pushing nothing', async () => {
  const name = `${registry.host}/api/other-platform:v1`;
  await t.daemon.engine.tag('busybox', name);
  const pushed = await docker(t.env, ['push', '--platform', 'linux/s390x', name]);
  expect(pushed.code).toBe(1);
  expect(pushed.stderr).toContain(mismatch(name));
  await expect(registryClient.resolve(name)).rejects.toMatchObject({ code: 'NotFound' });
});

test('DELETE /images/{name} with a platform the image is not for is dockerd\'s 404, and the image stays', async () => {
  await t.daemon.engine.tag('busybox', 'api-rmi-platform:1');
  const answer = await request(t.socket, 'DELETE', `/v1.47/images/api-rmi-platform:1?platforms=${S390X}`);
  expect(answer.status).toBe(404);
  expect((json(answer) as { message: string }).message).toBe(mismatch('api-rmi-platform:1'));
  expect((await t.daemon.engine.inspectImage('api-rmi-platform:1')).RepoTags).toContain('api-rmi-platform:1');
});
