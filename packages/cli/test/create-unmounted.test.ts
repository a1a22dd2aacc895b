import { isMountPoint } from '../../../test/support/mounts';
import { eventually, localCtr, type LocalCtr } from './local-ctr';

/**
 * `ctr create` keeps no overlay mounted for the container it makes, as `docker create` keeps
 * none: the root filesystem is mounted by the start that runs it.
 */
let local: LocalCtr;

beforeAll(async () => {
  local = await localCtr('create-unmounted');
});

afterAll(async () => {
  await local.cleanup();
});

const rootfsOf = async (name: string): Promise<string> => (await local.run('inspect', '--format', '{{.GraphDriver.Data.MergedDir}}', name)).stdout.trim();

test('ctr create leaves the new container with no root filesystem mounted', async () => {
  const create = await local.run('create', '--pull', 'never', '--name', 'made', '--network', 'none', 'busybox', 'true');
  expect(create.code).toBe(0);
  const rootfs = await rootfsOf('made');
  expect(rootfs).toContain(create.stdout.trim());
  expect(await isMountPoint(rootfs)).toBe(false);
});

test("ctr start -a of a created container runs it over its image's files, unmounted again after", async () => {
  expect((await local.run('create', '--pull', 'never', '--name', 'started', '--network', 'none', 'busybox', 'head', '-1', '/etc/passwd')).code).toBe(0);
  const start = await local.run('start', '-a', 'started');
  expect({ code: start.code, stdout: start.stdout }).toEqual({ code: 0, stdout: 'root:x:0:0:root:/root:/bin/sh\n' });
  const rootfs = await rootfsOf('started');
  expect(await eventually(async () => !(await isMountPoint(rootfs)))).toBe(true);
});
