import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isMountPoint } from '../../../test/support/mounts';
import { localCtr, type LocalCtr } from './local-ctr';

/**
 * An export whose reader stops early (`ctr export x | head -c 100`) ends at its broken pipe,
 * before it lets go of the stopped container's root filesystem it mounted; so does one killed.
 * The next look at the container (any command on it, `ps`) unmounts it, as it resumes a
 * pause a killed copy left.
 */
let local: LocalCtr;

beforeAll(async () => {
  local = await localCtr('export-cut-short');
});

afterAll(async () => {
  await local.cleanup();
});

/** A stopped container named `name`; its root filesystem (unmounted). */
async function stopped(name: string): Promise<string> {
  expect((await local.run('run', '--name', name, '--network', 'none', 'busybox', 'true')).code).toBe(0);
  const rootfs = (await local.run('inspect', '--format', '{{.GraphDriver.Data.MergedDir}}', name)).stdout.trim();
  expect(await isMountPoint(rootfs)).toBe(false);
  return rootfs;
}

/** `ctr export <name> | head -c 100`, through a shell's pipe. */
async function exportCutShort(name: string): Promise<void> {
  const { stdout } = await promisify(execFile)('sh', ['-c', '"$@" | head -c 100 | wc -c', 'sh', ...local.argv('export', name)], { env: process.env });
  expect(stdout.trim()).toBe('100');
}

test('ctr export x | head -c 100, then ctr inspect x: the stopped container is left unmounted', async () => {
  const rootfs = await stopped('cut-inspect');
  await exportCutShort('cut-inspect');
  expect((await local.run('inspect', '--format', '{{.State.Status}}', 'cut-inspect')).stdout.trim()).toBe('exited');
  expect(await isMountPoint(rootfs)).toBe(false);
});

test('ctr export x | head -c 100, then ctr ps -a: the stopped container is left unmounted', async () => {
  const rootfs = await stopped('cut-ps');
  await exportCutShort('cut-ps');
  expect((await local.run('ps', '-a', '--format', '{{.Names}} {{.State}}')).stdout).toContain('cut-ps exited');
  expect(await isMountPoint(rootfs)).toBe(false);
});

test('after ctr export x | head -c 100, the container starts again and exports whole', async () => {
  await stopped('cut-again');
  await exportCutShort('cut-again');
  expect((await local.run('start', '-a', 'cut-again')).code).toBe(0);
  const { stdout } = await promisify(execFile)('sh', ['-c', '"$@" | tar -t | grep -c "^bin/busybox$"', 'sh', ...local.argv('export', 'cut-again')], { env: process.env });
  expect(stdout.trim()).toBe('1');
});
