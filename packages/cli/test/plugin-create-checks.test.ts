/**
 * `ctr plugin create` checks its directory as docker's CLI does, before anything is sent or
 * made: a directory, holding a config.json that decodes (Go's words when it does not).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctrOn, type CtrOn } from './local-ctr';

let dir: string;
let ctr: CtrOn;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-plugin-create-checks-'));
  // No engine is opened for a refused create: the roots are never made.
  ctr = ctrOn(join(dir, 'root'), join(dir, 'run'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a config.json that is not JSON is refused in Go’s words', async () => {
  const pluginDir = join(dir, 'bad-json');
  await mkdir(join(pluginDir, 'rootfs'), { recursive: true });
  await writeFile(join(pluginDir, 'config.json'), '{"Description": }');
  const result = await ctr.run('plugin', 'create', 'bad-json', pluginDir);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain("invalid character '}' looking for beginning of value");
});

test('a file where the directory should be is "context must be a directory"', async () => {
  const file = join(dir, 'not-a-dir');
  await writeFile(file, '');
  const result = await ctr.run('plugin', 'create', 'not-a-dir', file);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain('context must be a directory');
});
