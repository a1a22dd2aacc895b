/** Inspect's `HostConfig.ShmSize`: what moby's adaptContainerSettings fills in at create, whatever the IPC mode. */
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t.cleanup();
});

const shmSizeOf = async (options: { ipc?: 'shareable' | 'none' | 'host'; shmSize?: string }): Promise<number> => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', ...options });
  return (await t.engine.inspect(id)).HostConfig.ShmSize;
};

test.each(['shareable', 'none', 'host'] as const)('an --ipc %s container shows the default 64 MiB', async (ipc) => {
  expect(await shmSizeOf({ ipc })).toBe(67108864);
});

test('a shareable container shows its --shm-size', async () => {
  expect(await shmSizeOf({ ipc: 'shareable', shmSize: '8m' })).toBe(8 * 1024 * 1024);
});
