/**
 * bin/ctr.js keeps V8's code cache of the bundle beside it. The cache holds what had been
 * compiled when it was written, so a command that runs a container writes the one that
 * stays; any other command's cache is partial, replaced by the first `run`.
 */
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess, type ProcessResult } from '../../../test/support/run-process';
import { localCtr, type LocalCtr } from './local-ctr';

const cli = join(__dirname, '..');
let local: LocalCtr;
let install: string;

beforeAll(async () => {
  local = await localCtr('code-cache');
});

afterAll(async () => {
  await local?.cleanup();
});

// A copy of the launcher and the bundle, as an install has them: its cache is this test's alone.
beforeEach(async () => {
  install = await mkdtemp(join(tmpdir(), 'ctr-code-cache-'));
  await mkdir(join(install, 'cli', 'bin'), { recursive: true });
  await mkdir(join(install, 'cli', 'dist'));
  await copyFile(join(cli, 'bin', 'ctr.js'), join(install, 'cli', 'bin', 'ctr.js'));
  for (const bundle of ['ctr.bundle.js', 'ctr.more.bundle.js', 'undici.bundle.js']) {
    await copyFile(join(cli, 'dist', bundle), join(install, 'cli', 'dist', bundle));
  }
});

afterEach(async () => {
  await rm(install, { recursive: true, force: true });
});

function ctr(...args: string[]): Promise<ProcessResult> {
  const [, ...onRoot] = local.argv(...args);
  return runProcess(process.execPath, [join(install, 'cli', 'bin', 'ctr.js'), ...onRoot], { env: process.env });
}

/** The caches beside the bundles: `cache` or `partial.cache` for the main one, `more.` before the other's. */
async function caches(): Promise<string[]> {
  return (await readdir(join(install, 'cli', 'dist')))
    .filter((name) => name.endsWith('.cache'))
    .map((name) => name.replace(/^ctr\.bundle\.\d+-\d+\./, '').replace(/^ctr\.more\.bundle\.\d+-\d+\./, 'more.'))
    .sort();
}

test('a command that runs no container writes a partial cache, which the next one uses as it is', async () => {
  expect((await ctr('--version')).code).toBe(0);
  expect(await caches()).toEqual(['partial.cache']);
  const [file] = (await readdir(join(install, 'cli', 'dist'))).filter((name) => name.endsWith('.cache'));
  const written = (await stat(join(install, 'cli', 'dist', file))).mtimeMs;
  expect((await ctr('images')).code).toBe(0);
  expect((await stat(join(install, 'cli', 'dist', file))).mtimeMs).toBe(written);
});

test('the first run of a container replaces a partial cache with the full one, which stays', async () => {
  await ctr('--version');
  const run = await ctr('run', '--rm', '--network', 'none', 'busybox', 'true');
  expect(run.code).toBe(0);
  expect(await caches()).toEqual(['cache']);
  await ctr('--version');
  expect(await caches()).toEqual(['cache']);
});

test('a command that only names run (an argument, a --help) writes a partial cache', async () => {
  expect((await ctr('inspect', 'run')).code).toBe(1);
  expect((await ctr('run', '--help')).code).toBe(0);
  expect(await caches()).toEqual(['partial.cache']);
});

test('a cache V8 refuses is replaced, and the command still runs', async () => {
  await ctr('run', '--rm', '--network', 'none', 'busybox', 'true');
  const [file] = (await readdir(join(install, 'cli', 'dist'))).filter((name) => name.endsWith('.cache'));
  await writeFile(join(install, 'cli', 'dist', file), 'not a code cache');
  const version = await ctr('--version');
  expect(version.code).toBe(0);
  expect(version.stdout).toMatch(/^ctr version /);
  expect(await caches()).toEqual(['partial.cache']);
});

test('a command that needs a package ctr run never loads reads the second bundle through a cache of its own', async () => {
  await ctr('run', '--rm', '--network', 'none', 'busybox', 'true');
  // Nothing listens on port 1: the pull fails at once, once the registry client is loaded.
  const pull = await ctr('pull', '127.0.0.1:1/nothing:latest');
  expect(pull.code).toBe(1);
  expect(pull.stderr).toMatch(/cannot reach registry 127\.0\.0\.1:1/);
  expect(await caches()).toEqual(['cache', 'more.partial.cache']);
  const [more] = (await readdir(join(install, 'cli', 'dist'))).filter((name) => name.startsWith('ctr.more.bundle.') && name.endsWith('.cache'));
  const written = (await stat(join(install, 'cli', 'dist', more))).mtimeMs;
  await ctr('pull', '127.0.0.1:1/nothing:latest');
  expect((await stat(join(install, 'cli', 'dist', more))).mtimeMs).toBe(written);
});
