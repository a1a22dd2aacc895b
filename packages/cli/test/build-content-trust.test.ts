/**
 * `ctr build` with content trust on, as docker's CLI does it for the classic builder: every
 * `FROM <tag>` naming a registry image is resolved through the Notary server (a 127.0.0.1
 * HTTPS server of the test's) to the digest it is signed as, the Dockerfile the builder gets
 * names that digest, and once the build succeeded the base is tagged; an unsigned base refuses
 * the build. In-process and through ctrd (`-H`): the rewrite happens in the client.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegistryServer } from '@ctr/registry';
import { startTrustServers, type TrustServers } from '../../registry/test/support/notary';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';
import { cleanEnv, ctr as remoteCtr, startTestDaemon, type TestDaemon } from './remote-fixture';

let ctr: LocalCtr;
let servers: TrustServers;
let work: string;
let registry: RegistryServer;
let notary: RegistryServer;
/** `<registry>/base/signed:v1`, pushed and signed, and the digest it is signed as. */
let signed: string;
let signedDigest: string;
/** `<registry>/base/unsigned:v1`, pushed without trust. */
let unsigned: string;
let unsignedDigest: string;

beforeAll(async () => {
  ctr = await localCtr('build-trust');
  servers = await startTrustServers('ctr-build-trust-');
  ({ work, registry, notary } = servers);
  signed = `${registry.host}/base/signed`;
  unsigned = `${registry.host}/base/unsigned`;
  signedDigest = await pushed(`${signed}:v1`, trusting());
  unsignedDigest = await pushed(`${unsigned}:v1`, { ...process.env, DOCKER_CONTENT_TRUST: '' });
}, 120_000);

afterAll(async () => {
  await ctr?.cleanup();
  await servers?.close();
});

/** Trust on, a docker config of its own (nothing pinned yet), passphrases in the environment, the test's Notary. */
const trusting = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => servers.trusting(process.env, extra);

/** busybox tagged `ref` and pushed (signed when `env` has trust on); resolves to the digest pushed. */
async function pushed(ref: string, env: NodeJS.ProcessEnv): Promise<string> {
  expect((await ctr.run('tag', 'busybox', ref)).code).toBe(0);
  const push = await ctr.runWith({ env }, 'push', ref);
  expect(push).toMatchObject({ code: 0 });
  return /: digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1] as string;
}

/** A context directory holding `files`. */
async function context(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(work, 'context-'));
  for (const [name, content] of Object.entries(files)) await fs.writeFile(join(dir, name), content);
  return dir;
}

/** What `cat` prints of `path` in a container of `image`. */
async function cat(image: string, path: string): Promise<string> {
  const run = await ctr.run('run', '--rm', '--pull', 'never', '--network', 'none', image, 'cat', path);
  expect(run.code).toBe(0);
  return run.stdout;
}

const tagging = (repo: string, digest: string, tag = 'v1'): string => `Tagging ${repo}@${digest} as ${repo}:${tag}\n`;

describe('in-process engine', () => {
  test('a FROM of a signed tag is built from the digest it is signed as, and the base is tagged after', async () => {
    expect((await ctr.run('rmi', `${signed}:v1`)).code).toBe(0);
    const dir = await context({ Dockerfile: `FROM ${signed}:v1\nLABEL built=yes\n` });
    const build = await ctr.runWith({ env: trusting() }, 'build', '-t', 'trusted:from-signed', dir);
    expect(build).toMatchObject({ code: 0, stderr: tagging(signed, signedDigest) });
    expect(build.stdout).toContain(`Step 1/2 : FROM ${signed}@${signedDigest}\n`);
    const ids = await ctr.run('image', 'inspect', '--format', '{{.Id}}', `${signed}:v1`, 'busybox');
    const [base, busybox] = ids.stdout.trim().split('\n');
    expect(base).toBe(busybox);
  });

  test('the context is sent as it is but for the Dockerfile, whose FROM lines alone name digests', async () => {
    const dockerfile = `# syntax comment\r\nfrom ${signed}:v1 AS first\r\nCOPY . /ctx/\nRUN ls -a /ctx > /listing\n`;
    const dir = await context({ Dockerfile: dockerfile, '.dockerignore': 'secret.txt\n', 'secret.txt': 'hidden', 'keep.txt': 'kept' });
    const build = await ctr.runWith({ env: trusting() }, 'build', '-q', '--network', 'none', '-t', 'trusted:context', dir);
    expect(build).toMatchObject({ code: 0, stderr: tagging(signed, signedDigest) });
    expect(await cat('trusted:context', '/ctx/Dockerfile')).toBe(dockerfile.replace(`${signed}:v1`, `${signed}@${signedDigest}`));
    expect(await cat('trusted:context', '/listing')).toBe('.\n..\n.dockerignore\nDockerfile\nkeep.txt\n');
    expect(await fs.readFile(join(dir, 'Dockerfile'), 'utf8')).toBe(dockerfile);
  });

  test('an unsigned base refuses the build in docker\'s words, status 1, and nothing is built', async () => {
    const dir = await context({ Dockerfile: `FROM ${unsigned}:v1\nLABEL built=yes\n` });
    const build = await ctr.runWith({ env: trusting() }, 'build', '-t', 'trusted:unsigned', dir);
    expect(build.code).toBe(1);
    expect(build.stderr).toContain(`Error: remote trust data does not exist for ${unsigned}: ${notary.host} does not have trust data for ${unsigned}`);
    expect(build.stdout).not.toContain('Step 1/2');
    expect((await ctr.run('images', '-q', 'trusted:unsigned')).stdout).toBe('');
  });

  test('--disable-content-trust builds the unsigned base as named, with DOCKER_CONTENT_TRUST set', async () => {
    const dir = await context({ Dockerfile: `FROM ${unsigned}:v1\nLABEL built=yes\n` });
    const build = await ctr.runWith({ env: trusting() }, 'build', '--disable-content-trust', '-t', 'trusted:disabled', dir);
    expect(build).toMatchObject({ code: 0, stderr: '' });
    expect(build.stdout).toContain(`Step 1/2 : FROM ${unsigned}:v1\n`);
  });

  test('scratch, a digest reference and an earlier stage\'s name are left as they are: one base resolved', async () => {
    const dockerfile = [
      `FROM ${signed}:v1 AS base`,
      'RUN echo base > /made',
      `FROM ${unsigned}@${unsignedDigest} AS pinned`,
      'FROM base AS again',
      'RUN cp /made /again',
      'FROM scratch',
      'COPY --from=again /again /again',
      'COPY --from=pinned /bin/busybox /busybox',
      '',
    ].join('\n');
    const dir = await context({ Dockerfile: dockerfile });
    const build = await ctr.runWith({ env: trusting() }, 'build', '--network', 'none', '-t', 'trusted:stages', dir);
    expect(build).toMatchObject({ code: 0, stderr: tagging(signed, signedDigest) });
    expect(build.stdout).toContain(`FROM ${unsigned}@${unsignedDigest} AS pinned\n`);
    expect(build.stdout).toContain(': FROM base AS again\n');
  });

  test('a build argument in FROM is refused as docker refuses it: not a reference it can resolve', async () => {
    const dir = await context({ Dockerfile: `ARG BASE=${signed}:v1\nFROM $BASE\n` });
    const build = await ctr.runWith({ env: trusting() }, 'build', dir);
    expect(build.code).toBe(1);
    expect(build.stderr).toContain('invalid reference format: repository name (library/$BASE) must be lowercase');
  });

  test('--disable-content-trust=false turns trust on without DOCKER_CONTENT_TRUST; a Dockerfile from stdin (-f -) is resolved', async () => {
    const dir = await context({ 'file.txt': 'x' });
    const env = trusting({ DOCKER_CONTENT_TRUST: '' });
    const build = await ctr.runWith({ env, input: `FROM ${signed}:v1\nCOPY file.txt /\n` }, 'build', '--disable-content-trust=false', '-f', '-', '-t', 'trusted:stdin-dockerfile', dir);
    expect(build).toMatchObject({ code: 0, stderr: tagging(signed, signedDigest) });
    expect(build.stdout).toContain(`FROM ${signed}@${signedDigest}\n`);
  });

  test('a Dockerfile sent alone as the context on stdin (-) is resolved', async () => {
    const build = await ctr.runWith({ env: trusting(), input: `FROM ${signed}:v1\nLABEL from=stdin\n` }, 'build', '-t', 'trusted:stdin-context', '-');
    expect(build).toMatchObject({ code: 0, stderr: tagging(signed, signedDigest) });
    expect(build.stdout).toContain(`FROM ${signed}@${signedDigest}\n`);
  });

  test('a context tar on stdin (-) has its Dockerfile (-f names it) resolved, the rest of the archive kept', async () => {
    const dir = await context({ 'build.Dockerfile': `FROM ${signed}:v1\nCOPY data.txt /data.txt\n`, 'data.txt': 'from the tar\n' });
    const tar = execFileSync('tar', ['-C', dir, '-c', '.']);
    const build = await ctr.runWith({ env: trusting(), input: tar }, 'build', '-f', 'build.Dockerfile', '-t', 'trusted:stdin-tar', '-');
    expect(build).toMatchObject({ code: 0, stderr: tagging(signed, signedDigest) });
    expect(await cat('trusted:stdin-tar', '/data.txt')).toBe('from the tar\n');
  });
});

describe('through ctrd (-H)', () => {
  let daemon: TestDaemon;
  const remote = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<CtrResult> => remoteCtr(['-H', `unix://${daemon.socket}`, ...args], { env: cleanEnv(env) });
  beforeAll(async () => {
    daemon = await startTestDaemon();
  }, 60_000);
  afterAll(async () => {
    await daemon?.cleanup();
  });

  test('the FROM resolved by the client is what ctrd builds from, and the base is tagged on ctrd', async () => {
    const dir = await context({ Dockerfile: `FROM ${signed}:v1\nLABEL built=remote\n` });
    const build = await remote(trusting(), 'build', '-t', 'trusted:remote', dir);
    expect(build).toMatchObject({ code: 0, stderr: tagging(signed, signedDigest) });
    expect(build.stdout).toContain(`Step 1/2 : FROM ${signed}@${signedDigest}\n`);
    const digests = await remote({}, 'image', 'inspect', '--format', '{{join .RepoDigests ","}}', `${signed}:v1`);
    expect(digests.stdout).toContain(`${signed}@${signedDigest}`);
  });

  test('an unsigned base is refused before anything reaches ctrd', async () => {
    const dir = await context({ Dockerfile: `FROM ${unsigned}:v1\n` });
    const build = await remote(trusting(), 'build', '-t', 'trusted:remote-unsigned', dir);
    expect(build.code).toBe(1);
    expect(build.stderr).toContain(`Error: remote trust data does not exist for ${unsigned}`);
    expect((await remote({}, 'images', '-q', 'trusted:remote-unsigned')).stdout).toBe('');
  });
});
