import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { Runtime } from '@ctr/runtime';
import { eventually, isMountPoint, leftoverCgroups, mountsUnder, testBed, type TestBed } from './helpers';

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
  expect(await isMountPoint(rootfs)).toBe(false);
  expect(await mountsUnder(rootfs)).toEqual([]);
  expect(await mountsUnder(path.join(bed.base, 'root'))).toEqual([]);
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

test('a deleted container\'s files are deleted behind the call, and nothing of it remains', async () => {
  await bed.runtime.create('retired', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] } });
  await bed.runtime.start('retired');
  await bed.runtime.wait('retired');
  await bed.runtime.delete('retired');
  expect(await fs.readdir(path.join(bed.base, 'root', 'containers'))).toEqual([]);
  await eventually(async () => expect(await fs.readdir(path.join(bed.base, 'root', 'removed-containers'))).toEqual([]));
});

test('a container is deleted in place when the directory of removed containers has gone', async () => {
  await bed.runtime.create('in-place', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] } });
  await fs.rm(path.join(bed.base, 'root', 'removed-containers'), { recursive: true, force: true });
  await bed.runtime.delete('in-place');
  expect(await fs.readdir(path.join(bed.base, 'root', 'containers'))).toEqual([]);
  expect((await bed.runtime.list()).map((c) => c.id)).toEqual([]);
  await fs.mkdir(path.join(bed.base, 'root', 'removed-containers'));
});

test('files a killed process left on their way out are deleted by the next Runtime', async () => {
  const root = await fs.mkdtemp(path.join(bed.base, 'swept-'));
  const left = path.join(root, 'removed-containers', 'abc.0123');
  await fs.mkdir(left, { recursive: true });
  await fs.writeFile(path.join(left, 'config.json'), '{}');
  const runtime = new Runtime({ root, runRoot: path.join(root, 'run'), cgroupParent: bed.cgroupParent });
  await runtime.create('next', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] } });
  expect((await runtime.list()).map((c) => c.id)).toEqual(['next']);
  await eventually(async () => expect(await fs.readdir(path.join(root, 'removed-containers'))).toEqual([]));
  await runtime.delete('next');
});

test('a runtime binary older than runc 1.0.0-rc6 is refused (CVE-2019-5736)', async () => {
  const dir = await fs.mkdtemp(path.join(bed.base, 'oldrunc-'));
  const fake = path.join(dir, 'runc');
  await fs.writeFile(fake, '#!/bin/sh\necho "runc version 1.0.0-rc5"\n', { mode: 0o755 });
  const old = new Runtime({ root: path.join(dir, 'root'), runRoot: path.join(dir, 'run'), runtimePath: fake });
  await expect(old.create('x', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] } })).rejects.toThrow(/CVE-2019-5736/);
});

test('a missing runtime binary is reported with every place looked at', async () => {
  const missing = new Runtime({ root: path.join(bed.base, 'r2'), runRoot: path.join(bed.base, 'r2run'), runtimePath: '/nonexistent/runc' });
  await expect(missing.create('x', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] } })).rejects.toThrow('runc not found (tried /nonexistent/runc: ENOENT)');
});
