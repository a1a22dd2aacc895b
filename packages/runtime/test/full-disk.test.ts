import { execFile } from 'node:child_process';
import { promises as fs, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Runtime } from '@ctr/runtime';
import { fillDisk, freeBlocks } from '../../../test/support/full-disk';
import { eventually, makeBusyboxRootfs } from './helpers';

const exec = promisify(execFile);

// The runtime's root and run root on a small tmpfs that the tests fill; the containers'
// root filesystems are elsewhere, so what fills is only ctr's own state.
let base: string;
let disk: string;
let runtime: Runtime;
const cgroupParent = `/ctr-test-${process.pid}-full-disk`;
let template: string;
let n = 0;

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-runtime-full-'));
  disk = path.join(base, 'disk');
  await fs.mkdir(disk);
  await exec('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk]);
  runtime = new Runtime({ root: path.join(disk, 'root'), runRoot: path.join(disk, 'run'), cgroupParent });
  template = await makeBusyboxRootfs(path.join(base, 'template'));
});

afterEach(async () => {
  await fs.rm(path.join(disk, 'fill'), { force: true });
  for (const c of await runtime.list()) await runtime.delete(c.id, { force: true }).catch(() => undefined);
});

afterAll(async () => {
  for (const controller of await fs.readdir('/sys/fs/cgroup')) {
    await fs.rmdir(path.join('/sys/fs/cgroup', controller, cgroupParent)).catch(() => undefined);
  }
  await exec('umount', [disk]).catch(() => undefined);
  await fs.rm(base, { recursive: true, force: true });
});

async function container(id: string, cmd: string[]): Promise<void> {
  const rootfs = path.join(base, `rootfs-${n++}`);
  await fs.cp(template, rootfs, { recursive: true, verbatimSymlinks: true });
  await runtime.create(id, { rootfs, image: { Cmd: cmd } });
}

test('pause and unpause work on a full disk, and the state follows the freezer', async () => {
  await container('frozen', ['sleep', '1000']);
  await runtime.start('frozen');
  await fillDisk(disk);
  await runtime.pause('frozen');
  expect(await runtime.state('frozen')).toMatchObject({ status: 'paused', running: true, paused: true });
  await runtime.unpause('frozen');
  expect(await runtime.state('frozen')).toMatchObject({ status: 'running', running: true, paused: false });
});

test('a container runc froze without ctr is paused, and unpause thaws it', async () => {
  await container('behind', ['sleep', '1000']);
  await runtime.start('behind');
  const runc = ['--root', path.join(disk, 'run', 'runc')];
  await exec('runc', [...runc, 'pause', 'behind']);
  expect(await runtime.state('behind')).toMatchObject({ status: 'paused', paused: true });
  await runtime.unpause('behind');
  expect(JSON.parse((await exec('runc', [...runc, 'state', 'behind'])).stdout)).toMatchObject({ status: 'running' });
});

test('delete on a full disk removes an exited container and frees its space', async () => {
  await container('done', ['true']);
  await runtime.start('done');
  await runtime.wait('done');
  await fillDisk(disk);
  await runtime.delete('done');
  expect((await runtime.list()).map((c) => c.id)).not.toContain('done');
  await eventually(async () => expect(freeBlocks(disk)).toBeGreaterThan(0));
});

test('a forced delete on a full disk removes a running container', async () => {
  await container('live', ['sleep', '1000']);
  await runtime.start('live');
  await fillDisk(disk);
  await runtime.delete('live', { force: true });
  expect((await runtime.list()).map((c) => c.id)).not.toContain('live');
  await eventually(async () => expect(freeBlocks(disk)).toBeGreaterThan(0));
});

test('a state file that cannot be written is ResourceExhausted naming it, and leaves no temp file', async () => {
  await container('limited', ['true']);
  await fillDisk(disk);
  const dir = path.join(disk, 'root', 'containers', 'limited');
  await expect(runtime.update('limited', { memory: '64m' })).rejects.toMatchObject({
    code: 'ResourceExhausted',
    message: expect.stringContaining(`write ${path.join(dir, 'config.json')}: no space left on device: free space on the filesystem holding`),
  });
  expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
});
