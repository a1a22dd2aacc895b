import { readFileSync } from 'node:fs';
import { Collector, eventually, testBed, type TestBed } from './helpers';
import type { RunOptions } from '@ctr/runtime';

let bed: TestBed;
let n = 0;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

/** Run `script` in a new container and return its exit code and output. */
async function run(script: string, options: RunOptions = {}): Promise<{ exitCode: number; out: string; err: string }> {
  const id = `iso${n++}`;
  const stdout = new Collector();
  const stderr = new Collector();
  await bed.runtime.create(id, { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', script] }, run: options });
  const { attached } = await bed.runtime.start(id, { attach: { stdout, stderr } });
  const { exitCode } = await bed.runtime.wait(id);
  await attached;
  await bed.runtime.delete(id);
  return { exitCode, out: stdout.text(), err: stderr.text() };
}

test('a memory limit is visible inside the container', async () => {
  const { out } = await run('cat /sys/fs/cgroup/memory/memory.limit_in_bytes', { memory: '64m' });
  expect(out.trim()).toBe(String(64 * 1024 * 1024));
});

test('a pids limit holds a fork bomb inside the container', async () => {
  await bed.runtime.create('bomb', { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', 'f() { f | f & }; f; sleep 1000'] }, run: { pidsLimit: 20 } });
  await bed.runtime.start('bomb');
  const cgroup = `/sys/fs/cgroup/pids${bed.cgroupParent}/bomb`;
  await eventually(async () => expect(readFileSync(`${cgroup}/pids.events`, 'utf8')).not.toMatch(/^max 0$/m));
  expect(readFileSync(`${cgroup}/pids.max`, 'utf8').trim()).toBe('20');
  expect(Number(readFileSync(`${cgroup}/pids.current`, 'utf8'))).toBeLessThanOrEqual(20);
  await bed.runtime.delete('bomb', { force: true });
});

test('cpus become a CFS quota over a 100ms period', async () => {
  const { out } = await run('cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us', { cpus: 0.5 });
  expect(out.trim().split('\n')).toEqual(['50000', '100000']);
});

test('a read-only rootfs refuses writes', async () => {
  const { exitCode, err } = await run('echo x > /file', { readOnlyRootfs: true });
  expect(exitCode).not.toBe(0);
  expect(err).toMatch(/Read-only file system/);
});

test('the container cannot see host processes', async () => {
  const { out } = await run('ls /proc | grep -E "^[0-9]+$" | wc -l; echo $$');
  const [count, pid] = out.trim().split('\n');
  expect(pid).toBe('1');
  expect(Number(count)).toBeLessThanOrEqual(4);
});

test('the container cannot mount filesystems', async () => {
  const { exitCode, err } = await run('mkdir -p /mnt && mount -t tmpfs none /mnt');
  expect(exitCode).not.toBe(0);
  expect(err).toMatch(/denied|not permitted/i);
});

test('the container cannot load kernel modules', async () => {
  const { exitCode, err } = await run('insmod /bin/busybox');
  expect(exitCode).not.toBe(0);
  expect(err).toMatch(/not permitted|denied/i);
});

test('the container has Docker\'s default capabilities and no more', async () => {
  const { out } = await run('grep CapBnd /proc/self/status');
  // The 14 default capabilities as a bit mask (CAP_CHOWN … CAP_SETFCAP).
  expect(out.trim()).toBe('CapBnd:\t00000000a80425fb');
});

test('the hostname and /etc/hosts name the container', async () => {
  const { out } = await run('hostname; cat /etc/hostname; grep -c localhost /etc/hosts', { hostname: 'box1' });
  expect(out.split('\n').slice(0, 2)).toEqual(['box1', 'box1']);
});

test('network mode none leaves only the loopback interface', async () => {
  const { out } = await run('ls /sys/class/net');
  expect(out.trim()).toBe('lo');
});

test('a bind mount is visible read-only when asked', async () => {
  const { exitCode, out, err } = await run('cat /data/hostname; echo x > /data/new', {
    mounts: [{ type: 'bind', source: '/etc', target: '/data', readOnly: true }],
  });
  expect(out.trim().length).toBeGreaterThan(0);
  expect(exitCode).not.toBe(0);
  expect(err).toMatch(/Read-only file system/);
});

test('a tmpfs mount is writable and sized', async () => {
  const { exitCode, out } = await run('echo hi > /scratch/f && cat /scratch/f && df -k /scratch | tail -1', {
    mounts: [{ type: 'tmpfs', target: '/scratch', size: '8m' }],
  });
  expect(exitCode).toBe(0);
  expect(out).toMatch(/^hi\n\S+\s+8192\s/);
});
