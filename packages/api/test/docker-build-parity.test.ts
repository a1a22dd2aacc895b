/**
 * docker build against ctrd with the real docker CLI (legacy builder): the RUN network,
 * the flags docker users type, the classic output; and the API's `remote`, `squash` and
 * `cachefrom` parameters, which the docker CLI does not send here (it fetches URLs itself and
 * asks for squash only from an experimental daemon).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startGitDaemon, type GitDaemon } from '../../../test/support/git-daemon';
import { docker, request, useTestDaemon } from './fixture';

const execFileAsync = promisify(execFile);
const t = useTestDaemon();

let context: string;
let server: Server;
let tarUrl: string;
let git: GitDaemon;

beforeAll(async () => {
  context = await mkdtemp(join(tmpdir(), 'ctr-api-build-parity-'));
  const dir = await mkdtemp(join(tmpdir(), 'ctr-api-build-tar-'));
  await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY greeting /\n');
  await writeFile(join(dir, 'greeting'), 'hello from a tar\n');
  const tar = (await execFileAsync('tar', ['-cJ', '-C', dir, '.'], { encoding: 'buffer' })).stdout;
  await rm(dir, { recursive: true, force: true });
  server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/x-xz' }).end(tar));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tarUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/context.tar.xz`;
  git = await startGitDaemon();
  await git.repository('app', [{ files: { 'svc/Dockerfile': 'FROM busybox\nCOPY version /\n', 'svc/version': 'v1\n' } }]);
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await git?.stop();
  if (context) await rm(context, { recursive: true, force: true });
});

const dockerfile = (text: string): Promise<void> => writeFile(join(context, 'Dockerfile'), text);

/** `cat <file>` in a throwaway container of `image`. */
async function cat(image: string, file: string): Promise<string> {
  return (await docker(t.env, ['run', '--rm', '--network', 'none', image, 'cat', file])).stdout;
}

/** POST /build with no body and these parameters; the JSON messages of the answer. */
async function postBuild(query: Record<string, string>): Promise<{ status: number; messages: Array<{ stream?: string; aux?: { ID: string }; error?: string }> }> {
  const response = await request(t.socket, 'POST', `/build?${new URLSearchParams(query).toString()}`, Buffer.alloc(0), { 'Content-Type': 'application/x-tar' });
  const messages = response.body.toString('utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { stream?: string; aux?: { ID: string }; error?: string });
  return { status: response.status, messages };
}

test('docker build --network: RUN steps on the default bridge by default, on none, or on a user network', async () => {
  await dockerfile("FROM busybox\nRUN ip -o -4 addr show | awk '{print $2}' > /seen\n");
  const build = async (...flags: string[]): Promise<string> => {
    const built = await docker(t.env, ['build', '-q', '--no-cache', ...flags, context]);
    expect(built.code).toBe(0);
    return cat(built.stdout.trim(), '/seen');
  };
  expect(await build()).toBe('lo\neth0\n');
  expect(await build('--network', 'none')).toBe('lo\n');
  expect((await docker(t.env, ['network', 'create', 'parity-net'])).code).toBe(0);
  try {
    expect(await build('--network', 'parity-net')).toBe('lo\neth0\n');
  } finally {
    await docker(t.env, ['network', 'rm', 'parity-net']);
  }
});

test("docker build prints each RUN step's container, as dockerd does", async () => {
  await dockerfile('FROM busybox\nRUN hostname\n');
  const built = await docker(t.env, ['build', '--no-cache', '--compress', '--cache-from', 'busybox', '--isolation', 'default', context]);
  expect(built.code).toBe(0);
  const id = /Running in ([0-9a-f]{12})\n/.exec(built.stdout)?.[1];
  expect(built.stdout).toContain(` ---> Running in ${id}\n${id}\n ---> Removed intermediate container ${id}\n`);
});

test("docker build --isolation other than default is refused in dockerd's words, before anything is built", async () => {
  const refused = await docker(t.env, ['build', '--isolation', 'hyperv', context]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('unsupported isolation: "hyperv"');
});

test('docker build URL: the CLI downloads the context and ctrd builds it', async () => {
  const built = await docker(t.env, ['build', '-q', tarUrl]);
  expect(built.code).toBe(0);
  expect(await cat(built.stdout.trim(), '/greeting')).toBe('hello from a tar\n');
});

test('POST /build?remote=<http URL>: ctrd fetches the context itself (xz here)', async () => {
  const { messages } = await postBuild({ remote: tarUrl, t: 'parity/remote-url' });
  expect(messages.find((m) => m.error)).toBeUndefined();
  expect(await cat('parity/remote-url', '/greeting')).toBe('hello from a tar\n');
});

test('POST /build: the image ID (aux) comes before "Successfully built", then "Successfully tagged", as dockerd sends them', async () => {
  const { messages } = await postBuild({ remote: tarUrl, t: 'parity/order' });
  const tail = messages.slice(messages.findIndex((m) => m.aux));
  expect(tail).toEqual([
    { aux: { ID: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) } },
    { stream: `Successfully built ${tail[0]?.aux?.ID.slice(7, 19)}\n` },
    { stream: 'Successfully tagged parity/order:latest\n' },
  ]);
});

test('POST /build?remote=<git URL>#ref:subdir: ctrd clones it', async () => {
  const { messages } = await postBuild({ remote: `${git.url('app')}#main:svc`, t: 'parity/remote-git' });
  expect(messages.find((m) => m.error)).toBeUndefined();
  expect(await cat('parity/remote-git', '/version')).toBe('v1\n');
});

test('POST /build?remote= that is no URL says so as the answer, before any message (dockerd\'s errf)', async () => {
  const { status, messages } = await postBuild({ remote: 'not-a-url' });
  expect(status).toBeGreaterThanOrEqual(400);
  expect((messages[0] as { message?: string }).message).toMatch(/^remoteURL \(not-a-url\) could not be recognized as URL/);
});

test('POST /build?squash=1&cachefrom=[…]: the squashed image has one layer above its base', async () => {
  await dockerfile('FROM busybox\nRUN echo a > /a\nRUN echo b > /b\n');
  const tar = (await execFileAsync('tar', ['-c', '-C', context, '.'], { encoding: 'buffer' })).stdout;
  const response = await request(t.socket, 'POST', `/build?squash=1&t=parity/squashed&cachefrom=${encodeURIComponent('["busybox"]')}`, tar, { 'Content-Type': 'application/x-tar' });
  expect(response.status).toBe(200);
  const layers = async (image: string): Promise<number> => (await t.daemon.engine.inspectImage(image)).RootFS.Layers.length;
  expect(await layers('parity/squashed')).toBe((await layers('busybox')) + 1);
});
