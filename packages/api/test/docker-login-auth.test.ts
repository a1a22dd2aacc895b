/**
 * Registry credentials through the Docker API: `POST /auth` (docker login), `X-Registry-Auth`
 * on pull and push, `X-Registry-Config` on build — driven by the real docker CLI and
 * dockerode against ctr registries on 127.0.0.1 demanding Basic auth or Docker's token flow.
 */
import Docker from 'dockerode';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '@ctr/api';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer, type ServerAuth } from '@ctr/registry';
import { startTokenService, type TokenService } from '../../registry/test/support/token-service';
import { docker, json, request, useTestDaemon } from './fixture';

const USERS = { alice: 'api-wonderland' };
const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

const t = useTestDaemon();
let work: string;
let basic: RegistryServer;
let tokens: TokenService;
let tokenRegistry: RegistryServer;

async function registry(auth: ServerAuth, name: string): Promise<RegistryServer> {
  const server = new RegistryServer({ store: new MemoryContentStore(), root: join(work, name), auth });
  await server.listen();
  return server;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-auth-'));
  basic = await registry({ type: 'basic', users: USERS }, 'basic');
  tokens = await startTokenService({ secret: 'api-secret', service: 'api-registry', users: USERS });
  tokenRegistry = await registry({ type: 'token', realm: tokens.url, service: 'api-registry', secret: 'api-secret' }, 'token');
});

afterAll(async () => {
  await basic?.close();
  await tokenRegistry?.close();
  await tokens?.stop();
  await rm(work, { recursive: true, force: true });
});

/** A docker CLI environment with its own, initially empty, config directory. */
async function freshCli(): Promise<NodeJS.ProcessEnv> {
  return { ...t.env, DOCKER_CONFIG: await mkdtemp(join(work, 'docker-config-')) };
}

describe('docker login (POST /auth)', () => {
  test('succeeds with the right password and stores it in the CLI config', async () => {
    const env = await freshCli();
    const login = await docker(env, ['login', basic.host, '-u', 'alice', '--password-stdin'], { input: `${USERS.alice}\n` });
    expect(login.stdout).toContain('Login Succeeded');
    expect(login.code).toBe(0);
    const config = JSON.parse(await readFile(join(env.DOCKER_CONFIG as string, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(Object.values(config.auths)[0]!.auth, 'base64').toString()).toBe(`alice:${USERS.alice}`);
  });

  test("fails with dockerd's message and exit code 1 on a wrong password, storing nothing", async () => {
    const env = await freshCli();
    const login = await docker(env, ['login', basic.host, '-u', 'alice', '--password-stdin'], { input: 'wrong\n' });
    expect(login.code).toBe(1);
    expect(login.stderr).toContain(`Error response from daemon: login attempt to http://${basic.host}/v2/ failed with status: 401 Unauthorized`);
    await expect(stat(join(env.DOCKER_CONFIG as string, 'config.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('goes through the token service of a registry that asks for tokens', async () => {
    const env = await freshCli();
    const good = await docker(env, ['login', tokenRegistry.host, '-u', 'alice', '--password-stdin'], { input: USERS.alice });
    expect(good).toMatchObject({ code: 0, stdout: expect.stringContaining('Login Succeeded') });
    const bad = await docker(env, ['login', tokenRegistry.host, '-u', 'alice', '--password-stdin'], { input: 'nope' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`login attempt to http://${tokenRegistry.host}/v2/ failed with status: 401 Unauthorized`);
  });

  test('answers like dockerd over the API', async () => {
    const ok = await request(t.socket, 'POST', '/v1.47/auth', JSON.stringify({ username: 'alice', password: USERS.alice, serveraddress: basic.host }));
    expect(ok.status).toBe(200);
    expect(json(ok)).toEqual({ Status: 'Login Succeeded', IdentityToken: '' });
    const refused = await request(t.socket, 'POST', '/v1.47/auth', JSON.stringify({ username: 'alice', password: 'x', serveraddress: `http://${basic.host}` }));
    // dockerd's loginV2 refusal is a plain error: a 500.
    expect(refused.status).toBe(500);
    expect(json(refused)).toEqual({ message: `login attempt to http://${basic.host}/v2/ failed with status: 401 Unauthorized` });
  });

  test('an unreachable registry is a server-side error in Go\'s words, naming its plain-HTTP ping', async () => {
    const response = await request(t.socket, 'POST', '/v1.47/auth', JSON.stringify({ username: 'a', password: 'b', serveraddress: '127.0.0.1:1' }));
    expect(response.status).toBe(500);
    expect((json(response) as { message: string }).message).toBe('Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused');
  });

  test('a body that is not an auth config is 400, naming the field but not echoing its value', async () => {
    const response = await request(t.socket, 'POST', '/v1.47/auth', JSON.stringify({ username: 'alice', password: 918273645 }));
    expect(response.status).toBe(400);
    expect((json(response) as { message: string }).message).toBe('invalid auth config: password: expected a string');
  });
});

describe('ApiClient.auth (POST /auth)', () => {
  test('answers Login Succeeded for the right password', async () => {
    const client = new ApiClient({ host: `unix://${t.socket}` });
    try {
      await expect(client.auth({ username: 'alice', password: USERS.alice, serveraddress: basic.host })).resolves.toMatchObject({ Status: 'Login Succeeded' });
    } finally {
      client.close();
    }
  });

  test("rejects a wrong password with the daemon's message and status (dockerd's 500)", async () => {
    const client = new ApiClient({ host: `unix://${t.socket}` });
    try {
      await expect(client.auth({ username: 'alice', password: 'x', serveraddress: basic.host })).rejects.toMatchObject({
        details: { status: 500 },
        message: `login attempt to http://${basic.host}/v2/ failed with status: 401 Unauthorized`,
      });
    } finally {
      client.close();
    }
  });
});

describe('X-Registry-Auth from the docker CLI', () => {
  test('after login, docker push and docker pull of a private image work', async () => {
    const env = await freshCli();
    expect((await docker(env, ['login', basic.host, '-u', 'alice', '--password-stdin'], { input: USERS.alice })).code).toBe(0);
    const name = `${basic.host}/private/bb:v1`;
    expect((await docker(env, ['tag', 'busybox', name])).code).toBe(0);
    const push = await docker(env, ['push', name]);
    expect(push.stderr).toBe('');
    expect(push.stdout).toMatch(/v1: digest: sha256:[a-f0-9]{64} size: \d+/);
    expect((await docker(env, ['rmi', name])).code).toBe(0);
    const pull = await docker(env, ['pull', name]);
    expect(pull.stdout).toContain(`Status: Downloaded newer image for ${name}`);
    expect(pull.code).toBe(0);
    expect((await docker(env, ['rmi', name])).code).toBe(0);
  });

  test('without login the push is refused for want of credentials, in dockerd\'s words', async () => {
    const env = await freshCli();
    const name = `${basic.host}/private/anon:v1`;
    await docker(env, ['tag', 'busybox', name]);
    const push = await docker(env, ['push', name]);
    expect(push.code).toBe(1);
    expect(push.stderr).toContain('no basic auth credentials');
    await docker(env, ['rmi', name]);
  });
});

describe('X-Registry-Auth from dockerode', () => {
  test('pull with authconfig', async () => {
    const name = `${tokenRegistry.host}/dockerode/bb:v1`;
    await t.daemon.engine.tag('busybox', name);
    await t.daemon.engine.push(name, { auth: { username: 'alice', password: USERS.alice } });
    await t.daemon.engine.removeImage(name);
    const client = new Docker({ socketPath: t.socket });
    const stream = await client.pull(name, { authconfig: { username: 'alice', password: USERS.alice, serveraddress: tokenRegistry.host } });
    const events = await new Promise<{ status?: string; error?: string }[]>((resolve, reject) =>
      client.modem.followProgress(stream, (error: Error | null, output: { status?: string; error?: string }[]) => (error ? reject(error) : resolve(output))),
    );
    expect(events.at(-1)?.status).toBe(`Status: Downloaded newer image for ${name}`);
    expect((await client.getImage(name).inspect()).RepoTags).toContain(name);
    await t.daemon.engine.removeImage(name);
  });
});

describe('malformed registry headers', () => {
  test('an empty X-Registry-Auth or {} means no credentials: the registry\'s refusal is the answer (before any message, as dockerd\'s)', async () => {
    for (const header of ['', encode({})]) {
      const pull = await request(t.socket, 'POST', `/v1.47/images/create?fromImage=${basic.host}/none&tag=v1`, '', { 'X-Registry-Auth': header });
      expect(pull.status).toBe(500);
      expect(pull.body.toString()).toContain('no basic auth credentials');
    }
  });

  test('an X-Registry-Config that is not a map of auth configs is 400 and builds nothing', async () => {
    const before = (await t.daemon.engine.images()).length;
    for (const header of ['!!', encode([1]), encode({ [basic.host]: 'alice' })]) {
      const build = await request(t.socket, 'POST', '/v1.47/build?t=never:1', Buffer.alloc(0), { 'X-Registry-Config': header, 'Content-Type': 'application/x-tar' });
      expect(build.status).toBe(400);
      expect((json(build) as { message: string }).message).toContain('X-Registry-Config');
    }
    expect((await t.daemon.engine.images()).length).toBe(before);
  });
});

describe('X-Registry-Config from docker build', () => {
  test('a FROM image in a private registry is pulled with the CLI config credentials', async () => {
    const env = await freshCli();
    expect((await docker(env, ['login', basic.host, '-u', 'alice', '--password-stdin'], { input: USERS.alice })).code).toBe(0);
    const base = `${basic.host}/base/bb:v1`;
    await t.daemon.engine.tag('busybox', base);
    await t.daemon.engine.push(base, { auth: { username: 'alice', password: USERS.alice } });
    await t.daemon.engine.removeImage(base);
    const context = await mkdtemp(join(work, 'build-'));
    await writeFile(join(context, 'Dockerfile'), `FROM ${base}\nLABEL private=yes\n`);
    const build = await docker(env, ['build', '-t', 'from-private:1', context]);
    expect(build.stdout).toContain('Successfully tagged from-private:1');
    expect(build.code).toBe(0);
    await docker(env, ['rmi', 'from-private:1', base]);
  });
});
