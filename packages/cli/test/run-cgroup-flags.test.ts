import { promises as fs } from 'node:fs';
import path from 'node:path';
import { kernelHasBlkioWeight, rootDisk } from '../../../test/support/block-io';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

describe('ctr run/create/update: docker\'s blkio, swappiness, OOM score and cgroup flags (real runc, conmon, overlayfs)', () => {
  let local: LocalCtr;
  const disk = rootDisk();
  const parent = `/ctr-cli-test-parent-${process.pid}`;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);
  const containerIds = async (): Promise<string[]> => (await ctr('ps', '-aq', '--no-trunc')).stdout.split('\n').filter(Boolean);
  /** `ctr run` of busybox `true` with `flags`. */
  const runWith = (...flags: string[]): Promise<CtrResult> => ctr('run', '--rm', '--network', 'none', '--pull', 'never', ...flags, 'busybox', 'true');
  /**
   * A refusal before any container exists: the message on stderr, nothing made, and docker's
   * status, 125 (127 when the words say "no such file or directory", as docker's CLI reads them).
   */
  const expectRefused = async (result: CtrResult, message: string, status = 125): Promise<void> => {
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(status);
    expect(await containerIds()).toEqual([]);
  };

  beforeAll(async () => {
    local = await localCtr('run-cgroup-flags');
  });
  afterAll(async () => {
    await local?.cleanup();
  });
  afterEach(async () => {
    for (const id of await containerIds()) await ctr('rm', '-f', id);
    for (const controller of await fs.readdir('/sys/fs/cgroup')) await fs.rmdir(path.join('/sys/fs/cgroup', controller, parent)).catch(() => undefined);
  });

  describe('refused values, in docker\'s words', () => {
    test('a device path outside /dev/ is a bad format', async () => {
      await expectRefused(await runWith('--device-read-bps', 'sda:1mb'), 'invalid argument "sda:1mb" for "--device-read-bps" flag: bad format for device path: sda:1mb');
    });

    test('a device value without a colon is a bad format', async () => {
      await expectRefused(await runWith('--device-write-bps', '/dev/sda'), 'invalid argument "/dev/sda" for "--device-write-bps" flag: bad format: /dev/sda');
    });

    test('a bps rate that is not a size is refused with the format docker gives', async () => {
      await expectRefused(
        await runWith('--device-read-bps', `${disk.path}:1xb`),
        `invalid argument "${disk.path}:1xb" for "--device-read-bps" flag: invalid rate for device: ${disk.path}:1xb. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb`,
      );
    });

    test('an iops rate that is not a whole number is refused with the format docker gives', async () => {
      await expectRefused(
        await runWith('--device-write-iops', `${disk.path}:1.5`),
        `invalid argument "${disk.path}:1.5" for "--device-write-iops" flag: invalid rate for device: ${disk.path}:1.5. The correct format is <device-path>:<number>. Number must be a positive integer`,
      );
    });

    test('a device weight outside 10..1000 is an invalid weight', async () => {
      await expectRefused(await runWith('--blkio-weight-device', `${disk.path}:5`), `invalid argument "${disk.path}:5" for "--blkio-weight-device" flag: invalid weight for device: ${disk.path}:5`);
    });

    test('a device path that does not exist is refused, naming the flag', async () => {
      await expectRefused(await runWith('--device-read-bps', '/dev/nope:1mb'), 'invalid argument "/dev/nope:1048576" for "--device-read-bps" flag: stat /dev/nope: no such file or directory', 127);
    });

    test('a device that is not a block device is refused, naming the flag', async () => {
      await expectRefused(await runWith('--device-read-iops', '/dev/null:10'), 'invalid argument "/dev/null:10" for "--device-read-iops" flag: /dev/null is not a block device');
    });

    test('a --blkio-weight that is not a uint16 is refused as pflag refuses it', async () => {
      await expectRefused(await runWith('--blkio-weight', '70000'), 'invalid argument "70000" for "--blkio-weight" flag: strconv.ParseUint: parsing "70000": value out of range');
    });

    test('a --blkio-weight outside 10..1000 is refused with dockerd\'s message', async () => {
      await expectRefused(await runWith('--blkio-weight', '5'), 'Range of blkio weight is from 10 to 1000');
    });

    test('a --memory-swappiness outside 0..100 is refused with docker\'s message', async () => {
      await expectRefused(await runWith('--memory-swappiness', '101'), 'invalid value: 101. Valid memory swappiness range is 0-100');
    });

    test('an --oom-score-adj outside -1000..1000 is refused with dockerd\'s message', async () => {
      await expectRefused(await runWith('--oom-score-adj', '-1001'), 'Invalid value -1001, range for oom score adj is [-1000, 1000]');
    });

    test('an unknown --cgroupns mode is refused with docker\'s message', async () => {
      await expectRefused(await runWith('--cgroupns', 'shared'), '--cgroupns: invalid CGROUP mode');
    });
  });

  test('every flag reaches the container and shows in ctr inspect as docker shows it', async () => {
    const created = await ctr(
      'run', '-d', '--network', 'none', '--pull', 'never',
      '--blkio-weight', '300',
      '--device-read-bps', `${disk.path}:1mb`,
      '--device-write-bps', `${disk.path}:2mb`,
      '--device-read-iops', `${disk.path}:1000`,
      '--device-write-iops', `${disk.path}:500`,
      '--memory-swappiness', '10',
      '--oom-score-adj', '300',
      '--cgroup-parent', parent,
      '--cgroupns', 'private',
      'busybox', 'sleep', '1000',
    );
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    const hostConfig = JSON.parse((await ctr('inspect', '-f', '{{json .HostConfig}}', id)).stdout) as Record<string, unknown>;
    expect(hostConfig).toMatchObject({
      BlkioWeight: kernelHasBlkioWeight ? 300 : 0,
      BlkioWeightDevice: [],
      BlkioDeviceReadBps: [{ Path: disk.path, Rate: 1048576 }],
      BlkioDeviceWriteBps: [{ Path: disk.path, Rate: 2097152 }],
      BlkioDeviceReadIOps: [{ Path: disk.path, Rate: 1000 }],
      BlkioDeviceWriteIOps: [{ Path: disk.path, Rate: 500 }],
      MemorySwappiness: 10,
      OomScoreAdj: 300,
      CgroupParent: parent,
      CgroupnsMode: 'private',
    });
    const inside = await ctr('exec', id, 'sh', '-c', 'cat /proc/self/oom_score_adj; grep :memory: /proc/self/cgroup');
    // Its own cgroup namespace: its cgroup is the namespace's root.
    expect(inside.stdout).toMatch(/^300\n\d+:memory:\/\n$/);
    const cgroup = `/sys/fs/cgroup/blkio${parent}/${id}`;
    expect((await fs.readFile(`${cgroup}/blkio.throttle.read_bps_device`, 'utf8')).trim()).toBe(`${disk.major}:${disk.minor} 1048576`);
  });

  test('a blkio weight the kernel cannot take is dropped with dockerd\'s warning on stderr, and the container runs', async () => {
    const run = await runWith('--blkio-weight', '300');
    expect(run.code).toBe(0);
    if (kernelHasBlkioWeight) expect(run.stderr).toBe('');
    else expect(run.stderr).toBe('WARNING: Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.\n');
  });

  test('without the flags, inspect shows docker\'s defaults for them', async () => {
    const created = await ctr('create', '--network', 'none', '--pull', 'never', 'busybox');
    const hostConfig = JSON.parse((await ctr('inspect', '-f', '{{json .HostConfig}}', created.stdout.trim())).stdout) as Record<string, unknown>;
    expect(hostConfig).toMatchObject({
      BlkioWeight: 0,
      BlkioWeightDevice: [],
      BlkioDeviceReadBps: [],
      BlkioDeviceWriteBps: [],
      BlkioDeviceReadIOps: [],
      BlkioDeviceWriteIOps: [],
      MemorySwappiness: null,
      OomScoreAdj: 0,
      CgroupParent: '',
      CgroupnsMode: 'host',
    });
  });

  test('ctr update --blkio-weight outside 10..1000 is refused with dockerd\'s message and changes nothing', async () => {
    const id = (await ctr('run', '-d', '--network', 'none', '--pull', 'never', 'busybox', 'sleep', '1000')).stdout.trim();
    const refused = await ctr('update', '--blkio-weight', '2000', id);
    expect(refused.code).not.toBe(0);
    // Refused for what it asks, not for this container: dockerd says it bare (verifyContainerSettings).
    expect(refused.stderr).toContain('Error response from daemon: Range of blkio weight is from 10 to 1000');
    expect(refused.stderr).not.toContain('Cannot update container');
    expect((await ctr('inspect', '-f', '{{.HostConfig.BlkioWeight}}', id)).stdout.trim()).toBe('0');
  });

  test('ctr update --blkio-weight in range is taken (kept only where the kernel has blkio weight)', async () => {
    const id = (await ctr('run', '-d', '--network', 'none', '--pull', 'never', 'busybox', 'sleep', '1000')).stdout.trim();
    expect((await ctr('update', '--blkio-weight', '500', id)).code).toBe(0);
    expect((await ctr('inspect', '-f', '{{.HostConfig.BlkioWeight}}', id)).stdout.trim()).toBe(kernelHasBlkioWeight ? '500' : '0');
  });
});
