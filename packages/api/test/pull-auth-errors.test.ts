/**
 * Registry failures of pull, push and login as dockerd's API answers them: pull's through its
 * translatePullError (a 500 in Go's words, a 404 for an unknown or refused repository), push's in
 * the stream as its retryOnError leaves them, login's as a 500. Never a 401 for a pull: docker's
 * CLI asks for a login on one and waits for it, even without a terminal. An X-Registry-Auth that
 * cannot be decoded is no credentials, as dockerd reads it. The registries are ctr's own on
 * 127.0.0.1, one demanding Basic auth.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { docker, json, request, useTestDaemon } from './fixture';

const USERS = { alice: 'pull-errors-wonderland' };
const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

const t = useTestDaemon();
let work: string;
let basic: RegistryServer;
let open: RegistryServer;
/** A loopback port nothing listens on. */
let closedPort: number;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-pull-errors-'));
  basic = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'basic'), auth: { type: 'basic', users: USERS } });
  open = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'open') });
  await basic.listen();
  await open.listen();
  closedPort = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
});

afterAll(async () => {
  await basic?.close();
  await open?.close();
  await rm(work, { recursive: true, force: true });
});

const pull = (image: string, tag: string, headers: Record<string, string> = {}): ReturnType<typeof request> =>
  request(t.socket, 'POST', `/v1.47/images/create?fromImage=${encodeURIComponent(image)}&tag=${tag}`, '', headers);

/** The last JSON line of a streamed answer. */
const lastLine = (body: Buffer): Record<string, unknown> => JSON.parse(body.toString('utf8').trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;

describe('pull', () => {
  test('without credentials from a Basic-auth registry is a 500 saying no basic auth credentials', async () => {
    const answer = await pull(`${basic.host}/private/bb`, 'v1');
    expect(answer.status).toBe(500);
    expect(json(answer)).toEqual({ message: `Get "http://${basic.host}/v2/private/bb/manifests/v1": no basic auth credentials` });
  });

  test('with wrong credentials is a 500 in the registry\'s words', async () => {
    const answer = await pull(`${basic.host}/private/bb`, 'v1', { 'X-Registry-Auth': encode({ username: 'alice', password: 'wrong' }) });
    expect(answer.status).toBe(500);
    expect((json(answer) as { message: string }).message).toMatch(/^unauthorized: /);
  });

  test('an X-Registry-Auth that is not base64url JSON is no credentials, not a 400', async () => {
    for (const header of ['%%%not-base64%%%', encode('just a string'), Buffer.from('{not json').toString('base64url'), encode({ username: ['a'] })]) {
      const answer = await pull(`${basic.host}/private/bb`, 'v1', { 'X-Registry-Auth': header });
      expect({ status: answer.status, body: json(answer) }).toEqual({ status: 500, body: { message: `Get "http://${basic.host}/v2/private/bb/manifests/v1": no basic auth credentials` } });
    }
  });

  test('of a manifest the registry does not have is a 404 in dockerd\'s words', async () => {
    const answer = await pull(`${open.host}/nothing/here`, 'v9');
    expect(answer.status).toBe(404);
    expect((json(answer) as { message: string }).message).toMatch(new RegExp(`^(manifest for ${open.host}/nothing/here:v9|repository ${open.host}/nothing/here) not found: `));
  });

  test('from a port nothing listens on is a 500 naming the plain-HTTP ping, as dockerd\'s last endpoint', async () => {
    const answer = await pull(`127.0.0.1:${closedPort}/x`, 'latest');
    expect(answer.status).toBe(500);
    expect(json(answer)).toEqual({ message: `Get "http://127.0.0.1:${closedPort}/v2/": dial tcp 127.0.0.1:${closedPort}: connect: connection refused` });
  });

  test('docker pull without login fails at once with that message, asking for no login', async () => {
    const env = { ...t.env, DOCKER_CONFIG: await mkdtemp(join(work, 'docker-config-')) };
    const pulled = await docker(env, ['pull', `${basic.host}/private/bb:v1`], { input: '', timeoutMs: 30_000 });
    expect(pulled.code).toBe(1);
    expect(pulled.stdout).not.toContain('Login prior to pull');
    expect(pulled.stderr).toBe(`Error response from daemon: Get "http://${basic.host}/v2/private/bb/manifests/v1": no basic auth credentials\n`);
  });
});

describe('push', () => {
  beforeAll(async () => {
    await t.daemon.engine.tag('busybox', `${basic.host}/private/pushed:v1`);
  });

  test('without credentials ends its stream with no basic auth credentials', async () => {
    const answer = await request(t.socket, 'POST', `/v1.47/images/${encodeURIComponent(`${basic.host}/private/pushed`)}/push?tag=v1`, '', { 'X-Registry-Auth': encode({}) });
    expect(answer.status).toBe(200);
    expect(lastLine(answer.body)).toEqual({ errorDetail: { message: 'no basic auth credentials' }, error: 'no basic auth credentials' });
  });

  test('an X-Registry-Auth that is not base64url JSON is no credentials, not a 400', async () => {
    const answer = await request(t.socket, 'POST', `/v1.47/images/${encodeURIComponent(`${basic.host}/private/pushed`)}/push?tag=v1`, '', { 'X-Registry-Auth': '%%%not-base64%%%' });
    expect(answer.status).toBe(200);
    expect(lastLine(answer.body)).toMatchObject({ error: 'no basic auth credentials' });
  });

  test('docker push without login says no basic auth credentials', async () => {
    const env = { ...t.env, DOCKER_CONFIG: await mkdtemp(join(work, 'docker-config-')) };
    const pushed = await docker(env, ['push', `${basic.host}/private/pushed:v1`], { input: '' });
    expect(pushed.code).toBe(1);
    expect(pushed.stderr).toBe('no basic auth credentials\n');
  });
});

describe('login', () => {
  test('to a port nothing listens on is a 500 naming the plain-HTTP ping, as dockerd\'s', async () => {
    const answer = await request(t.socket, 'POST', '/v1.47/auth', JSON.stringify({ username: 'a', password: 'b', serveraddress: `127.0.0.1:${closedPort}` }));
    expect(answer.status).toBe(500);
    expect(json(answer)).toEqual({ message: `Get "http://127.0.0.1:${closedPort}/v2/": dial tcp 127.0.0.1:${closedPort}: connect: connection refused` });
  });

  test('with a wrong password is a 500, as dockerd answers it', async () => {
    const answer = await request(t.socket, 'POST', '/v1.47/auth', JSON.stringify({ username: 'alice', password: 'x', serveraddress: basic.host }));
    expect(answer.status).toBe(500);
    expect(json(answer)).toEqual({ message: `login attempt to http://${basic.host}/v2/ failed with status: 401 Unauthorized` });
  });
});
