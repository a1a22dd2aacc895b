import { readFileSync, readlinkSync } from 'node:fs';
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

describe('loosening isolation on request', () => {
  test('--init runs docker-init as PID 1 with the command as its child', async () => {
    const { exitCode, out } = await run('tr "\\0" " " < /proc/1/cmdline; echo; cat /proc/$$/status | grep ^PPid', { init: true });
    expect(exitCode).toBe(0);
    expect(out).toBe('/sbin/docker-init -- sh -c tr "\\0" " " < /proc/1/cmdline; echo; cat /proc/$$/status | grep ^PPid \nPPid:\t1\n');
  });

  test('--init with no docker-init or tini-static on the host is an Unavailable error naming the package, and leaves nothing', async () => {
    await run('true'); // the runtime's own tools are found first, with the real PATH
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(bed.runtime.create('noinit', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { init: true } })).rejects.toMatchObject({
        code: 'Unavailable',
        message: '--init needs docker-init or tini-static on the host, and neither was found',
        hint: 'install the Debian package "tini"',
      });
    } finally {
      process.env.PATH = saved;
    }
    await expect(bed.runtime.state('noinit')).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('--privileged gives every capability, the host devices and a writable /sys', async () => {
    const { out } = await run('grep ^CapEff /proc/self/status; ls /dev/loop-control; grep " /sys sysfs" /proc/mounts');
    const { out: privileged } = await run('grep ^CapEff /proc/self/status; ls /dev/loop-control; grep " /sys sysfs" /proc/mounts', { privileged: true });
    expect(out).not.toContain('/dev/loop-control');
    // Every capability this process may grant: its own bounding set.
    const bounding = /^CapBnd:\t(\w+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    expect(privileged).toMatch(new RegExp(`^CapEff:\t${bounding}\n/dev/loop-control\nsysfs /sys sysfs rw,`));
  });

  test('--device makes the host node in the container under its new name, with the permissions asked', async () => {
    const { exitCode, out } = await run('ls -l /dev/mynull | cut -c1,34-41; echo x > /dev/mynull && echo written', {
      devices: [{ pathOnHost: '/dev/null', pathInContainer: '/dev/mynull', permissions: 'rw' }],
    });
    expect(exitCode).toBe(0);
    expect(out.split('\n')[0]).toMatch(/^c/);
    expect(out).toContain('written');
  });

  test('a --device that is not a device node is refused before anything runs', async () => {
    await expect(bed.runtime.create('notdev', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { devices: [{ pathOnHost: '/etc/passwd' }] } })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'error gathering device information while adding custom device "/etc/passwd": not a device node',
    });
    await expect(bed.runtime.create('badmode', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { devices: [{ pathOnHost: '/dev/null', permissions: 'rx' }] } })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'invalid device mode: rx',
    });
  });

  test('--group-add adds groups by number and by name from the container\'s /etc/group', async () => {
    const { out } = await run('id -G', { user: '1000:1000', groupAdd: ['4242', 'root'] });
    expect(out.trim().split(' ').sort()).toEqual(['0', '1000', '4242']);
  });

  test('--pid host, --ipc host and --uts host share the host\'s namespaces', async () => {
    const ns = (type: string): string => readlinkSync(`/proc/self/ns/${type}`);
    const { out } = await run('for t in pid ipc uts; do readlink /proc/self/ns/$t; done', { pid: 'host', ipc: 'host', uts: 'host' });
    expect(out.trim().split('\n')).toEqual([ns('pid'), ns('ipc'), ns('uts')]);
    const { out: own } = await run('for t in pid ipc uts; do readlink /proc/self/ns/$t; done');
    expect(own.trim().split('\n')).not.toContain(ns('pid'));
  });

  test('a hostname with the host UTS namespace is a conflict', async () => {
    await expect(bed.runtime.create('utsname', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { uts: 'host', hostname: 'x' } })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'Conflicting options: hostname and the UTS mode',
    });
  });
});
