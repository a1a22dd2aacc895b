/**
 * Holds and removals (`container-root.ts`), as read by review A: a removal after one that was
 * killed leaves nothing of either behind in the run root.
 */
import { existsSync, lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

const holders = (id: string): string => path.join(t.runRoot, 'engine', 'rootfs-holders', id);
const created = async (): Promise<string> => (await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['true'] })).id;

test('a removal after a killed one leaves no removal mark behind', async () => {
  const id = await created();
  // The mark a removal killed before its end left beside the holders' directory: PID 0 never runs.
  mkdirSync(path.dirname(holders(id)), { recursive: true });
  symlinkSync('0 0', `${holders(id)}.removing`);
  await t.engine.remove(id);
  await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
  expect(existsSync(holders(id))).toBe(false);
  // By lstat: the mark is a symlink to no file, which existsSync never finds.
  expect(() => lstatSync(`${holders(id)}.removing`)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
});
