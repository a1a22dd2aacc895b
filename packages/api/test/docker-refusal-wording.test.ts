/**
 * What docker 28's CLI prints when ctr's daemon refuses, as dockerd's refusals read: a restart
 * policy moby's ValidateRestartPolicy refuses (the CLI sends any `name:count` it can split),
 * `update`'s request refused bare, a rename's name, a signal Linux has none for.
 */
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();

beforeAll(async () => {
  expect((await docker(t.env, ['run', '-d', '--network', 'none', '--name', 'refused-wording', 'busybox', 'sleep', '300'])).code).toBe(0);
});

afterAll(async () => {
  await docker(t.env, ['rm', '-f', 'refused-wording', 'refused-taken']);
});

test('docker run --restart always:3 is refused: a retry count goes with on-failure only', async () => {
  const run = await docker(t.env, ['run', '--restart', 'always:3', '--network', 'none', 'busybox', 'true']);
  expect(run.code).toBe(125);
  expect(run.stderr).toContain("docker: Error response from daemon: invalid restart policy: maximum retry count can only be used with 'on-failure'\n");
});

test('docker run --restart bogus is refused naming the policies there are', async () => {
  const run = await docker(t.env, ['run', '--restart', 'bogus', '--network', 'none', 'busybox', 'true']);
  expect(run.stderr).toContain(
    "docker: Error response from daemon: invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'\n",
  );
});

test('docker update --restart on-failure:-1 is refused: the count cannot be negative', async () => {
  const update = await docker(t.env, ['update', '--restart', 'on-failure:-1', 'refused-wording']);
  expect(update.stderr).toContain('Error response from daemon: invalid restart policy: maximum retry count cannot be negative\n');
});

test('docker update --memory 1k is refused bare, not as a failure to update the container', async () => {
  const update = await docker(t.env, ['update', '--memory', '1k', 'refused-wording']);
  expect(update.code).toBe(1);
  expect(update.stderr).toContain('Error response from daemon: Minimum memory limit allowed is 6MB\n');
  expect(update.stderr).not.toContain('Cannot update container');
});

test('docker rename to a name in use is refused as allocating the new name', async () => {
  const taken = (await docker(t.env, ['create', '--network', 'none', '--name', 'refused-taken', 'busybox'])).stdout.trim();
  const rename = await docker(t.env, ['rename', 'refused-wording', 'refused-taken']);
  expect(rename.stderr).toContain(
    `Error response from daemon: Error when allocating new name: Conflict. The container name "/refused-taken" is already in use by container "${taken}". You have to remove (or rename) that container to be able to reuse that name.\n`,
  );
});

test('docker kill -s 65 is refused: the daemon supports no such signal', async () => {
  const kill = await docker(t.env, ['kill', '-s', '65', 'refused-wording']);
  expect(kill.code).toBe(1);
  expect(kill.stderr).toContain('the linux daemon does not support signal 65\n');
});
