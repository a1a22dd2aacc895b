/**
 * The real docker CLI's `build --pull` (DOCKER_BUILDKIT=0, which sends `pull=1`) against
 * ctrd: the daemon pulls the base from its registry even when it has it, streams the pull as
 * dockerd's classic builder does (the CLI prints it under the FROM step as it prints `docker
 * pull`), and builds on it; a pull that fails is the build's error. Against ctr's registry
 * server on 127.0.0.1, where the base's tag moves after ctrd has the first image of it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBaseRegistry, type BaseRegistry } from '../../../test/support/base-registry';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();
let bases: BaseRegistry;
let context: string;
let base: string;

beforeAll(async () => {
  bases = await startBaseRegistry();
  base = `${bases.registry.host}/base:1`;
  context = await mkdtemp(join(tmpdir(), 'ctr-api-build-pull-'));
  await writeFile(join(context, 'Dockerfile'), `FROM ${base}\nRUN cat /base-version\n`);
  await bases.publish(base, { 'base-version': 'one\n' });
  const pulled = await docker(t.env, ['pull', '-q', base]);
  if (pulled.code !== 0) throw new Error(`docker pull: ${pulled.stderr}`);
  await bases.publish(base, { 'base-version': 'two\n' });
});

afterAll(async () => {
  await bases?.close();
  if (context) await rm(context, { recursive: true, force: true });
});

test('docker build --pull pulls the base anew, prints its pull under FROM, and builds on it', async () => {
  const built = await docker(t.env, ['build', '--pull', '-t', 'pulled/api', context]);
  expect(built.code).toBe(0);
  const lines = built.stdout.split('\n').map((line) => line.replace(/[0-9a-f]{12}: /, '<id>: ').replace(/sha256:[0-9a-f]{64}/, 'sha256:<digest>'));
  const from = lines.indexOf(`Step 1/2 : FROM ${base}`);
  expect(lines.slice(from, from + 3)).toEqual([`Step 1/2 : FROM ${base}`, '1: Pulling from base', '<id>: Already exists']);
  // The layer's byte counts are drawn only on a terminal.
  expect(lines).toContain('<id>: Pull complete');
  expect(lines.filter((line) => line.includes('Downloading') || line.includes('Extracting'))).toEqual([]);
  const run = lines.indexOf('Step 2/2 : RUN cat /base-version');
  expect(lines.slice(run - 3, run)).toEqual(['Digest: sha256:<digest>', `Status: Downloaded newer image for ${base}`, expect.stringMatching(/^ ---> [0-9a-f]{12}$/)]);
  expect(lines[run + 2]).toBe('two');
});

test('docker build --pull with the registry stopped fails with the reason, and tags nothing', async () => {
  await bases.registry.close();
  const failed = await docker(t.env, ['build', '--pull', '-t', 'pulled/unreachable', context]);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain(`cannot reach registry ${bases.registry.host}`);
  expect((await docker(t.env, ['images', '-q', 'pulled/unreachable'])).stdout).toBe('');
});
