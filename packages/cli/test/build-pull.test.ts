/**
 * `ctr build --pull` and `ctr compose build --pull` (and a service's `build.pull: true`), as
 * docker's: the base is pulled from its registry even when here, its pull printed under the
 * FROM step as docker's classic builder prints it, and the image built on what the registry
 * has now. The base's tag moves in ctr's registry server on 127.0.0.1 between builds.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBaseRegistry, type BaseRegistry } from '../../../test/support/base-registry';
import { localCtr, type LocalCtr } from './local-ctr';

let ctr: LocalCtr;
let bases: BaseRegistry;
let dir: string;
let base: string;

beforeAll(async () => {
  ctr = await localCtr('build-pull');
  bases = await startBaseRegistry();
  base = `${bases.registry.host}/base:1`;
  dir = await mkdtemp(join(tmpdir(), 'ctr-cli-build-pull-'));
  await writeFile(join(dir, 'Dockerfile'), `FROM ${base}\nRUN cat /base-version\n`);
  await bases.publish(base, { 'base-version': 'one\n' });
  const pulled = await ctr.run('pull', '-q', base);
  if (pulled.code !== 0) throw new Error(`ctr pull: ${pulled.stderr}`);
}, 120_000);

afterAll(async () => {
  await bases?.close();
  await ctr?.cleanup();
  await rm(dir, { recursive: true, force: true });
}, 120_000);

/** What `/base-version` says in `image`. */
async function baseVersion(image: string): Promise<string> {
  return (await ctr.run('run', '--rm', '--pull', 'never', '--network', 'none', image, 'cat', '/base-version')).stdout;
}

/** Output lines with 12-hex IDs and digests made generic. */
const generic = (text: string): string[] =>
  text
    .trim()
    .split('\n')
    .map((line) => line.replace(/sha256:[0-9a-f]{64}/, 'sha256:<digest>').replace(/[0-9a-f]{12}/g, '<id>'));

test('ctr build --pull pulls the base here anew, prints the pull under FROM as docker does, and builds on it', async () => {
  await bases.publish(base, { 'base-version': 'two\n' });
  const built = await ctr.run('build', '--pull', '-t', 'pulled/app', dir);
  expect(built).toMatchObject({ code: 0, stderr: '' });
  const lines = generic(built.stdout);
  expect(lines.slice(0, 3)).toEqual([`Step 1/2 : FROM ${base}`, '1: Pulling from base', '<id>: Already exists']);
  // The new base's own layer, without its byte counts (docker's CLI without a terminal).
  expect(lines).toContain('<id>: Pull complete');
  expect(lines.filter((line) => line.includes('Downloading') || line.includes('Extracting'))).toEqual([]);
  const from = lines.indexOf('Step 2/2 : RUN cat /base-version');
  expect(lines.slice(from - 3, from + 3)).toEqual(['Digest: sha256:<digest>', `Status: Downloaded newer image for ${base}`, ' ---> <id>', 'Step 2/2 : RUN cat /base-version', ' ---> Running in <id>', 'two']);
  expect(await baseVersion('pulled/app')).toBe('two\n');
});

describe('ctr compose build', () => {
  const compose = async (service: string, ...args: string[]): Promise<void> => {
    const built = await ctr.runWith({ env: { ...process.env, COMPOSE_FILE: '', COMPOSE_PROJECT_NAME: '' }, cwd: dir, timeoutMs: 180_000 }, 'compose', '-p', 'pulling', 'build', ...args, service);
    expect(built.code).toBe(0);
  };

  beforeAll(async () => {
    await writeFile(
      join(dir, 'compose.yaml'),
      ['services:', '  given:', '    build: .', '  own:', '    build:', '      context: .', '      pull: true', ''].join('\n'),
    );
  });

  test('--pull builds on the base the registry has now', async () => {
    await bases.publish(base, { 'base-version': 'three\n' });
    await compose('given');
    expect(await baseVersion('pulling-given')).toBe('two\n');
    await compose('given', '--pull');
    expect(await baseVersion('pulling-given')).toBe('three\n');
  });

  test("a service's build.pull: true builds on the base the registry has now without --pull", async () => {
    await bases.publish(base, { 'base-version': 'four\n' });
    await compose('own');
    expect(await baseVersion('pulling-own')).toBe('four\n');
  });
});
