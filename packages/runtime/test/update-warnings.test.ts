import { kernelHasBlkioWeight } from '../../../test/support/block-io';
import { testBed, type TestBed } from './helpers';

const WEIGHT_DROPPED = 'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

test("an update of a blkio weight this kernel cannot take warns in dockerd's words, and the running container keeps going", async () => {
  await bed.runtime.create('weight', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] } });
  await bed.runtime.start('weight');
  const { warnings } = await bed.runtime.update('weight', { blkioWeight: 300 });
  expect(warnings).toEqual(kernelHasBlkioWeight ? [] : [WEIGHT_DROPPED]);
  expect((await bed.runtime.inspect('weight')).spec.linux.resources?.blockIO?.weight).toBe(kernelHasBlkioWeight ? 300 : undefined);
  expect((await bed.runtime.state('weight')).running).toBe(true);
  await bed.runtime.delete('weight', { force: true });
});

test('an update warns only about what it asks for, not a weight asked for before', async () => {
  await bed.runtime.create('earlier', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { blkioWeight: 300 } });
  const { warnings } = await bed.runtime.update('earlier', { blkioWeight: 300, memory: '64m' }, { requested: { memory: '64m' } });
  expect(warnings).toEqual([]);
});

test('the new limits may be worked out from the spec in force', async () => {
  await bed.runtime.create('merged', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { memory: '64m' } });
  const { warnings } = await bed.runtime.update('merged', (spec) => ({ memory: (spec.linux.resources?.memory?.limit ?? 0) * 2 }));
  expect(warnings).toEqual([]);
  expect((await bed.runtime.inspect('merged')).spec.linux.resources?.memory?.limit).toBe(128 * 1024 * 1024);
});
