/**
 * `docker export` of a stopped container mounts its root filesystem for the walk; a reader
 * that stops early (destroys the stream) still leaves it unmounted: the walk's open
 * directories are closed before the hold ends.
 */
import { once } from 'node:events';
import { mountPoints } from '@ctr/store';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

const mounted = async (dir: string): Promise<boolean> => (await mountPoints()).includes(dir);

test('an export its reader destroys after the first chunk leaves the stopped container’s root filesystem unmounted', async () => {
  // A file larger than the streams buffer: the walk is stopped inside it, with it open, when the reader goes.
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['dd', 'if=/dev/zero', 'of=/big', 'bs=1M', 'count=16'] });
  const rootfs = (await t.engine.inspect(id)).GraphDriver.Data.MergedDir;
  expect(await mounted(rootfs)).toBe(false);
  const tar = await t.engine.export(id);
  await once(tar, 'readable');
  expect(tar.read()).not.toBeNull();
  expect(await mounted(rootfs)).toBe(true);
  const closed = once(tar, 'close');
  tar.destroy();
  await closed;
  expect(await mounted(rootfs)).toBe(false);
  await t.engine.remove(id);
});
