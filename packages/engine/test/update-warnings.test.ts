import { kernelHasBlkioWeight } from '../../../test/support/block-io';
import { testEngine, type TestEngine } from './fixture';

const WEIGHT_DROPPED = 'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 60_000);
afterAll(async () => {
  await t.cleanup();
});

const created = (options: Record<string, unknown> = {}): Promise<string> =>
  t.engine.create({ image: 'busybox', cmd: ['sleep', '1000'], network: 'none', pull: 'never', ...options }).then((c) => c.id);

test("an update of a blkio weight the kernel cannot take answers dockerd's warning, and the rest of it holds", async () => {
  const id = await created();
  await t.engine.start(id);
  const { warnings } = await t.engine.update(id, { blkioWeight: 300, memory: '64m' });
  expect(warnings).toEqual(kernelHasBlkioWeight ? [] : [WEIGHT_DROPPED]);
  expect((await t.engine.inspect(id)).HostConfig).toMatchObject({ Memory: 64 * 1024 * 1024, BlkioWeight: kernelHasBlkioWeight ? 300 : 0 });
});

test('an update that asks for no blkio weight warns of nothing, though the container was created with one', async () => {
  const id = await created({ blkioWeight: 300 });
  expect(await t.engine.update(id, { pidsLimit: 40 })).toEqual({ warnings: [] });
});
