import { readFileSync } from 'node:fs';
import { hasCpuRealtime } from '@ctr/runtime';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/**
 * `ctr run`/`create`/`update` without a daemon: `--device-cgroup-rule` (real, in the device
 * cgroup), and the flags a Linux dockerd takes and refuses or drops — `--runtime`,
 * `--isolation`, `--volume-driver`, `--storage-opt`, `--cpu-rt-*`, `--kernel-memory`,
 * Windows' limits, `--use-api-socket` — with docker's words and statuses.
 */
describe('ctr run: device cgroup rules and the platform flags (real runc, conmon, overlayfs)', () => {
  let local: LocalCtr;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);
  const containerIds = async (): Promise<string[]> => (await ctr('ps', '-aq', '--no-trunc')).stdout.split('\n').filter(Boolean);
  const run = (flags: string[], ...cmd: string[]): Promise<CtrResult> => ctr('run', '--rm', '--network', 'none', '--pull', 'never', ...flags, 'busybox', ...(cmd.length > 0 ? cmd : ['true']));
  const create = async (...flags: string[]): Promise<string> => (await ctr('create', '--network', 'none', '--pull', 'never', ...flags, 'busybox', 'true')).stdout.trim();
  const inspect = async (format: string, id: string): Promise<string> => (await ctr('inspect', '--format', format, id)).stdout.trim();
  /** A refusal before any container exists: the message on stderr, nothing made, the status docker gives. */
  const expectRefused = async (result: CtrResult, message: string, status = 125): Promise<void> => {
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(status);
    expect(await containerIds()).toEqual([]);
  };
  // The fuse device, which the default rules deny by name: a node of it made in the container opens only when a rule allows it.
  const openFuse = ['sh', '-c', 'mknod /tmp/fuse c 10 229 && exec 3<>/tmp/fuse && echo opened'];

  beforeAll(async () => {
    local = await localCtr('run-flags-devices-platform');
  });
  afterAll(async () => {
    await local?.cleanup();
  });
  afterEach(async () => {
    for (const id of await containerIds()) await ctr('rm', '-f', id);
  });

  describe('--device-cgroup-rule', () => {
    test('without a rule, a device node the default rules deny cannot be opened', async () => {
      const result = await run([], ...openFuse);
      expect(result.stderr).toContain('Operation not permitted');
      expect(result.stdout).not.toContain('opened');
    });

    test('a rule allows the container to open that device node', async () => {
      const result = await run(['--device-cgroup-rule', 'c 10:229 rwm'], ...openFuse);
      expect([result.code, result.stdout]).toEqual([0, 'opened\n']);
    });

    test('a rule of any device (`a *:* rwm`) allows it too', async () => {
      const result = await run(['--device-cgroup-rule', 'a *:* rwm'], ...openFuse);
      expect([result.code, result.stdout]).toEqual([0, 'opened\n']);
    });

    test('inspect shows the rules as given, and null without any', async () => {
      const ruled = await create('--device-cgroup-rule', 'c 1:3 mr', '--device-cgroup-rule', 'b 7:* r');
      const plain = await create();
      expect(await inspect('{{json .HostConfig.DeviceCgroupRules}}', ruled)).toBe('["c 1:3 mr","b 7:* r"]');
      expect(await inspect('{{json .HostConfig.DeviceCgroupRules}}', plain)).toBe('null');
    });

    test('a malformed rule is refused as docker\'s CLI refuses it', async () => {
      await expectRefused(await run(['--device-cgroup-rule', 'c 1:3 x']), 'invalid argument "c 1:3 x" for "--device-cgroup-rule" flag: invalid device cgroup format \'c 1:3 x\'');
    });
  });

  describe('--runtime, --isolation, --volume-driver, --storage-opt', () => {
    test('--runtime runc is the default runtime, which inspect names', async () => {
      const id = await create('--runtime', 'runc');
      expect(await inspect('{{.HostConfig.Runtime}}', id)).toBe('runc');
    });

    test('another runtime is refused in dockerd\'s words', async () => {
      await expectRefused(await run(['--runtime', 'kata']), 'Error response from daemon: unknown or invalid runtime name: kata');
    });

    test('--isolation default runs the container', async () => {
      expect((await run(['--isolation', 'default'])).code).toBe(0);
    });

    test('another isolation is refused in dockerd\'s words', async () => {
      await expectRefused(await run(['--isolation', 'hyperv']), 'Invalid isolation: "hyperv" - linux only supports \'default\'');
    });

    test('--volume-driver local makes the container\'s volumes as usual', async () => {
      const result = await run(['--volume-driver', 'local', '-v', '/data'], 'sh', '-c', 'echo x > /data/f && cat /data/f');
      expect([result.code, result.stdout]).toEqual([0, 'x\n']);
    });

    test('another volume driver is refused as a plugin dockerd cannot find, when a volume needs it', async () => {
      await expectRefused(await run(['--volume-driver', 'flocker', '-v', '/data']), 'error looking up volume plugin flocker: plugin "flocker" not found');
    });

    test('another volume driver is no matter to a container without volumes, as to dockerd', async () => {
      expect((await run(['--volume-driver', 'flocker'])).code).toBe(0);
    });

    test('inspect shows --isolation and --volume-driver as given, as dockerd keeps them', async () => {
      const given = await create('--isolation', 'default', '--volume-driver', 'flocker');
      expect(await inspect('{{.HostConfig.Isolation}}|{{.HostConfig.VolumeDriver}}', given)).toBe('default|flocker');
    });

    test('inspect shows an empty isolation and volume driver when none is given', async () => {
      const plain = await create();
      expect(await inspect('{{json .HostConfig.Isolation}}|{{json .HostConfig.VolumeDriver}}', plain)).toBe('""|""');
    });

    test('--storage-opt is refused as overlay2 refuses it off xfs with project quotas', async () => {
      await expectRefused(await run(['--storage-opt', 'size=1G']), "--storage-opt is supported only for overlay over xfs with 'pquota' mount option");
    });

    test('a storage option without "=" is refused in docker\'s CLI\'s words', async () => {
      await expectRefused(await run(['--storage-opt', 'size']), 'ctr: invalid storage option');
    });
  });

  describe('Windows\' limits and kernel memory', () => {
    test('the Windows-only flags are refused before anything is made, status 1, each named', async () => {
      const result = await run(['--cpu-count', '2', '--io-maxiops', '10']);
      await expectRefused(
        result,
        '"--cpu-count" is only supported on a Docker daemon running on windows, but the Docker daemon is running on linux\n' +
          '"--io-maxiops" is only supported on a Docker daemon running on windows, but the Docker daemon is running on linux\n',
        1,
      );
    });

    test('--kernel-memory is taken and dropped, as dockerd drops it since API 1.42', async () => {
      const result = await run(['--kernel-memory', '64m']);
      expect([result.code, result.stderr]).toEqual([0, '']);
    });

    test('a --kernel-memory that is not a size is refused as docker\'s CLI refuses it', async () => {
      await expectRefused(await run(['--kernel-memory', 'lots']), 'invalid argument "lots" for "--kernel-memory" flag: invalid size: \'lots\'');
    });
  });

  describe('--cpu-rt-period and --cpu-rt-runtime', () => {
    const realtime = hasCpuRealtime();
    const onRealtimeHost = realtime ? test : test.skip;
    const elsewhere = realtime ? test.skip : test;

    onRealtimeHost('the period reaches the container\'s cgroup and inspect, and update changes it', async () => {
      const id = (await ctr('run', '-d', '--network', 'none', '--pull', 'never', '--cpu-rt-period', '900000', 'busybox', 'sleep', '300')).stdout.trim();
      const period = (): string => readFileSync(`/sys/fs/cgroup/cpu/ctr/${id}/cpu.rt_period_us`, 'utf8').trim();
      expect([period(), await inspect('{{.HostConfig.CpuRealtimePeriod}}', id)]).toEqual(['900000', '900000']);
      expect((await ctr('update', '--cpu-rt-period', '700000', id)).code).toBe(0);
      expect([period(), await inspect('{{.HostConfig.CpuRealtimePeriod}}', id)]).toEqual(['700000', '700000']);
    });

    onRealtimeHost('a runtime above the period is refused in dockerd\'s words', async () => {
      await expectRefused(await run(['--cpu-rt-period', '1000', '--cpu-rt-runtime', '2000']), 'cpu real-time runtime cannot be higher than cpu real-time period');
    });

    onRealtimeHost('update refuses a runtime above the period in force', async () => {
      const id = await create('--cpu-rt-period', '1000');
      const result = await ctr('update', '--cpu-rt-runtime', '2000', id);
      expect([result.code, result.stderr]).toEqual([1, expect.stringContaining('cpu real-time runtime cannot be higher than cpu real-time period')]);
    });

    elsewhere('without a real-time controller (cgroup v2), either flag is refused in dockerd\'s words', async () => {
      await expectRefused(await run(['--cpu-rt-period', '1000000']), 'Your kernel does not support CPU real-time scheduler');
    });
  });

  test('--use-api-socket is refused without a daemon: the in-process engine has no socket to mount', async () => {
    await expectRefused(await run(['--use-api-socket']), 'flag --use-api-socket needs a daemon');
  });
});
