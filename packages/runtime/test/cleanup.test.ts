import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { leftoverCgroups, mountsUnder, testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('delete of a running container leaves no process, runc state, cgroup, mount or file', async () => {
  const rootfs = await bed.rootfs();
  await bed.runtime.create('gone', {
    rootfs,
    image: { Cmd: ['sleep', '1000'] },
    run: { memory: '32m', pidsLimit: 50, mounts: [{ type: 'tmpfs', target: '/scratch' }] },
  });
  await bed.runtime.start('gone');
  const info = await bed.runtime.inspect('gone');
  const conmonPid = Number(await fs.readFile(path.join(info.bundle, 'conmon.pid'), 'utf8'));
  expect(alive(info.pid)).toBe(true);
  expect(alive(conmonPid)).toBe(true);
  expect(await leftoverCgroups(bed.cgroupParent)).not.toEqual([]);

  await bed.runtime.delete('gone', { force: true });

  expect(alive(info.pid)).toBe(false);
  expect(alive(conmonPid)).toBe(false);
  expect(await leftoverCgroups(bed.cgroupParent)).toEqual([]);
  expect(await fs.readdir(path.join(bed.base, 'run', 'runc'))).toEqual([]);
  await expect(fs.access(info.bundle)).rejects.toThrow();
  expect(mountsUnder(rootfs)).toEqual([]);
  expect(mountsUnder(path.join(bed.base, 'root'))).toEqual([]);
  expect(await bed.runtime.list()).toEqual([]);
});

test('delete of an exited container removes its runc state and cgroup', async () => {
  await bed.runtime.create('done', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { memory: '32m' } });
  await bed.runtime.start('done');
  await bed.runtime.wait('done');
  await bed.runtime.delete('done');
  expect(await leftoverCgroups(bed.cgroupParent)).toEqual([]);
  expect(await fs.readdir(path.join(bed.base, 'run', 'runc'))).toEqual([]);
});
