/**
 * The global `--insecure-registry` list reaching what speaks to a registry without a daemon:
 * login's check and the trust client, besides the engine's pull and push. The registry is
 * ctr's own, plain HTTP on 127.0.0.1, named `127.1:PORT`: the same address, which ctr does not
 * take for a loopback name (only `127.x.y.z`, `localhost`, `[::1]` are), so like any remote
 * host it is spoken to over verified HTTPS unless listed insecure. No name is looked up.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer, trustServerVerified } from '@ctr/registry';
import { startTrustServers, type TrustServers } from '../../registry/test/support/notary';
import { ctrOn, importBusybox, removeCtrRoot, type CtrOn } from './local-ctr';

const PASSWORD = 'insecure-wonderland';
/** `host:port` of a server on 127.0.0.1, by the name that is not a loopback one to ctr. */
const unlisted = (host: string): string => host.replace(/^127\.0\.0\.1:/, '127.1:');

let work: string;
let on: CtrOn;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-cli-insecure-login-'));
  on = ctrOn(join(work, 'root'), join(work, 'run'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('ctr --insecure-registry HOST login HOST, without a daemon', () => {
  let registry: RegistryServer;
  let name: string;
  beforeAll(async () => {
    registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry'), auth: { type: 'basic', users: { alice: PASSWORD } } });
    await registry.listen();
    name = unlisted(registry.host);
  });
  afterAll(async () => {
    await registry?.close();
  });

  const env = (config: string): NodeJS.ProcessEnv => ({ ...process.env, DOCKER_CONFIG: join(work, config) });

  test('the name is not taken for loopback: its trust server would be verified unless listed', () => {
    expect(trustServerVerified(name)).toBe(true);
    expect(trustServerVerified(name, [name])).toBe(false);
  });

  test('unlisted, a plain-HTTP registry is refused: HTTPS is all a registry that is not insecure gets', async () => {
    const login = await on.runWith({ env: env('refused'), input: PASSWORD }, 'login', name, '-u', 'alice', '--password-stdin');
    expect(login.code).toBe(1);
    expect(login.stderr).toContain(`cannot reach registry ${name}: http: server gave HTTP response to HTTPS client`);
  });

  test('listed, login reaches it over plain HTTP and stores the credentials under the name given', async () => {
    const login = await on.runWith({ env: env('listed'), input: PASSWORD }, '--insecure-registry', name, 'login', name, '-u', 'alice', '--password-stdin');
    expect(login).toMatchObject({ code: 0, stdout: 'Login Succeeded\n' });
    const config = JSON.parse(await readFile(join(work, 'listed', 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(config.auths[name]).toEqual({ auth: Buffer.from(`alice:${PASSWORD}`).toString('base64') });
  });

  test('listed, a wrong password is the registry\'s 401, not a connection failure', async () => {
    const login = await on.runWith({ env: env('wrong'), input: 'not-it' }, '--insecure-registry', name, 'login', name, '-u', 'alice', '--password-stdin');
    expect(login.code).toBe(1);
    expect(login.stderr).toContain('failed with status: 401 Unauthorized');
  });
});

describe('content trust for a registry listed insecure, without a daemon', () => {
  let servers: TrustServers;
  let name: string;
  beforeAll(async () => {
    servers = await startTrustServers('ctr-cli-insecure-trust-');
    name = unlisted(servers.registry.host);
    await importBusybox(on);
  }, 60_000);
  afterAll(async () => {
    await removeCtrRoot(on);
    await servers?.close();
  });

  test('push signs through a trust server whose certificate goes unchecked, as a loopback registry\'s does; unlisted, the trusted pull refuses that certificate', async () => {
    const env = servers.trusting(process.env, { DOCKER_CONFIG: join(servers.work, 'config') });
    const image = `${name}/insecure/app:v1`;
    expect((await on.run('tag', 'busybox', image)).code).toBe(0);
    const push = await on.runWith({ env }, '--insecure-registry', name, 'push', image);
    expect(push.code).toBe(0);
    expect(push.stdout).toContain(`Successfully signed ${name}/insecure/app:v1\n`);

    const listed = await on.runWith({ env }, '--insecure-registry', name, 'pull', image);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^Pull \\(1 of 1\\): ${name}/insecure/app:v1@sha256:[0-9a-f]{64}\\n`));

    const unlistedPull = await on.runWith({ env }, 'pull', image);
    expect(unlistedPull.code).toBe(1);
    expect(unlistedPull.stderr).toMatch(/^Error: error contacting notary server: .*unable to verify the first certificate\n$/);
  });
});
