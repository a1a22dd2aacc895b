/**
 * bin/ctr.js keeps V8's code cache of the bundle beside it. The cache holds what had been
 * compiled when it was written, so a command that runs a container writes the one that
 * stays; any other command's cache is partial, replaced by the first `run`.
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runProcess, type ProcessResult } from '../../../test/support/run-process';
import { installCopy, type InstallCopy } from './install-copy';
import { localCtr, type LocalCtr } from './local-ctr';

let local: LocalCtr;
let install: InstallCopy;

beforeAll(async () => {
  local = await localCtr('code-cache');
});

afterAll(async () => {
  await local?.cleanup();
});

beforeEach(async () => {
  install = await installCopy('code-cache');
});

afterEach(async () => {
  await install.remove();
});

function ctr(...args: string[]): Promise<ProcessResult> {
  const [, ...onRoot] = local.argv(...args);
  return runProcess(process.execPath, [join(install.bin, 'ctr.js'), ...onRoot], { env: process.env });
}

async function caches(): Promise<string[]> {
  return (await readdir(install.dist)).filter((name) => name.endsWith('.cache')).map((name) => name.replace(/^ctr\.bundle\.\d+-\d+\./, ''));
}

test('a command that runs no container writes a partial cache, which the next one uses as it is', async () => {
  expect((await ctr('--version')).code).toBe(0);
  expect(await caches()).toEqual(['partial.cache']);
  const [file] = (await readdir(install.dist)).filter((name) => name.endsWith('.cache'));
  const written = (await stat(join(install.dist, file))).mtimeMs;
  expect((await ctr('images')).code).toBe(0);
  expect((await stat(join(install.dist, file))).mtimeMs).toBe(written);
});

test('the first run of a container replaces a partial cache with the full one, which stays', async () => {
  await ctr('--version');
  const run = await ctr('run', '--rm', '--network', 'none', 'busybox', 'true');
  expect(run.code).toBe(0);
  expect(await caches()).toEqual(['cache']);
  await ctr('--version');
  expect(await caches()).toEqual(['cache']);
});

test('a cache V8 refuses is replaced, and the command still runs', async () => {
  await ctr('run', '--rm', '--network', 'none', 'busybox', 'true');
  const [file] = (await readdir(install.dist)).filter((name) => name.endsWith('.cache'));
  await writeFile(join(install.dist, file), 'not a code cache');
  const version = await ctr('--version');
  expect(version.code).toBe(0);
  expect(version.stdout).toMatch(/^ctr version /);
  expect(await caches()).toEqual(['partial.cache']);
});
