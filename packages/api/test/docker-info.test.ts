/** `docker info` through ctrd is the engine's info, sent as it is. */
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();

afterEach(() => {
  expect(t.internalErrors.splice(0)).toEqual([]);
});

async function dockerInfo(): Promise<Record<string, unknown>> {
  const run = await docker(t.env, ['info', '--format', '{{json .}}']);
  expect(run).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

test("docker info's ID is the engine's", async () => {
  expect((await dockerInfo()).ID).toBe((await t.daemon.engine.info()).ID);
});

test("docker info's init binary is the engine's docker-init", async () => {
  expect((await dockerInfo()).InitBinary).toBe((await t.daemon.engine.info()).InitBinary);
});

test("docker info's runc commit is the engine's", async () => {
  expect((await dockerInfo()).RuncCommit).toEqual({ ID: (await t.daemon.engine.info()).RuncCommit.ID });
});

test('docker info says live restore is enabled', async () => {
  expect((await dockerInfo()).LiveRestoreEnabled).toBe(true);
});
