/**
 * Docker Content Trust between ctr and the real docker CLI (28.2), which does DCT in the client:
 * both talk to ctr's Notary server (HTTPS on 127.0.0.1 with a throwaway certificate, which
 * docker leaves unchecked for a loopback registry) and push images through ctrd to ctr's
 * registry. What `ctr push` signs, `docker trust inspect` and `DOCKER_CONTENT_TRUST=1 docker
 * pull` accept; what `DOCKER_CONTENT_TRUST=1 docker push` signs, `ctr pull` verifies; metadata
 * tampered with on the server is refused by both.
 */
import { join } from 'node:path';
import type { RegistryServer } from '@ctr/registry';
import { startTrustServers, type TrustServers } from '../../registry/test/support/notary';
import { runProcess } from '../../../test/support/run-process';
import { docker, useTestDaemon, type Run } from './fixture';

const t = useTestDaemon();
let servers: TrustServers;
let registry: RegistryServer;
let notary: RegistryServer;

const CTR = join(__dirname, '..', '..', 'cli', 'bin', 'ctr');

beforeAll(async () => {
  servers = await startTrustServers('ctr-docker-trust-');
  ({ registry, notary } = servers);
});

afterAll(async () => {
  await servers?.close();
});

/** An environment with trust on, a docker config of its own (keys, pinned metadata) and the test's Notary. */
const trusting = (): NodeJS.ProcessEnv => servers.trusting(t.env);

/** ctr against ctrd (`-H`), as the docker CLI is. */
function ctrRemote(env: NodeJS.ProcessEnv, args: string[]): Promise<Run> {
  return runProcess(CTR, ['-H', `unix://${t.socket}`, ...args], { env, timeoutMs: 120_000 });
}

/** ctr with its engine in-process, on a root of its own. */
function ctrLocal(env: NodeJS.ProcessEnv, args: string[]): Promise<Run> {
  return runProcess(CTR, ['--root', join(servers.work, 'ctr-root'), '--runroot', join(servers.work, 'ctr-run'), ...args], { env: { ...env, DOCKER_HOST: '' }, timeoutMs: 120_000 });
}

test('what ctr push signs, docker trust inspect shows and DOCKER_CONTENT_TRUST=1 docker pull verifies and tags', async () => {
  const repo = `${registry.host}/trust/from-ctr`;
  expect((await docker(t.env, ['tag', 'busybox', `${repo}:v1`])).code).toBe(0);
  const signer = trusting();
  const pushed = await ctrRemote(signer, ['push', `${repo}:v1`]);
  expect(pushed).toMatchObject({ code: 0 });
  const digest = /v1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(pushed.stdout)?.[1] as string;
  expect(pushed.stdout).toContain(`Signing and pushing trust metadata\nFinished initializing "${repo}"\nSuccessfully signed ${repo}:v1\n`);

  const inspected = await docker(trusting(), ['trust', 'inspect', `${repo}:v1`]);
  expect(inspected).toMatchObject({ code: 0, stderr: '' });
  const [info] = JSON.parse(inspected.stdout) as { Name: string; SignedTags: object[]; AdministrativeKeys: { Name: string }[] }[];
  expect(info?.SignedTags).toEqual([{ SignedTag: 'v1', Digest: digest.slice(7), Signers: ['Repo Admin'] }]);
  expect(info?.AdministrativeKeys.map((k) => k.Name)).toEqual(['Root', 'Repository']);

  expect((await docker(t.env, ['rmi', `${repo}:v1`])).code).toBe(0);
  const pulled = await docker(trusting(), ['pull', `${repo}:v1`]);
  expect(pulled).toMatchObject({ code: 0 });
  expect(pulled.stdout).toContain(`Pull (1 of 1): ${repo}:v1@${digest}\n`);
  expect(pulled.stderr).toContain(`Tagging ${repo}@${digest} as ${repo}:v1`);
  expect((await docker(t.env, ['image', 'inspect', '--format', '{{join .RepoDigests ","}}', `${repo}:v1`])).stdout).toContain(digest);
});

test('what DOCKER_CONTENT_TRUST=1 docker push signs, ctr pull verifies (in-process engine and through ctrd), and ctr trust inspect shows', async () => {
  const repo = `${registry.host}/trust/from-docker`;
  expect((await docker(t.env, ['tag', 'busybox', `${repo}:v2`])).code).toBe(0);
  const pushed = await docker(trusting(), ['push', `${repo}:v2`]);
  expect(pushed).toMatchObject({ code: 0 });
  expect(pushed.stdout).toContain(`Successfully signed ${repo}:v2`);
  const digest = /v2: digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1] as string;

  const local = await ctrLocal(trusting(), ['pull', `${repo}:v2`]);
  expect(local).toMatchObject({ code: 0 });
  expect(local.stdout.startsWith(`Pull (1 of 1): ${repo}:v2@${digest}\n`)).toBe(true);
  expect(local.stdout.endsWith(`${repo}:v2\n`)).toBe(true);
  expect(local.stderr).toBe(`Tagging ${repo}@${digest} as ${repo}:v2\n`);

  expect((await docker(t.env, ['rmi', `${repo}:v2`])).code).toBe(0);
  const remote = await ctrRemote(trusting(), ['pull', `${repo}:v2`]);
  expect(remote).toMatchObject({ code: 0 });
  expect((await docker(t.env, ['image', 'inspect', '--format', '{{join .RepoDigests ","}}', `${repo}:v2`])).stdout).toContain(digest);

  const inspected = await ctrLocal(trusting(), ['trust', 'inspect', `${repo}:v2`]);
  expect(JSON.parse(inspected.stdout)).toEqual(JSON.parse((await docker(trusting(), ['trust', 'inspect', `${repo}:v2`])).stdout));
});

test('an unsigned tag is refused by docker and ctr alike, in the same words', async () => {
  const repo = `${registry.host}/trust/unsigned`;
  expect((await docker(t.env, ['tag', 'busybox', `${repo}:v1`])).code).toBe(0);
  expect((await docker({ ...t.env, DOCKER_CONTENT_TRUST: '' }, ['push', `${repo}:v1`])).code).toBe(0);
  const byDocker = await docker(trusting(), ['pull', `${repo}:v1`]);
  const byCtr = await ctrRemote(trusting(), ['pull', `${repo}:v1`]);
  expect(byDocker.code).not.toBe(0);
  expect(byCtr.code).not.toBe(0);
  const words = `remote trust data does not exist for ${repo}: ${notary.url.replace('https://', '')} does not have trust data for ${repo}`;
  expect(byDocker.stderr).toContain(words);
  expect(byCtr.stderr).toContain(words);
});

test('targets metadata tampered with on the Notary is refused by docker pull and ctr pull', async () => {
  const repo = `${registry.host}/trust/tampered`;
  expect((await docker(t.env, ['tag', 'busybox', `${repo}:v1`])).code).toBe(0);
  const pushed = await ctrRemote(trusting(), ['push', `${repo}:v1`]);
  expect(pushed.code).toBe(0);
  await servers.tamperTargets(repo, /v1: digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1] as string, `sha256:${'ee'.repeat(32)}`);
  const byDocker = await docker(trusting(), ['pull', `${repo}:v1`]);
  const byCtr = await ctrLocal(trusting(), ['pull', `${repo}:v1`]);
  expect({ docker: byDocker.code === 0, ctr: byCtr.code === 0 }).toEqual({ docker: false, ctr: false });
  expect(byDocker.stderr).toMatch(/checksum/);
  expect(byCtr.stderr).toMatch(new RegExp(`potential malicious behavior - trust data mismatch for remote repository ${repo}: sha256 checksum for targets did not match`));
  expect(byCtr.stdout).not.toContain('Pull (1 of 1)');
});
