/**
 * The same flags through a daemon: the real docker CLI against ctrd (`--device-cgroup-rule`
 * in the create body and inspect, dockerd's refusals), the API's `Warnings` and QoS refusals
 * for what docker's CLI never sends to a Linux daemon, and `ctr run --use-api-socket`.
 */
import { request, json, docker } from '../../api/test/fixture';
import { cleanEnv, ctr, startTestDaemon, type TestDaemon } from './remote-fixture';

let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon();
});
afterAll(async () => {
  await t?.cleanup();
});
afterEach(() => {
  expect(t.internalErrors).toEqual([]);
});

describe('run flags through ctrd', () => {
  const containers = async (): Promise<string> => (await docker(t.env, ['ps', '-aq'])).stdout;
  /** `POST /containers/create` with a busybox `true` and `hostConfig`: the status and the answer. */
  const createWith = async (hostConfig: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await request(t.socket, 'POST', '/v1.47/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none', ...hostConfig } }));
    return { status: response.status, body: json(response) as Record<string, unknown> };
  };

  test('docker run --device-cgroup-rule lets the container open a device node the default rules deny', async () => {
    const args = ['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'mknod /tmp/fuse c 10 229 && exec 3<>/tmp/fuse && echo opened'];
    const denied = await docker(t.env, args);
    const allowed = await docker(t.env, [...args.slice(0, 4), '--device-cgroup-rule', 'c 10:229 rwm', ...args.slice(4)]);
    expect(denied.stderr).toContain('Operation not permitted');
    expect([allowed.code, allowed.stdout]).toEqual([0, 'opened\n']);
  });

  test('docker inspect shows the rules of the create body as HostConfig.DeviceCgroupRules', async () => {
    const id = (await docker(t.env, ['create', '--network', 'none', '--device-cgroup-rule', 'c 1:3 mr', 'busybox', 'true'])).stdout.trim();
    expect((await docker(t.env, ['inspect', '--format', '{{json .HostConfig.DeviceCgroupRules}} {{.HostConfig.Runtime}}', id])).stdout).toBe('["c 1:3 mr"] runc\n');
    await docker(t.env, ['rm', id]);
  });

  test('a malformed rule in the create body is refused in dockerd\'s words, nothing made', async () => {
    const before = await containers();
    const created = await createWith({ DeviceCgroupRules: ['c 1:3 x'] });
    expect([created.status, created.body.message]).toEqual([400, "invalid device cgroup rule format: 'c 1:3 x'"]);
    expect(await containers()).toBe(before);
  });

  test('docker run --runtime, --isolation and --storage-opt get dockerd\'s refusals, status 125, nothing made', async () => {
    const before = await containers();
    const runtime = await docker(t.env, ['run', '--rm', '--runtime', 'kata', 'busybox', 'true']);
    const isolation = await docker(t.env, ['run', '--rm', '--isolation', 'process', 'busybox', 'true']);
    const storage = await docker(t.env, ['run', '--rm', '--storage-opt', 'size=1G', 'busybox', 'true']);
    expect([runtime.code, runtime.stderr]).toEqual([125, expect.stringContaining('Error response from daemon: unknown or invalid runtime name: kata')]);
    expect([isolation.code, isolation.stderr]).toEqual([125, expect.stringContaining('Invalid isolation: "process" - linux only supports \'default\'')]);
    expect([storage.code, storage.stderr]).toEqual([125, expect.stringContaining("--storage-opt is supported only for overlay over xfs with 'pquota' mount option")]);
    expect(await containers()).toBe(before);
  });

  test('a CpuPercent in the create body is dropped with dockerd\'s warning; CpuCount and KernelMemory silently', async () => {
    const percent = await createWith({ CpuPercent: 30 });
    const quiet = await createWith({ CpuCount: 2, KernelMemory: 1 << 30 });
    expect([percent.status, percent.body.Warnings]).toEqual([201, ['linux does not support CPU percent. Percent discarded.']]);
    expect([quiet.status, quiet.body.Warnings]).toEqual([201, []]);
    await docker(t.env, ['rm', percent.body.Id as string, quiet.body.Id as string]);
  });

  test('docker inspect shows the create body\'s CpuCount, Isolation and VolumeDriver as given, as a Linux dockerd keeps them', async () => {
    const kept = await createWith({ CpuCount: 2, Isolation: 'default', VolumeDriver: 'local' });
    const format = '{{.HostConfig.CpuCount}}|{{.HostConfig.Isolation}}|{{.HostConfig.VolumeDriver}}';
    expect((await docker(t.env, ['inspect', '--format', format, kept.body.Id as string])).stdout).toBe('2|default|local\n');
    await docker(t.env, ['rm', kept.body.Id as string]);
  });

  test('docker run --isolation and --volume-driver reach inspect through the create body', async () => {
    const id = (await docker(t.env, ['create', '--network', 'none', '--isolation', 'default', '--volume-driver', 'local', 'busybox', 'true'])).stdout.trim();
    expect((await docker(t.env, ['inspect', '--format', '{{.HostConfig.Isolation}}|{{.HostConfig.VolumeDriver}}', id])).stdout).toBe('default|local\n');
    await docker(t.env, ['rm', id]);
  });

  test('Windows\' IO limits in the create body are refused with dockerd\'s QoS words', async () => {
    const bandwidth = await createWith({ IOMaximumBandwidth: 1 << 20 });
    const iops = await createWith({ IOMaximumIOps: 100 });
    expect([bandwidth.status, bandwidth.body.message]).toEqual([400, 'Invalid QoS settings: linux does not support configuration of maximum bandwidth']);
    expect([iops.status, iops.body.message]).toEqual([400, 'Invalid QoS settings: linux does not support configuration of maximum IOPs']);
  });

  test('ctr run --use-api-socket binds the daemon\'s socket at /var/run/docker.sock', async () => {
    const env = cleanEnv({ DOCKER_HOST: `unix://${t.socket}` });
    const result = await ctr(['run', '--rm', '--network', 'none', '--use-api-socket', 'busybox', 'sh', '-c', 'test -S /var/run/docker.sock && echo socket'], { env });
    expect([result.code, result.stdout]).toEqual([0, 'socket\n']);
  });

  test('ctr run --use-api-socket refuses a daemon reached other than by a unix socket, in docker\'s words', async () => {
    const result = await ctr(['run', '--rm', '--use-api-socket', 'busybox', 'true'], { env: cleanEnv({ DOCKER_HOST: 'tcp://127.0.0.1:9' }) });
    expect([result.code, result.stderr]).toEqual([125, expect.stringContaining('flag --use-api-socket can only be used with unix sockets: docker endpoint tcp://127.0.0.1:9 incompatible')]);
  });
});
