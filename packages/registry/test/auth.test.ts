/**
 * Authentication end to end: ctr's server demanding Basic or Docker token auth, a token
 * service started by the test, credentials from a Docker config and a credential helper.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { issueRegistryToken, RegistryClient } from '@ctr/registry';
import { makeImage } from './support/images';
import { startRegistry, type RunningRegistry } from './support/servers';
import { startTokenService as startTestTokenService, type TokenService } from './support/token-service';

const SECRET = 'ctr-test-secret';
const SERVICE = 'ctr-test-registry';
const USERS: Record<string, string> = { alice: 'wonderland' };

const startTokenService = (): Promise<TokenService> => startTestTokenService({ secret: SECRET, service: SERVICE, users: USERS });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function registryWith(auth: Parameters<typeof startRegistry>[0]): Promise<RunningRegistry> {
  const registry = await startRegistry(auth);
  cleanups.push(() => registry.stop());
  return registry;
}

function clientWith(options: ConstructorParameters<typeof RegistryClient>[0]): RegistryClient {
  const client = new RegistryClient(options);
  cleanups.push(() => client.close());
  return client;
}

describe('token auth', () => {
  let tokens: TokenService;
  beforeEach(async () => {
    tokens = await startTokenService();
    cleanups.push(() => tokens.stop());
  });

  test('push and pull follow the WWW-Authenticate challenge to the token service', async () => {
    const registry = await registryWith({ auth: { type: 'token', realm: tokens.url, service: SERVICE, secret: SECRET } });
    const client = clientWith({ credentials: { username: 'alice', password: 'wonderland' } });
    const local = new MemoryContentStore();
    const image = await makeImage(local);
    await client.push(`${registry.host}/team/app:v1`, { store: local, manifest: image.manifest });
    const pulled = await client.pull(`${registry.host}/team/app:v1`, { store: new MemoryContentStore() });
    expect(pulled.manifest.digest).toBe(image.manifest.digest);
    expect(tokens.requests.some((r) => r.scopes.includes('repository:team/app:pull,push'))).toBe(true);
    expect(tokens.requests.every((r) => r.authorization === `Basic ${Buffer.from('alice:wonderland').toString('base64')}`)).toBe(true);
  });

  test('a token is fetched once per scope and reused', async () => {
    const registry = await registryWith({ auth: { type: 'token', realm: tokens.url, service: SERVICE, secret: SECRET } });
    const client = clientWith({ credentials: { username: 'alice', password: 'wonderland' } });
    const local = new MemoryContentStore();
    const image = await makeImage(local, [10, 20, 30, 40]);
    await client.push(`${registry.host}/cache/app:v1`, { store: local, manifest: image.manifest });
    const afterPush = tokens.requests.length;
    await client.pull(`${registry.host}/cache/app:v1`, { store: new MemoryContentStore() });
    await client.pull(`${registry.host}/cache/app:v1`, { store: new MemoryContentStore() });
    expect(afterPush).toBe(1);
    expect(tokens.requests).toHaveLength(2);
  });

  test('a token the registry stops accepting is refreshed after the 401', async () => {
    const registry = await registryWith({ auth: { type: 'token', realm: tokens.url, service: SERVICE, secret: SECRET } });
    const client = clientWith({ credentials: { username: 'alice', password: 'wonderland' } });
    const local = new MemoryContentStore();
    const image = await makeImage(local, [10]);
    await client.push(`${registry.host}/refresh/app:v1`, { store: local, manifest: image.manifest });
    // Only the pull token is short-lived: a push slowed by a busy machine must not outlive its token.
    tokens.lifetime = 1;
    await client.resolve(`${registry.host}/refresh/app:v1`);
    const before = tokens.requests.length;
    await new Promise((r) => setTimeout(r, 2100));
    expect((await client.resolve(`${registry.host}/refresh/app:v1`)).digest).toBe(image.manifest.digest);
    expect(tokens.requests.length).toBe(before + 1);
  });

  test('wrong credentials are Unauthorized, naming the registry', async () => {
    const registry = await registryWith({ auth: { type: 'token', realm: tokens.url, service: SERVICE, secret: SECRET } });
    const client = clientWith({ credentials: { username: 'alice', password: 'wrong' } });
    const pull = client.pull(`${registry.host}/team/app:v1`, { store: new MemoryContentStore() });
    await expect(pull).rejects.toMatchObject({ code: 'Unauthorized', message: expect.stringContaining(registry.host) });
  });

  test('a token for one repository does not open another (insufficient scope)', async () => {
    const registry = await registryWith({ auth: { type: 'token', realm: tokens.url, service: SERVICE, secret: SECRET } });
    const token = issueRegistryToken({ secret: SECRET, service: SERVICE, access: [{ type: 'repository', name: 'mine', actions: ['pull'] }] });
    const client = clientWith({ credentials: { registryToken: token } });
    const pull = client.pull(`${registry.host}/theirs:v1`, { store: new MemoryContentStore() });
    await expect(pull).rejects.toMatchObject({ code: 'Unauthorized' });
  });
});

describe('basic auth', () => {
  test('a registry demanding Basic is used with the given credentials', async () => {
    const registry = await registryWith({ auth: { type: 'basic', users: USERS } });
    const client = clientWith({ credentials: { username: 'alice', password: 'wonderland' } });
    const local = new MemoryContentStore();
    const image = await makeImage(local, [100]);
    await client.push(`${registry.host}/basic/app:v1`, { store: local, manifest: image.manifest });
    expect((await client.resolve(`${registry.host}/basic/app:v1`)).digest).toBe(image.manifest.digest);
  });

  test('without credentials the error is Unauthorized with Docker wording and a hint to log in', async () => {
    const registry = await registryWith({ auth: { type: 'basic', users: USERS } });
    const client = clientWith({ credentials: {} });
    await expect(client.resolve(`${registry.host}/basic/app:v1`)).rejects.toMatchObject({
      code: 'Unauthorized',
      message: `manifest for ${registry.host}/basic/app:v1: unauthorized: authentication required`,
      hint: expect.stringContaining(`log in to ${registry.host}`),
    });
  });
});

describe('per-call credentials and login checks', () => {
  test('credentials given to one call are used for it, without changing the client', async () => {
    const registry = await registryWith({ auth: { type: 'basic', users: USERS } });
    const client = clientWith({ credentials: {} });
    const local = new MemoryContentStore();
    const image = await makeImage(local, [10]);
    await client.push(`${registry.host}/percall/app:v1`, { store: local, manifest: image.manifest, credentials: { username: 'alice', password: 'wonderland' } });
    await expect(client.resolve(`${registry.host}/percall/app:v1`)).rejects.toMatchObject({ code: 'Unauthorized' });
    const resolved = await client.resolve(`${registry.host}/percall/app:v1`, { credentials: { username: 'alice', password: 'wonderland' } });
    expect(resolved.digest).toBe(image.manifest.digest);
  });

  test('ping succeeds with good credentials and is Unauthorized with bad ones (docker login)', async () => {
    const registry = await registryWith({ auth: { type: 'basic', users: USERS } });
    const client = clientWith({ credentials: {} });
    await expect(client.ping(registry.host, { credentials: { username: 'alice', password: 'wonderland' } })).resolves.toBeUndefined();
    await expect(client.ping(registry.host, { credentials: { username: 'alice', password: 'nope' } })).rejects.toMatchObject({
      code: 'Unauthorized',
      message: `login attempt to http://${registry.host}/v2/ failed with status: 401 Unauthorized`,
    });
  });

  test('ping goes through the token service when the registry asks for a token', async () => {
    const tokens = await startTokenService();
    cleanups.push(() => tokens.stop());
    const registry = await registryWith({ auth: { type: 'token', realm: tokens.url, service: SERVICE, secret: SECRET } });
    const client = clientWith({ credentials: {} });
    await expect(client.ping(registry.host, { credentials: { username: 'alice', password: 'wonderland' } })).resolves.toBeUndefined();
    expect(tokens.requests.at(-1)?.authorization).toBe(`Basic ${Buffer.from('alice:wonderland').toString('base64')}`);
    await expect(client.ping(registry.host, { credentials: { username: 'alice', password: 'nope' } })).rejects.toMatchObject({
      code: 'Unauthorized',
      message: `login attempt to http://${registry.host}/v2/ failed with status: 401 Unauthorized`,
    });
  });

  test('a per-call credential source is asked per registry: one it gives nothing for gets no credentials', async () => {
    const registry = await registryWith({ auth: { type: 'basic', users: USERS } });
    const seen: (string | undefined)[] = [];
    const other = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="other"', 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"no"}]}');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => other.close(() => resolve())));
    const otherHost = `127.0.0.1:${(other.address() as AddressInfo).port}`;
    const client = clientWith({ credentials: {} });
    const alice = { username: 'alice', password: 'wonderland' };
    await expect(client.ping(registry.host, { credentials: alice })).resolves.toBeUndefined();
    await expect(client.resolve(`${otherHost}/x:v1`, { credentials: (host) => Promise.resolve(host === registry.host ? alice : undefined) })).rejects.toMatchObject({ code: 'Unauthorized' });
    expect(seen).toEqual([undefined]);
  });

  test('per-call credentials win over the Docker config; registries they do not cover use the config', async () => {
    const registry = await registryWith({ auth: { type: 'basic', users: USERS } });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-percall-'));
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('alice:wonderland').toString('base64') } } }));
    const client = clientWith({ dockerConfig: { configDir: dir } });
    await expect(client.ping(registry.host, { credentials: { username: 'alice', password: 'wrong' } })).rejects.toMatchObject({ code: 'Unauthorized' });
    await expect(client.ping(registry.host, { credentials: async () => undefined })).resolves.toBeUndefined();
  });
});

describe('credentials from the Docker config', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-dockercfg-'));
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  });

  test('a base64 "auth" entry in config.json is used', async () => {
    const registry = await registryWith({ auth: { type: 'basic', users: USERS } });
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: Buffer.from('alice:wonderland').toString('base64') } } }));
    const client = clientWith({ dockerConfig: { configDir: dir } });
    await expect(client.listTags(`${registry.host}/none`)).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('a credential helper on PATH is run for the registry and its answer used', async () => {
    const registry = await registryWith({ auth: { type: 'basic', users: USERS } });
    const bin = path.join(dir, 'bin');
    await fs.mkdir(bin);
    const log = path.join(dir, 'helper.log');
    await fs.writeFile(
      path.join(bin, 'docker-credential-ctrtest'),
      `#!/bin/sh\nread server\necho "$1 $server" >> ${log}\necho '{"ServerURL":"'$server'","Username":"alice","Secret":"wonderland"}'\n`,
      { mode: 0o755 },
    );
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'ctrtest' } }));
    const client = clientWith({ dockerConfig: { configDir: dir, env: { PATH: `${bin}:${process.env.PATH ?? ''}` } } });
    const local = new MemoryContentStore();
    const image = await makeImage(local, [100]);
    await client.push(`${registry.host}/helper/app:v1`, { store: local, manifest: image.manifest });
    expect((await fs.readFile(log, 'utf8')).trim()).toBe(`get ${registry.host}`);
  });
});
