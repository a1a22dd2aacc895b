/**
 * `ctr run` and `ctr create` pull a missing image as docker's CLI does: "Unable to find
 * image '…' locally", then `docker pull`'s output on stderr (stdout stays the container's),
 * nothing of it with `-q`, and `--pull always` pulls first. The registry is ctr's own, on
 * 127.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { localCtr, type LocalCtr } from './local-ctr';

let ctr: LocalCtr;
let registryRoot: string;
let registry: RegistryServer;
let image: string;

beforeAll(async () => {
  ctr = await localCtr('run-pull');
  registryRoot = await mkdtemp(join(tmpdir(), 'ctr-cli-run-pull-registry-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: registryRoot });
  await registry.listen();
  image = `${registry.host}/pulled/box:v1`;
  for (const args of [['tag', 'busybox', image], ['push', image], ['rmi', image]]) {
    const result = await ctr.run(...args);
    if (result.code !== 0) throw new Error(`ctr ${args.join(' ')}: ${result.stderr}`);
  }
});

afterAll(async () => {
  await registry?.close();
  await ctr?.cleanup();
  await rm(registryRoot, { recursive: true, force: true });
});

/** Pull output's lines with each layer's short ID made generic. */
const pullLines = (stderr: string): string[] => stderr.trim().split('\n').map((line) => line.replace(/^[0-9a-f]{12}: /, 'LAYER: ').replace(/sha256:[0-9a-f]{64}/, 'sha256:DIGEST'));

test('run of an image missing here says so on stderr, pulls it with docker pull output there, and runs it', async () => {
  const result = await ctr.run('run', '--rm', image, 'echo', 'ran');
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('ran\n');
  const lines = pullLines(result.stderr);
  expect(lines.slice(0, 2)).toEqual([`Unable to find image '${image}' locally`, 'v1: Pulling from pulled/box']);
  // The image is here in full already (it was pushed from busybox): as docker then, not a word per layer.
  expect(lines.filter((line) => line.startsWith('LAYER: '))).toEqual([]);
  expect(lines.slice(-2)).toEqual(['Digest: sha256:DIGEST', `Status: Downloaded newer image for ${image}`]);
  await ctr.run('rmi', image);
});

test('create -q pulls a missing image without a word: stdout is the container ID alone', async () => {
  const result = await ctr.run('create', '-q', image, 'true');
  expect(result).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/) });
  expect((await ctr.run('image', 'inspect', '--format', '{{.Id}}', image)).code).toBe(0);
  await ctr.run('rm', result.stdout.trim());
});

test('run --pull always pulls an image that is here, with no "Unable to find" line', async () => {
  expect((await ctr.run('pull', '-q', image)).code).toBe(0);
  const result = await ctr.run('run', '--rm', '--pull', 'always', image, 'true');
  expect(result.code).toBe(0);
  expect(pullLines(result.stderr)[0]).toBe('v1: Pulling from pulled/box');
  await ctr.run('rmi', image);
});

test('run --pull never of a missing image fails with exit 125, pulling nothing', async () => {
  const result = await ctr.run('run', '--rm', '--pull', 'never', image, 'true');
  expect(result.code).toBe(125);
  expect(result.stderr).toContain(`No such image: ${image}`);
  expect(result.stderr).not.toContain('Pulling from');
});

test('an image the registry does not have fails the run with exit 125 after "Unable to find image"', async () => {
  const missing = `${registry.host}/pulled/absent:v1`;
  const result = await ctr.run('run', '--rm', missing, 'true');
  expect(result.code).toBe(125);
  expect(result.stderr.split('\n')[0]).toBe(`Unable to find image '${missing}' locally`);
  expect(result.stderr).toMatch(/manifest unknown|not found/i);
});

test('pulling an image the name already means ends "Image is up to date", as docker pull does', async () => {
  expect((await ctr.run('pull', '-q', image)).stdout).toBe(`${image}\n`);
  const again = await ctr.run('pull', image);
  expect(again.code).toBe(0);
  expect(pullLines(again.stdout).slice(-3)).toEqual(['Digest: sha256:DIGEST', `Status: Image is up to date for ${image}`, image]);
  await ctr.run('rmi', image);
});
