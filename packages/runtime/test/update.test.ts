import { readFileSync } from 'node:fs';
import { testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

const cgroupFile = (controller: string, id: string, file: string): string =>
  readFileSync(`/sys/fs/cgroup/${controller}${bed.cgroupParent}/${id}/${file}`, 'utf8').trim();

test("update changes a running container's limits in its cgroups at once", async () => {
  await bed.runtime.create('live', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] }, run: { memory: '64m', pidsLimit: 20 } });
  await bed.runtime.start('live');
  await bed.runtime.update('live', { memory: '96m', memorySwap: '200m', cpus: 0.5, pidsLimit: 50 });
  expect(cgroupFile('memory', 'live', 'memory.limit_in_bytes')).toBe(String(96 * 1024 * 1024));
  expect(cgroupFile('memory', 'live', 'memory.memsw.limit_in_bytes')).toBe(String(200 * 1024 * 1024));
  expect(cgroupFile('cpu', 'live', 'cpu.cfs_quota_us')).toBe('50000');
  expect(cgroupFile('pids', 'live', 'pids.max')).toBe('50');
  await bed.runtime.delete('live', { force: true });
});

test('a limit the update leaves out is lifted: pids back to max', async () => {
  await bed.runtime.create('lift', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] }, run: { pidsLimit: 20 } });
  await bed.runtime.start('lift');
  await bed.runtime.update('lift', {});
  expect(cgroupFile('pids', 'lift', 'pids.max')).toBe('max');
  await bed.runtime.delete('lift', { force: true });
});

test("update of a stopped container's limits holds from its next start", async () => {
  await bed.runtime.create('later', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] } });
  await bed.runtime.update('later', { memory: '48m' });
  await bed.runtime.start('later');
  expect(cgroupFile('memory', 'later', 'memory.limit_in_bytes')).toBe(String(48 * 1024 * 1024));
  expect((await bed.runtime.inspect('later')).spec.linux.resources?.memory?.limit).toBe(48 * 1024 * 1024);
  await bed.runtime.delete('later', { force: true });
});

test('a refused limit is an invalid-argument error and changes nothing', async () => {
  await bed.runtime.create('refused', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] }, run: { memory: '64m' } });
  await bed.runtime.start('refused');
  await expect(bed.runtime.update('refused', { memory: '1m' })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'Minimum memory limit allowed is 6MB' });
  expect(cgroupFile('memory', 'refused', 'memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
  expect((await bed.runtime.inspect('refused')).spec.linux.resources?.memory?.limit).toBe(64 * 1024 * 1024);
  await bed.runtime.delete('refused', { force: true });
});

test('update of an unknown container is a not-found error', async () => {
  await expect(bed.runtime.update('nosuch', { memory: '64m' })).rejects.toMatchObject({ code: 'NotFound' });
});
