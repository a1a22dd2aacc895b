/**
 * The Docker Engine API's forms of docker's image flags, as ctrd serves them: the real
 * docker CLI's `pull -a` and `push -a` (a repository with no `tag` is every tag), `import
 * --platform` and `rmi --no-prune`; and the API 1.48 `platform` parameter of history, save
 * and load (a JSON OCI platform), whose bad values are refused in dockerd's words.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPlatform, hostPlatform } from '@ctr/image';
import type { RegistryClient, RegistryServer } from '@ctr/registry';
import { startBothRegistries, type BothRegistries } from '../../registry/test/support/both-registries';
import type { DockerRegistry } from '../../registry/test/support/processes';
import { docker, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();
const HOST = hostPlatform();
/** A platform that is not this machine's, as JSON. */
const OTHER = HOST.architecture === 'arm64' ? { os: 'linux', architecture: 'amd64' } : { os: 'linux', architecture: 'arm64' };
const q = (value: unknown): string => encodeURIComponent(JSON.stringify(value));

let registries: BothRegistries | undefined;
let work: string;
let ctrRegistry: RegistryServer;
let distribution: DockerRegistry;
let registryClient: RegistryClient;

beforeAll(async () => {
  registries = await startBothRegistries('ctr-api-image-flags-');
  ({ work, ctrRegistry, distribution, registryClient } = registries);
});

afterAll(async () => {
  await registries?.close();
});

/** A one-file image of its own, named `name` in the daemon. */
async function smallImage(name: string): Promise<void> {
  const dir = await mkdtemp(join(work, 'rootfs-'));
  await writeFile(join(dir, 'which'), name);
  await t.daemon.engine.importImage({ dir }, { name });
}

/** The JSON lines of a streamed answer. */
const messages = (body: Buffer): Record<string, unknown>[] => body.toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

test('docker pull -a pulls every tag the registry lists into ctrd, with one outcome for the repository', async () => {
  const repo = `${distribution.host}/api/pull-all`;
  for (const tag of ['x', 'y']) await smallImage(`${repo}:${tag}`);
  await t.daemon.engine.pushAllTags(repo);
  for (const tag of ['x', 'y']) await t.daemon.engine.removeImage(`${repo}:${tag}`);
  const pulled = await docker(t.env, ['pull', '-a', repo]);
  expect(pulled).toMatchObject({ code: 0, stderr: '' });
  expect(pulled.stdout).toMatch(/(^|\n)x: Pulling from api\/pull-all\n/);
  expect(pulled.stdout).toMatch(/\ny: Pulling from api\/pull-all\n/);
  expect(pulled.stdout.endsWith(`\nStatus: Downloaded newer image for ${repo}\n${repo}\n`)).toBe(true);
  expect((await t.daemon.engine.images({ filters: { reference: [repo] } })).flatMap((i) => i.RepoTags).sort()).toEqual([`${repo}:x`, `${repo}:y`]);
});

test('docker push -a pushes every tag ctrd has of the repository, each with its digest line', async () => {
  const repo = `${ctrRegistry.host}/api/push-all`;
  for (const tag of ['one', 'two']) await smallImage(`${repo}:${tag}`);
  const pushed = await docker(t.env, ['push', '-a', repo]);
  expect(pushed).toMatchObject({ code: 0, stderr: '' });
  expect(pushed.stdout).toMatch(new RegExp(`^The push refers to repository \\[${repo}\\]\\n`));
  expect(pushed.stdout).toMatch(/\none: digest: sha256:[0-9a-f]{64} size: \d+\n/);
  expect(pushed.stdout).toMatch(/\ntwo: digest: sha256:[0-9a-f]{64} size: \d+\n/);
  expect((await registryClient.listTags(repo)).sort()).toEqual(['one', 'two']);
});

test("POST /images/create with fromImage=repo: (an old client's -a) pulls every tag", async () => {
  const repo = `${ctrRegistry.host}/api/colon`;
  await smallImage(`${repo}:only`);
  await t.daemon.engine.pushAllTags(repo);
  await t.daemon.engine.removeImage(`${repo}:only`);
  const answer = await request(t.socket, 'POST', `/v1.47/images/create?fromImage=${encodeURIComponent(`${repo}:`)}`);
  expect(answer.status).toBe(200);
  const lines = messages(answer.body);
  expect(lines[0]).toEqual({ status: 'Pulling from api/colon', id: 'only' });
  expect(lines[lines.length - 1]).toEqual({ status: `Status: Downloaded newer image for ${repo}` });
  expect((await t.daemon.engine.inspectImage(`${repo}:only`)).RepoTags).toEqual([`${repo}:only`]);
});

test('POST /images/{name}/push of a repository ctrd has no tag of ends in the stream with dockerd\'s error', async () => {
  const repo = `${ctrRegistry.host}/api/none-here`;
  const answer = await request(t.socket, 'POST', `/v1.47/images/${repo}/push`, undefined, { 'X-Registry-Auth': 'e30=' });
  const lines = messages(answer.body);
  expect(lines[lines.length - 1]).toMatchObject({ error: `An image does not exist locally with the tag: ${repo}` });
});

test('docker import --platform records the platform as the image\'s', async () => {
  const dir = await mkdtemp(join(work, 'rootfs-'));
  await writeFile(join(dir, 'file'), 'x');
  const tar = join(work, 'rootfs.tar');
  execFileSync('tar', ['-C', dir, '-cf', tar, '.']);
  const imported = await docker(t.env, ['import', '--platform', 'linux/arm64', tar, 'api-imported:arm64']);
  expect(imported.code).toBe(0);
  const inspect = await t.daemon.engine.inspectImage('api-imported:arm64');
  expect([inspect.Os, inspect.Architecture]).toEqual(['linux', 'arm64']);
});

test('docker import --platform of a malformed platform is a 400, importing nothing', async () => {
  const answer = await request(t.socket, 'POST', '/v1.47/images/create?fromSrc=-&repo=api-bad-platform&platform=linux%2Farm%2Fv7%2Fx', '');
  expect(answer.status).toBe(400);
  expect((json(answer) as { message: string }).message).toMatch(/^invalid platform "linux\/arm\/v7\/x"/);
  await expect(t.daemon.engine.inspectImage('api-bad-platform')).rejects.toMatchObject({ code: 'NotFound' });
});

test('docker rmi --no-prune (noprune=1) removes the image as rmi does', async () => {
  await smallImage('api-no-prune:1');
  const removed = await docker(t.env, ['rmi', '--no-prune', 'api-no-prune:1']);
  // The image, then its one layer (nothing else uses it), as dockerd's layer store releases it.
  expect(removed).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Untagged: api-no-prune:1\nDeleted: sha256:[0-9a-f]{64}\nDeleted: sha256:[0-9a-f]{64}\n$/) });
});

describe('the JSON platform parameter of history, save and load', () => {
  test("history for the image's own platform is its history", async () => {
    const answer = await request(t.socket, 'GET', `/v1.47/images/busybox/history?platform=${q(HOST)}`);
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual(await t.daemon.engine.history('busybox'));
  });

  test("history for another platform is a 404 in dockerd's words", async () => {
    const answer = await request(t.socket, 'GET', `/v1.47/images/busybox/history?platform=${q(OTHER)}`);
    expect(answer.status).toBe(404);
    expect(json(answer)).toEqual({
      message: `image with reference busybox was found but does not match the specified platform: wanted ${formatPlatform(OTHER)}, actual: ${formatPlatform(HOST)}`,
    });
  });

  test('save for another platform is a 404 before any archive is sent', async () => {
    const answer = await request(t.socket, 'GET', `/v1.47/images/get?names=busybox&platform=${q(OTHER)}`);
    expect(answer.status).toBe(404);
    expect((json(answer) as { message: string }).message).toContain('does not match the specified platform');
  });

  test('a platform that is not JSON is a 400: failed to parse platform', async () => {
    const answer = await request(t.socket, 'GET', '/v1.47/images/busybox/history?platform=linux%2Famd64');
    expect(answer.status).toBe(400);
    expect((json(answer) as { message: string }).message).toMatch(/^failed to parse platform: /);
  });

  test('a platform without an architecture is a 400: both OS and Architecture must be provided', async () => {
    const answer = await request(t.socket, 'GET', `/v1.47/images/get?names=busybox&platform=${q({ os: 'linux' })}`);
    expect(answer.status).toBe(400);
    expect(json(answer)).toEqual({ message: 'both OS and Architecture must be provided' });
  });

  test('two platforms are a 400: multiple platform parameters not supported', async () => {
    const answer = await request(t.socket, 'POST', `/v1.47/images/load?platform=${q(HOST)}&platform=${q(OTHER)}`, '');
    expect(answer.status).toBe(400);
    expect(json(answer)).toEqual({ message: 'multiple platform parameters not supported' });
  });
});
