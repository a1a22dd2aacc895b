/**
 * `Config.Env` where nothing sets a variable, as dockerd shows it. moby's merge gives a
 * container with no variables of its own its image's list as it is: null for an image with
 * none, `[]` for an image whose config says `[]`. An image's inspect (its DockerOCIImageConfig)
 * leaves an empty list out, which a client reads as null; a commit keeps what the container had.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let work: string;

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-engine-env-null-'));
  await writeFile(join(work, 'file'), 'an image with no environment\n');
  await t.engine.importImage({ dir: work }, { name: 'no-env:1', config: { Cmd: ['/file'] } });
});

afterAll(async () => {
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

async function containerEnv(image: string, env?: string[]): Promise<string[] | null> {
  const { id } = await t.engine.create({ image, network: 'none', ...(env ? { env } : {}) });
  return (await t.engine.inspect(id)).Config.Env;
}

test('an image with no variables has none on inspect', async () => {
  expect((await t.engine.inspectImage('no-env:1')).Config.Env).toBeUndefined();
});

test('a container of an image with no variables, given none, has a null Config.Env', async () => {
  expect(await containerEnv('no-env:1')).toBeNull();
});

test('a container given no variables of an image whose config says [] has []', async () => {
  const { id } = await t.engine.create({ image: 'no-env:1', network: 'none' });
  await t.engine.commit(id, { reference: 'empty-env:1', config: { Env: [] } });
  expect(await containerEnv('empty-env:1')).toEqual([]);
});

test('an image whose config says Env [] shows none on inspect', async () => {
  const { id } = await t.engine.create({ image: 'no-env:1', network: 'none' });
  await t.engine.commit(id, { reference: 'empty-env-inspect:1', config: { Env: [] } });
  expect('Env' in (await t.engine.inspectImage('empty-env-inspect:1')).Config).toBe(false);
});

test('a container given variables of its own, of an image with none, has its own', async () => {
  expect(await containerEnv('no-env:1', ['A=1'])).toEqual(['A=1']);
});

test('the commit of a container with a null Config.Env is an image with no variables', async () => {
  const { id } = await t.engine.create({ image: 'no-env:1', network: 'none' });
  await t.engine.commit(id, { reference: 'committed-no-env:1' });
  expect((await t.engine.inspectImage('committed-no-env:1')).Config.Env).toBeUndefined();
});
