import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';
import { cleanEnv, ctr as remoteCtr, startTestDaemon, type TestDaemon } from './remote-fixture';

const secretStep = 'FROM busybox\nRUN --mount=type=secret,id=token,required sh -c "echo seen:$(cat /run/secrets/token)"\n';

describe('ctr build --secret (docker buildx syntax), daemonless', () => {
  let local: LocalCtr;
  let context: string;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);
  const ctrWithEnv = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<CtrResult> => local.runWith({ env: { ...process.env, ...env } }, ...args);

  beforeAll(async () => {
    local = await localCtr('build-secret');
    context = await mkdtemp(join(tmpdir(), 'ctr-cli-build-secret-'));
    await writeFile(join(context, 'Dockerfile'), secretStep);
    await writeFile(join(context, 'token.txt'), 'from-a-file');
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await local?.cleanup();
  });

  test('id=…,src=<file> shows the file to the step, and the image keeps nothing of it', async () => {
    const built = await ctr('build', '--network', 'none', '--no-cache', '--secret', `id=token,src=${join(context, 'token.txt')}`, '-t', 'with-secret', context);
    expect(built.code).toBe(0);
    expect(built.stdout).toContain('seen:from-a-file\n');
    expect((await ctr('run', '--rm', '--network', 'none', 'with-secret', 'sh', '-c', 'ls /run 2>&1')).stdout).toBe('ls: /run: No such file or directory\n');
    expect((await ctr('history', '--no-trunc', 'with-secret')).stdout).not.toContain('from-a-file');
  });

  test('id=…,env=<variable> takes the secret from the environment', async () => {
    const built = await ctrWithEnv({ BUILD_TOKEN: 'from-the-env' }, 'build', '--network', 'none', '--no-cache', '--secret', 'id=token,env=BUILD_TOKEN', context);
    expect(built.stdout).toContain('seen:from-the-env\n');
  });

  test('id=… alone reads the variable of that name when it is set', async () => {
    const built = await ctrWithEnv({ token: 'named-like-the-id' }, 'build', '--network', 'none', '--no-cache', '--secret', 'id=token', context);
    expect(built.stdout).toContain('seen:named-like-the-id\n');
  });

  test('a required secret nobody passed fails the build in BuildKit\'s words', async () => {
    const failed = await ctr('build', '--network', 'none', '--no-cache', context);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('secret token: not found');
  });

  test('a secret without an id is refused before anything is built', async () => {
    const refused = await ctr('build', '--network', 'none', '--secret', `src=${join(context, 'token.txt')}`, context);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('secret missing ID');
    expect(refused.stdout).not.toContain('Step 1/');
  });
});

describe('ctr -H … build against ctrd: POST /build has no channel for secrets', () => {
  let t: TestDaemon;
  let context: string;
  const ctr = (...args: string[]): Promise<CtrResult> => remoteCtr(['-H', `unix://${t.socket}`, ...args], { env: cleanEnv() });

  beforeAll(async () => {
    t = await startTestDaemon();
    context = await mkdtemp(join(tmpdir(), 'ctr-cli-build-secret-remote-'));
    await writeFile(join(context, 'Dockerfile'), secretStep);
    await writeFile(join(context, 'token.txt'), 'never-sent');
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await t?.cleanup();
  });

  test('--secret is refused, saying why', async () => {
    const refused = await ctr('build', '--network', 'none', '--secret', `id=token,src=${join(context, 'token.txt')}`, context);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("--secret and --ssh need the builder in this process: the Docker API's POST /build has no channel for them");
  });

  test('a Dockerfile that requires a secret fails there as BuildKit fails without one', async () => {
    const failed = await ctr('build', '--network', 'none', context);
    expect(failed.code).not.toBe(0);
    expect(`${failed.stdout}${failed.stderr}`).toContain('secret token: not found');
  });
});
