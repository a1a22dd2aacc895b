import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { generateSpec, type RunOptions, type SpecContext } from '@ctr/runtime';
import { kernelHasBlkioWeight, rootDisk } from '../../../test/support/block-io';
import { Collector, testBed, type TestBed } from './helpers';

let bed: TestBed;
let n = 0;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

const cgroupFile = (controller: string, id: string, file: string, parent = bed.cgroupParent): string =>
  readFileSync(`/sys/fs/cgroup/${controller}${parent}/${id}/${file}`, 'utf8').trim();

/** Run `script` in a new container and return its output. */
async function run(script: string, options: RunOptions = {}): Promise<string> {
  const id = `cg${n++}`;
  const stdout = new Collector();
  await bed.runtime.create(id, { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', script] }, run: options });
  const { attached } = await bed.runtime.start(id, { attach: { stdout } });
  await bed.runtime.wait(id);
  await attached;
  await bed.runtime.delete(id);
  return stdout.text();
}

/** A container running `sleep`, made with `options`; its id. */
async function sleeper(options: RunOptions): Promise<string> {
  const id = `cg${n++}`;
  await bed.runtime.create(id, { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] }, run: options });
  await bed.runtime.start(id);
  return id;
}

describe('in a real container', () => {
  test('oomScoreAdj is the container process\'s oom_score_adj', async () => {
    expect(await run('cat /proc/self/oom_score_adj', { oomScoreAdj: 500 })).toBe('500\n');
  });

  test('a negative oomScoreAdj is the container\'s where this process holds CAP_SYS_RESOURCE, and refused saying why where not', async () => {
    const bounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`);
    const canLower = ((bounding >> 24n) & 1n) === 1n; // CAP_SYS_RESOURCE
    if (canLower) {
      expect(await run('cat /proc/self/oom_score_adj', { oomScoreAdj: -500 })).toBe('-500\n');
    } else {
      const id = `cg${n++}`;
      await expect(bed.runtime.create(id, { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { oomScoreAdj: -500 } })).rejects.toMatchObject({
        code: 'InvalidArgument',
        message: expect.stringContaining('lowering it needs CAP_SYS_RESOURCE'),
      });
    }
  });

  test('memorySwappiness is written to the container\'s memory cgroup', async () => {
    const id = await sleeper({ memorySwappiness: 7 });
    expect(cgroupFile('memory', id, 'memory.swappiness')).toBe('7');
    await bed.runtime.delete(id, { force: true });
  });

  test('each throttle is written for the block device\'s major:minor to its blkio file', async () => {
    const disk = rootDisk();
    const id = await sleeper({
      blkioDeviceReadBps: [{ path: disk.path, rate: 1048576 }],
      blkioDeviceWriteBps: [{ path: disk.path, rate: 2097152 }],
      blkioDeviceReadIOps: [{ path: disk.path, rate: 1000 }],
      blkioDeviceWriteIOps: [{ path: disk.path, rate: 500 }],
    });
    const device = `${disk.major}:${disk.minor}`;
    expect(cgroupFile('blkio', id, 'blkio.throttle.read_bps_device')).toBe(`${device} 1048576`);
    expect(cgroupFile('blkio', id, 'blkio.throttle.write_bps_device')).toBe(`${device} 2097152`);
    expect(cgroupFile('blkio', id, 'blkio.throttle.read_iops_device')).toBe(`${device} 1000`);
    expect(cgroupFile('blkio', id, 'blkio.throttle.write_iops_device')).toBe(`${device} 500`);
    await bed.runtime.delete(id, { force: true });
  });

  test('a blkio weight reaches the spec where the kernel has blkio weight, and is dropped with dockerd\'s warning (the container still runs) where not', async () => {
    const id = `cg${n++}`;
    const created = await bed.runtime.create(id, { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] }, run: { blkioWeight: 300 } });
    await bed.runtime.start(id);
    const { spec, running } = await bed.runtime.inspect(id);
    expect(running).toBe(true);
    if (kernelHasBlkioWeight) {
      expect(spec.linux.resources?.blockIO?.weight).toBe(300);
      expect(created.warnings).toEqual([]);
    } else {
      expect(spec.linux.resources?.blockIO).toBeUndefined();
      expect(created.warnings).toEqual(['Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.']);
    }
    await bed.runtime.delete(id, { force: true });
  });

  test('update sets a running container\'s blkio weight where the kernel has it, and drops it where not', async () => {
    const id = await sleeper({});
    await bed.runtime.update(id, { blkioWeight: 400 });
    const { spec } = await bed.runtime.inspect(id);
    if (kernelHasBlkioWeight) {
      const file = existsSync(`/sys/fs/cgroup/blkio${bed.cgroupParent}/${id}/blkio.weight`) ? 'blkio.weight' : 'blkio.bfq.weight';
      expect(cgroupFile('blkio', id, file)).toMatch(/400$/);
      expect(spec.linux.resources?.blockIO?.weight).toBe(400);
    } else {
      expect(spec.linux.resources?.blockIO).toBeUndefined();
    }
    await bed.runtime.delete(id, { force: true });
  });

  test('cgroupParent puts the container\'s cgroup under that parent', async () => {
    const parent = `/ctr-test-parent-${process.pid}`;
    try {
      const id = await sleeper({ cgroupParent: parent });
      const { pid } = await bed.runtime.state(id);
      expect(cgroupFile('memory', id, 'cgroup.procs', parent).split('\n')).toContain(String(pid));
      expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`:memory:${parent}/${id}\n`);
      await bed.runtime.delete(id, { force: true });
    } finally {
      for (const controller of await fs.readdir('/sys/fs/cgroup')) {
        await fs.rmdir(path.join('/sys/fs/cgroup', controller, parent)).catch(() => undefined);
      }
    }
  });

  test('cgroupns private gives the container a cgroup namespace where its own cgroup is /', async () => {
    const lines = (await run('cat /proc/self/cgroup', { cgroupns: 'private' })).trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/:\/$/);
  });

  test('cgroupns host (the default) shows the container its cgroup path on the host', async () => {
    expect(await run('cat /proc/self/cgroup', { cgroupns: 'host' })).toMatch(new RegExp(`:memory:${bed.cgroupParent}/cg\\d+\\n`));
  });
});

describe('refusals', () => {
  const refusedCreate = async (options: RunOptions, message: string): Promise<void> => {
    const id = `refused${n++}`;
    await expect(bed.runtime.create(id, { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: options })).rejects.toMatchObject({ code: 'InvalidArgument', message });
    expect((await bed.runtime.list()).map((c) => c.id)).not.toContain(id);
  };

  test('an oom score adj outside -1000..1000 is refused with dockerd\'s message and makes no container', async () => {
    await refusedCreate({ oomScoreAdj: 1001 }, 'Invalid value 1001, range for oom score adj is [-1000, 1000]');
  });

  test('a memory swappiness outside 0..100 is refused with dockerd\'s message and makes no container', async () => {
    await refusedCreate({ memorySwappiness: 101 }, 'Invalid value: 101, valid memory swappiness range is 0-100');
  });

  test('a blkio weight outside 10..1000 is refused with dockerd\'s message and makes no container', async () => {
    await refusedCreate({ blkioWeight: 5 }, 'Range of blkio weight is from 10 to 1000');
  });

  test('a throttle on a path that does not exist is refused and makes no container', async () => {
    await refusedCreate(
      { blkioDeviceReadBps: [{ path: '/dev/nope', rate: 1048576 }] },
      'invalid argument "/dev/nope:1048576" for "--device-read-bps" flag: stat /dev/nope: no such file or directory',
    );
  });

  test('a throttle on a device that is not a block device is refused and makes no container', async () => {
    await refusedCreate({ blkioDeviceWriteIOps: [{ path: '/dev/null', rate: 10 }] }, 'invalid argument "/dev/null:10" for "--device-write-iops" flag: /dev/null is not a block device');
  });

  test('an unknown cgroup namespace mode is refused with dockerd\'s message', async () => {
    await refusedCreate({ cgroupns: 'shared' as RunOptions['cgroupns'] }, 'invalid cgroup namespace mode: shared');
  });

  test('a refused blkio weight update changes nothing in the spec or the cgroups', async () => {
    const disk = rootDisk();
    const id = await sleeper({ blkioDeviceReadBps: [{ path: disk.path, rate: 1048576 }], memorySwappiness: 20 });
    const before = (await bed.runtime.inspect(id)).spec.linux.resources;
    await expect(bed.runtime.update(id, { blkioWeight: 2000 })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'Range of blkio weight is from 10 to 1000' });
    expect((await bed.runtime.inspect(id)).spec.linux.resources).toEqual(before);
    expect(cgroupFile('blkio', id, 'blkio.throttle.read_bps_device')).toBe(`${disk.major}:${disk.minor} 1048576`);
    expect(cgroupFile('memory', id, 'memory.swappiness')).toBe('20');
    await bed.runtime.delete(id, { force: true });
  });
});

describe('the spec', () => {
  const disk = { path: '/dev/sdz', major: 8, minor: 400 };
  const context: SpecContext = { id: 'abcdef0123456789', rootfs: '/rootfs', blockDevices: { [disk.path]: { major: disk.major, minor: disk.minor } } };
  const spec = (options: RunOptions, ctx: SpecContext = context): ReturnType<typeof generateSpec> => generateSpec({ Cmd: ['sh'] }, options, ctx);

  test('the blkio options become linux.resources.blockIO with the devices\' numbers', () => {
    const blkio: RunOptions = {
      blkioWeight: 300,
      blkioWeightDevice: [{ path: disk.path, weight: 200 }],
      blkioDeviceReadBps: [{ path: disk.path, rate: 1048576 }],
      blkioDeviceWriteBps: [{ path: disk.path, rate: 2048 }],
      blkioDeviceReadIOps: [{ path: disk.path, rate: 1000 }],
      blkioDeviceWriteIOps: [{ path: disk.path, rate: 10 }],
    };
    expect(spec(blkio).linux.resources?.blockIO).toEqual({
      weight: 300,
      weightDevice: [{ major: 8, minor: 400, weight: 200 }],
      throttleReadBpsDevice: [{ major: 8, minor: 400, rate: 1048576 }],
      throttleWriteBpsDevice: [{ major: 8, minor: 400, rate: 2048 }],
      throttleReadIOPSDevice: [{ major: 8, minor: 400, rate: 1000 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 400, rate: 10 }],
    });
  });

  test('a blkio option the kernel cannot take is dropped, the others kept', () => {
    const options: RunOptions = { blkioWeight: 300, blkioWeightDevice: [{ path: disk.path, weight: 200 }], blkioDeviceReadBps: [{ path: disk.path, rate: 1 }] };
    const io = spec(options, { ...context, blkio: { blkioWeight: false, blkioWeightDevice: false } }).linux.resources?.blockIO;
    expect(io).toEqual({ throttleReadBpsDevice: [{ major: 8, minor: 400, rate: 1 }] });
  });

  test('a blkio weight of 0 and a swappiness of -1 mean unset', () => {
    const resources = spec({ blkioWeight: 0, memorySwappiness: -1 }).linux.resources;
    expect(resources?.blockIO).toBeUndefined();
    expect(resources?.memory).toBeUndefined();
  });

  test('a weight device out of range is refused with docker\'s message', () => {
    expect(() => spec({ blkioWeightDevice: [{ path: disk.path, weight: 5 }] })).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid weight for device: /dev/sdz:5' }));
  });

  test('the cgroup path is <parent>/<id>, a relative parent taken from the root', () => {
    expect(spec({ cgroupParent: '/mine' }).linux.cgroupsPath).toBe('/mine/abcdef0123456789');
    expect(spec({ cgroupParent: 'mine/sub' }).linux.cgroupsPath).toBe('/mine/sub/abcdef0123456789');
    expect(spec({}).linux.cgroupsPath).toBe('/ctr/abcdef0123456789');
  });

  test('cgroupns private adds a cgroup namespace; host and the default add none', () => {
    const has = (options: RunOptions): boolean => spec(options).linux.namespaces.some((ns) => ns.type === 'cgroup');
    expect(has({ cgroupns: 'private' })).toBe(true);
    expect(has({ cgroupns: 'host' })).toBe(false);
    expect(has({})).toBe(false);
  });

  test('oomScoreAdj goes into process.oomScoreAdj, and is absent unless given', () => {
    expect(spec({ oomScoreAdj: -500 }).process.oomScoreAdj).toBe(-500);
    expect(spec({}).process.oomScoreAdj).toBeUndefined();
  });
});
