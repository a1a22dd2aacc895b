import { isMountPoint } from '../../../test/support/mounts';
import { eventually, localCtr, type LocalCtr } from './local-ctr';

/**
 * Without a daemon, a detached container's exit is seen by conmon's exit command (`ctr
 * container cleanup`), which takes its root filesystem down as dockerd's cleanup does: a
 * machine with many stopped containers keeps no overlay mount for each.
 */
let local: LocalCtr;

beforeAll(async () => {
  local = await localCtr('rootfs-unmount');
});

afterAll(async () => {
  await local.cleanup();
});

test('ctr run -d … true: once the container has exited, its overlay is no longer mounted', async () => {
  const run = await local.run('run', '-d', '--name', 'exits', '--network', 'none', 'busybox', 'true');
  expect(run.code).toBe(0);
  const rootfs = (await local.run('inspect', '--format', '{{.GraphDriver.Data.MergedDir}}', 'exits')).stdout.trim();
  expect(rootfs).toContain(run.stdout.trim());
  expect(await eventually(async () => !(await isMountPoint(rootfs)))).toBe(true);
  expect((await local.run('inspect', '--format', '{{.State.Status}}', 'exits')).stdout.trim()).toBe('exited');
});
