/**
 * Per-call registry credentials (Docker's AuthConfig, as `X-Registry-Auth` carries it):
 * pull, push and build's FROM pulls against registries that demand Basic auth (ctr's own
 * and the Debian `docker-registry` with htpasswd) and Docker's token flow. Credentials are
 * used for the call only: never written under the engine's root, never sent elsewhere.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Engine, type AuthConfig } from '@ctr/engine';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer, type ServerAuth } from '@ctr/registry';
import { startDockerRegistry } from '../../registry/test/support/processes';
import { startTokenService } from '../../registry/test/support/token-service';
import { testEngine, type TestEngine } from './fixture';

const USERS = { alice: 'wonder-land-s3cret' };
const ALICE: AuthConfig = { username: 'alice', password: USERS.alice };
const WRONG: AuthConfig = { username: 'alice', password: 'not-the-password' };

let t: TestEngine;
let engine: Engine;
let configDir: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  t = await testEngine();
  // The engine's own credentials come from an empty Docker config: only per-call ones exist.
  configDir = await fs.mkdtemp(join(tmpdir(), 'ctr-engine-auth-cfg-'));
  engine = new Engine({ root: t.root, runRoot: t.runRoot, registry: { dockerConfig: { configDir } } });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await t.cleanup();
  await fs.rm(configDir, { recursive: true, force: true });
});

async function ctrRegistry(auth: ServerAuth): Promise<{ host: string; server: RegistryServer }> {
  const root = await fs.mkdtemp(join(tmpdir(), 'ctr-engine-auth-reg-'));
  const server = new RegistryServer({ store: new MemoryContentStore(), root, auth });
  await server.listen();
  cleanups.push(async () => {
    await server.close();
    await fs.rm(root, { recursive: true, force: true });
  });
  return { host: server.host, server };
}

/** Every file under the engine's root that contains `secret`. */
async function filesContaining(secret: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const file = join(dir, entry.name);
      if (entry.isDirectory()) await walk(file);
      else if (entry.isFile() && (await fs.readFile(file)).includes(secret)) found.push(file);
    }
  };
  await walk(t.root);
  await walk(t.runRoot);
  return found;
}

/** busybox pushed to `ref` with `auth`, then removed here: only the registry holds it. */
async function pushedAway(ref: string, auth: AuthConfig): Promise<{ digest: string; size: number }> {
  await engine.tag('busybox', ref);
  const pushed = await engine.push(ref, { auth });
  await engine.removeImage(ref);
  return pushed;
}

async function imageNames(): Promise<string[]> {
  return (await engine.images()).flatMap((i) => i.RepoTags);
}

describe('a registry demanding Basic auth (ctr RegistryServer)', () => {
  test('push then pull with per-call credentials', async () => {
    const { host } = await ctrRegistry({ type: 'basic', users: USERS });
    const pushed = await pushedAway(`${host}/team/bb:v1`, ALICE);
    const pulled = await engine.pull(`${host}/team/bb:v1`, { auth: ALICE });
    expect(pulled.record.target.digest).toBe(pushed.digest);
    expect(await imageNames()).toContain(`${host}/team/bb:v1`);
    await engine.removeImage(`${host}/team/bb:v1`);
  });

  test('the base64 "auth" field of an AuthConfig is used when there is no username', async () => {
    const { host } = await ctrRegistry({ type: 'basic', users: USERS });
    await pushedAway(`${host}/team/b64:v1`, { auth: Buffer.from(`alice:${USERS.alice}`).toString('base64'), serveraddress: host });
  });

  test('wrong credentials: the pull is Unauthorized and nothing is stored', async () => {
    const { host } = await ctrRegistry({ type: 'basic', users: USERS });
    await pushedAway(`${host}/team/private:v1`, ALICE);
    const before = await imageNames();
    await expect(engine.pull(`${host}/team/private:v1`, { auth: WRONG })).rejects.toMatchObject({ code: 'Unauthorized' });
    await expect(engine.pull(`${host}/team/private:v1`)).rejects.toMatchObject({ code: 'Unauthorized' });
    expect(await imageNames()).toEqual(before);
  });

  test('wrong credentials: the push is Unauthorized and the registry holds nothing', async () => {
    const { host } = await ctrRegistry({ type: 'basic', users: USERS });
    await engine.tag('busybox', `${host}/team/refused:v1`);
    await expect(engine.push(`${host}/team/refused:v1`, { auth: WRONG })).rejects.toMatchObject({ code: 'Unauthorized' });
    await expect(engine.pull(`${host}/team/refused:v1`, { auth: ALICE })).rejects.toMatchObject({ code: 'NotFound' });
    await engine.removeImage(`${host}/team/refused:v1`);
  });

  test('per-call credentials are never written under the root or the run directory', async () => {
    const { host } = await ctrRegistry({ type: 'basic', users: USERS });
    await engine.tag('busybox', `${host}/team/nodisk:v1`);
    await engine.push(`${host}/team/nodisk:v1`, { auth: ALICE });
    await engine.pull(`${host}/team/nodisk:v1`, { auth: ALICE });
    await engine.pull(`${host}/team/nodisk:v1`, { auth: WRONG }).catch(() => undefined);
    expect(await filesContaining(USERS.alice)).toEqual([]);
    expect(await filesContaining(Buffer.from(`alice:${USERS.alice}`).toString('base64'))).toEqual([]);
    await engine.removeImage(`${host}/team/nodisk:v1`);
  });

  test('build pulls a private FROM image with the credentials given for its registry', async () => {
    const { host } = await ctrRegistry({ type: 'basic', users: USERS });
    await pushedAway(`${host}/base/bb:v1`, ALICE);
    const context = await fs.mkdtemp(join(tmpdir(), 'ctr-engine-auth-build-'));
    cleanups.push(() => fs.rm(context, { recursive: true, force: true }));
    await fs.writeFile(join(context, 'Dockerfile'), `FROM ${host}/base/bb:v1\nLABEL built=yes\n`);
    await expect(engine.build({ context, tags: ['authbuild:1'], registryAuth: { 'other.invalid:1': ALICE } })).rejects.toMatchObject({ code: 'Unauthorized' });
    const built = await engine.build({ context, tags: ['authbuild:1'], registryAuth: { [`http://${host}`]: ALICE } });
    expect((await engine.inspectImage('authbuild:1')).Id).toBe(built.id);
    await engine.removeImage('authbuild:1');
    await engine.removeImage(`${host}/base/bb:v1`);
  });
});

describe("Docker's token flow", () => {
  test('push and pull with per-call credentials go through the token service', async () => {
    const tokens = await startTokenService({ secret: 'engine-secret', service: 'engine-registry', users: USERS });
    cleanups.push(() => tokens.stop());
    const { host } = await ctrRegistry({ type: 'token', realm: tokens.url, service: 'engine-registry', secret: 'engine-secret' });
    await engine.tag('busybox', `${host}/tok/bb:v1`);
    await expect(engine.push(`${host}/tok/bb:v1`, { auth: WRONG })).rejects.toMatchObject({ code: 'Unauthorized' });
    await engine.push(`${host}/tok/bb:v1`, { auth: ALICE });
    await engine.removeImage(`${host}/tok/bb:v1`);
    await engine.pull(`${host}/tok/bb:v1`, { auth: ALICE });
    expect(tokens.requests.filter((r) => r.authorization !== undefined).length).toBeGreaterThanOrEqual(2);
    await engine.removeImage(`${host}/tok/bb:v1`);
  });

  test('login checks credentials and answers like dockerd', async () => {
    const tokens = await startTokenService({ secret: 'engine-secret', service: 'engine-registry', users: USERS });
    cleanups.push(() => tokens.stop());
    const { host } = await ctrRegistry({ type: 'token', realm: tokens.url, service: 'engine-registry', secret: 'engine-secret' });
    expect(await engine.login({ ...ALICE, serveraddress: host })).toEqual({ Status: 'Login Succeeded', IdentityToken: '' });
    await expect(engine.login({ ...WRONG, serveraddress: `http://${host}` })).rejects.toMatchObject({
      code: 'Unauthorized',
      message: `login attempt to http://${host}/v2/ failed with status: 401 Unauthorized`,
    });
  });
});

describe('the Debian docker-registry with htpasswd', () => {
  test('push and pull with per-call credentials; wrong ones are Unauthorized', async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), 'ctr-engine-htpasswd-'));
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    // bcrypt, as htpasswd -B makes it (glibc's crypt through Python: no htpasswd binary here).
    const { stdout: hash } = await promisify(execFile)('python3', ['-c', `import crypt; print(crypt.crypt(${JSON.stringify(USERS.alice)}, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))`]);
    await fs.writeFile(join(dir, 'htpasswd'), `alice:${hash.trim()}\n`);
    const registry = await startDockerRegistry(['auth:', '  htpasswd:', '    realm: ctr-test', `    path: ${join(dir, 'htpasswd')}`].join('\n'));
    cleanups.push(() => registry.stop());
    const name = `${registry.host}/dist/bb:v1`;
    await engine.tag('busybox', name);
    await expect(engine.push(name, { auth: WRONG })).rejects.toMatchObject({ code: 'Unauthorized' });
    await engine.push(name, { auth: ALICE });
    await engine.removeImage(name);
    await expect(engine.pull(name, { auth: WRONG })).rejects.toMatchObject({ code: 'Unauthorized' });
    await engine.pull(name, { auth: ALICE });
    expect(await imageNames()).toContain(name);
    await engine.removeImage(name);
  });
});
