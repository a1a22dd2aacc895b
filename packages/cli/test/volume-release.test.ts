import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountPoints } from '@ctr/store';
import { eventually, localCtr, type LocalCtr } from './local-ctr';

/**
 * Without a daemon, what a container holds on the host (a device volume's mount, a shareable
 * /dev/shm) comes off at its exit all the same: conmon's exit command (`ctr container
 * cleanup`) is given to such containers — and only to them — and releases it.
 */
let local: LocalCtr;
let root: string;
const ctr = (...args: string[]): ReturnType<LocalCtr['run']> => local.run(...args);

async function tmpfsVolume(name: string): Promise<string> {
  expect((await ctr('volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m', name)).code).toBe(0);
  return (await ctr('volume', 'inspect', '--format', '{{.Mountpoint}}', name)).stdout.trim();
}

async function mounted(dir: string): Promise<boolean> {
  return (await mountPoints()).includes(dir);
}

/** conmon's command line for a running container. */
function conmonArgs(id: string): string[] {
  const pid = readFileSync(join(root, 'containers', id, 'conmon.pid'), 'utf8').trim();
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

beforeAll(async () => {
  local = await localCtr('release');
  root = local.argv()[2] as string;
});

afterAll(async () => {
  const { stdout } = await ctr('ps', '-aq', '--no-trunc');
  for (const id of stdout.split('\n').filter(Boolean)) await ctr('rm', '-f', id);
  for (const name of (await ctr('volume', 'ls', '-q')).stdout.split('\n').filter(Boolean)) await ctr('volume', 'rm', '-f', name);
  await local.cleanup();
});

test('a detached container that exits has its tmpfs volume unmounted by the exit command', async () => {
  const mountpoint = await tmpfsVolume('detached-tmpfs');
  expect((await ctr('run', '-d', '--network', 'none', '-v', 'detached-tmpfs:/data', 'busybox', 'sleep', '0.3')).code).toBe(0);
  expect(await eventually(async () => !(await mounted(mountpoint)))).toBe(true);
});

test('an attached run has its tmpfs volume unmounted when ctr returns', async () => {
  const mountpoint = await tmpfsVolume('attached-tmpfs');
  expect(await ctr('run', '--network', 'none', '-v', 'attached-tmpfs:/data', 'busybox', 'sh', '-c', "df -k /data | awk 'NR==2 {print $1}'")).toMatchObject({ code: 0, stdout: 'tmpfs\n' });
  expect(await mounted(mountpoint)).toBe(false);
});

test("ctr kill of a shareable container ends with its /dev/shm unmounted", async () => {
  const id = (await ctr('run', '-d', '--network', 'none', '--ipc', 'shareable', 'busybox', 'sleep', '300')).stdout.trim();
  const shm = join(root, 'containers', id, 'shm');
  expect(await mounted(shm)).toBe(true);
  expect((await ctr('kill', id)).code).toBe(0);
  expect(await eventually(async () => !(await mounted(shm)))).toBe(true);
});

test('a container that holds host mounts gets an exit command, as every detached one does (for its die event)', async () => {
  const plain = (await ctr('run', '-d', '--network', 'none', 'busybox', 'sleep', '300')).stdout.trim();
  const holder = (await ctr('run', '-d', '--network', 'none', '--ipc', 'shareable', 'busybox', 'sleep', '300')).stdout.trim();
  expect(conmonArgs(plain)).toContain('--exit-command');
  expect(conmonArgs(holder)).toContain('--exit-command');
});
