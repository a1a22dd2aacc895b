/**
 * A load whose name already names another image says so before it moves the name, in moby's
 * words (its tarexport's setLoadedTag), which `docker load` prints, daemon or not.
 */
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

test('a load of a name another image has says it renames the old one, then loads it', async () => {
  await t.engine.tag('busybox', 'lbl:1');
  const archive = await t.engine.save(['lbl:1']);
  const { id: container } = await t.engine.run({ image: 'busybox', network: 'none', pull: 'never', cmd: ['true'] });
  const { id: other } = await t.engine.commit(container, { reference: 'lbl:1' });
  expect((await t.engine.load(archive)).loaded).toEqual([`The image lbl:1 already exists, renaming the old one with ID ${other} to empty string`, 'Loaded image: lbl:1']);
});

test('a load of a name the same image has only says it loaded it', async () => {
  await t.engine.tag('busybox', 'same:1');
  expect((await t.engine.load(await t.engine.save(['same:1']))).loaded).toEqual(['Loaded image: same:1']);
});
